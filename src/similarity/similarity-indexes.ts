/**
 * One in-memory vector index per model version, in each API process: built from PostgreSQL (the
 * source of truth) on first use, then kept in step by reading the changes past its watermark
 * (src/db/embedding-changes.ts) before every search and whenever a NOTIFY on `garment_embeddings`
 * says something changed. Several API processes each keep their own and converge on the same rows.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { databaseUrlOf } from '../db/data-source';
import {
  anyTransactionRunning,
  EmbeddingChangeListener,
  embeddingWatermark,
  readEmbeddingChanges,
  readEmbeddingsAfterGarment,
  type EmbeddingWatermark,
  type StoredEmbedding,
} from '../db/embedding-changes';
import { activeModelVersionId } from '../db/model-versions';
import { DotWorkers } from './dot-workers';
import { DEFAULT_GRAPH, GarmentVectorIndex, type GraphSettings, type IndexedVector } from './garment-vector-index';

export interface SimilarityIndexOptions {
  graph?: GraphSettings;
  /** Rows read (and inserted into the graph) per statement while building. */
  buildBatch?: number;
  /** Changes read per statement while catching up. */
  changeBatch?: number;
  /**
   * Threads that compare whole chunks of vectors: the main one and the rest workers (bound by memory
   * bandwidth: a second thread reads at once with the first); below 2, the main thread alone. The
   * default, 2 where there are two cores, is what was measured (a third or fourth gained nothing on
   * 2 cores; more cores were not measured).
   */
  scanThreads?: number;
  /** Longest wait, at build, for the transactions writing embeddings when the build starts. */
  writerWaitMs?: number;
  /** Runs shared work outside the request that happened to start it (so cancelling that request does not cancel it). */
  detach?: <T>(work: () => T) => T;
  log?: (message: string, error?: unknown) => void;
}

/** A search came while its index was still being built and the build outlasted the wait allowed. */
export class IndexBuilding extends Error {
  constructor(readonly modelVersionId: number) {
    super(`the similarity index of model version ${modelVersionId} is being built`);
    this.name = 'IndexBuilding';
  }
}

/** The index of one model version and where it stands in the change sequence. */
class VersionIndex {
  /** Null until the model version has its first embedding (its length fixes the dimensions). */
  index: GarmentVectorIndex | null = null;
  /** Every change up to this seq is applied and no other can still appear at or below it. */
  safeSeq = 0;
  /** The sequence's value at the last catch-up: unchanged (and nothing pending) means nothing to read. */
  seenSeq = -1;
  /** A watermark whose writers were still running: it becomes safe once they have ended. */
  pending: EmbeddingWatermark | null = null;
  private work: Promise<void> = Promise.resolve();

  constructor(readonly modelVersionId: number) {}

  /** Runs `step` after every step queued before it (catch-ups never overlap). */
  serially(step: () => Promise<void>): Promise<void> {
    const next = this.work.then(step);
    this.work = next.catch(() => undefined);
    return next;
  }
}

export class SimilarityIndexes {
  /** Full builds run by this process (a change is applied without one). */
  builds = 0;
  private readonly versions = new Map<number, Promise<VersionIndex>>();
  private readonly finished = new Map<number, VersionIndex>();
  private listener?: EmbeddingChangeListener;
  private closed = false;
  private readonly graph: GraphSettings;
  private readonly buildBatch: number;
  private readonly changeBatch: number;
  private readonly writerWaitMs: number;
  private readonly detach: <T>(work: () => T) => T;
  private readonly log: (message: string, error?: unknown) => void;
  private readonly workers: DotWorkers | null;

  constructor(
    private readonly dataSource: DataSource,
    options: SimilarityIndexOptions = {},
  ) {
    this.graph = options.graph ?? DEFAULT_GRAPH;
    this.buildBatch = options.buildBatch ?? 2_000;
    this.changeBatch = options.changeBatch ?? 2_000;
    this.writerWaitMs = options.writerWaitMs ?? 60_000;
    this.detach = options.detach ?? ((work) => work());
    this.log = options.log ?? (() => {});
    this.workers = DotWorkers.open(options.scanThreads ?? Math.min(2, availableParallelism()));
  }

  /** LISTENs for changes, so that indexes catch up between searches too. */
  async start(): Promise<void> {
    this.listener ??= new EmbeddingChangeListener(databaseUrlOf(this.dataSource), () => this.detach(() => this.catchUpAll()), this.log);
    await this.listener.start();
  }

  private newIndex(dimensions: number): GarmentVectorIndex {
    return new GarmentVectorIndex(dimensions, this.graph, undefined, this.workers);
  }

  /** Stops listening; a build in progress stops at its next batch. */
  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.close();
    await this.workers?.close();
  }

  activeModelVersionId(): Promise<number | null> {
    return activeModelVersionId(this.dataSource);
  }

  /**
   * The index of a model version, built on first use and brought up to date with every change
   * committed before the call. IndexBuilding when the build takes longer than `waitMs` (it goes on).
   */
  async current(modelVersionId: number, waitMs = Infinity): Promise<GarmentVectorIndex | null> {
    const version = await withinMs(
      this.detach(() => this.built(modelVersionId)),
      waitMs,
      () => new IndexBuilding(modelVersionId),
    );
    await this.detach(() => version.serially(() => this.catchUp(version)));
    return version.index;
  }

  /** A model version's index as it stands (no catch-up), or undefined until it is built. */
  peek(modelVersionId: number): GarmentVectorIndex | null | undefined {
    return this.finished.get(modelVersionId)?.index;
  }

  /** Starts building a model version's index without waiting for it (server start). */
  prepare(modelVersionId: number): void {
    this.detach(() => this.built(modelVersionId)).catch((error) =>
      this.log(`building the similarity index of model version ${modelVersionId} failed:`, error),
    );
  }

  /** Starts building the active model version's index (server start), so the first search finds it ready. */
  async prepareActive(): Promise<void> {
    const active = await this.activeModelVersionId();
    if (active !== null) this.prepare(active);
  }

  private built(modelVersionId: number): Promise<VersionIndex> {
    let version = this.versions.get(modelVersionId);
    if (!version) {
      version = this.build(modelVersionId);
      this.versions.set(modelVersionId, version);
      // A failed build is tried again by the next search.
      version.then(
        (done) => this.finished.set(modelVersionId, done),
        () => this.versions.delete(modelVersionId),
      );
    }
    return version;
  }

  private async build(modelVersionId: number): Promise<VersionIndex> {
    this.builds++;
    const version = new VersionIndex(modelVersionId);
    const watermark = (await embeddingWatermark(this.dataSource))!;
    const waitUntil = Date.now() + this.writerWaitMs;
    while (await anyTransactionRunning(this.dataSource, watermark.writers)) {
      if (Date.now() > waitUntil) throw new Error(`embeddings were still being written after ${this.writerWaitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (let after = 0; ;) {
      if (this.closed) throw new Error('the similarity indexes were closed during a build');
      const rows = await readEmbeddingsAfterGarment(this.dataSource, modelVersionId, after, this.buildBatch);
      if (!rows.length) break;
      version.index ??= this.newIndex(rows[0].vector.length);
      version.index.upsert(rows.map(indexed));
      after = rows[rows.length - 1].garmentId;
      await yieldToEventLoop(); // inserting is synchronous native work: let requests in between batches
    }
    version.safeSeq = watermark.seq;
    return version;
  }

  private catchUpAll(): void {
    for (const pending of this.versions.values()) {
      pending
        .then((version) => version.serially(() => this.catchUp(version)))
        .catch((error) => this.log('catching up a similarity index failed:', error));
    }
  }

  /** Applies every change committed since the last catch-up. */
  private async catchUp(version: VersionIndex): Promise<void> {
    // One statement when the sequence has not moved and no writer was left pending.
    const watermark = await embeddingWatermark(this.dataSource, version.pending ? undefined : version.seenSeq);
    if (!watermark) return;
    let safe: number | null = watermark.writers.length === 0 ? watermark.seq : null;
    if (version.pending && !(await anyTransactionRunning(this.dataSource, version.pending.writers))) {
      safe = Math.max(safe ?? 0, version.pending.seq);
      version.pending = null;
    }
    if (watermark.writers.length) version.pending ??= watermark;
    for (let more = true, after = version.safeSeq; more;) {
      const changes = await readEmbeddingChanges(this.dataSource, version.modelVersionId, after, this.changeBatch);
      // In seq order: a removal and a later insert of the same garment end with the garment held.
      const events = [
        ...changes.written.map((row) => ({ seq: row.seq, row })),
        ...changes.removed.map((removal) => ({ seq: removal.seq, removal })),
      ].sort((a, b) => a.seq - b.seq);
      let written: StoredEmbedding[] = [];
      const flush = () => {
        if (!written.length) return;
        version.index ??= this.newIndex(written[0].vector.length);
        version.index.upsert(written.map(indexed));
        written = [];
      };
      for (const event of events) {
        if ('row' in event) written.push(event.row);
        else {
          flush();
          version.index?.remove(event.removal.garmentId, event.removal.seq);
        }
      }
      flush();
      after = changes.throughSeq;
      more = changes.more;
      if (more) await yieldToEventLoop();
    }
    if (safe !== null) version.safeSeq = Math.max(version.safeSeq, safe);
    version.seenSeq = watermark.seq;
  }
}

/**
 * A stored embedding as its index keeps it: grouped by category (within its super-category), the
 * filters a search most often has, so that a category's garments, and so a super-category's, lie in
 * chunks of their own.
 */
function indexed(row: StoredEmbedding): IndexedVector {
  return { garmentId: row.garmentId, vector: row.vector, seq: row.seq, group: `${row.superCategory}/${row.categoryId ?? ''}` };
}

/** `promise`, or the error `late()` makes when it has not settled within `ms` (0: unless it already has). */
async function withinMs<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  // Promise.race settles with the first of already-settled promises in order: a finished build wins over `late`.
  const timeout =
    ms <= 0
      ? Promise.reject(late())
      : new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(late()), ms);
        });
  timeout.catch(() => undefined);
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
