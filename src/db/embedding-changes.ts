/**
 * What a vector index (src/similarity) reads of `garment_embeddings` (migration GarmentEmbeddings): every
 * embedding of a model version in garment order (to build), the embeddings written and the removals
 * logged past a change sequence number (to catch up), a watermark below which no change can still
 * appear, and a LISTEN connection that says when to look.
 *
 * Why a watermark: `seq` is taken when a row is written, not when its transaction commits, so a
 * reader that only remembered the largest `seq` it saw could skip a smaller one committed later.
 * Every writer of `garment_embeddings` (insert, update, the delete whose trigger logs the removal)
 * holds a ROW EXCLUSIVE lock on it from before it takes a `seq` until it ends; so once the
 * transactions that held that lock when the sequence stood at `seq` have ended, no change at or
 * below `seq` is still to come.
 */
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { SuperCategory } from '../kfashion/types';

/** The NOTIFY channel of the migration's statement trigger (payload empty). */
export const EMBEDDINGS_CHANNEL = 'garment_embeddings';

export interface StoredEmbedding {
  garmentId: number;
  /** value ≈ vector[i] × scale (src/ml/embedding/int8.ts) */
  scale: number;
  vector: Int8Array;
  seq: number;
  /** The garment's super-category and category (vocabulary id, null when it has none) as they are now. */
  superCategory: SuperCategory;
  categoryId: number | null;
}

export interface EmbeddingRemoval {
  garmentId: number;
  seq: number;
}

export interface EmbeddingChanges {
  /** Embeddings as they are now whose seq is past the one asked for, in seq order. */
  written: StoredEmbedding[];
  /** Removals logged past the seq asked for, in seq order. */
  removed: EmbeddingRemoval[];
  /** Every change up to this seq is in the answer (all changes when no batch was full). */
  throughSeq: number;
  /** More changes follow `throughSeq`. */
  more: boolean;
}

interface EmbeddingRow {
  garment_id: string;
  scale: number;
  vector: Buffer;
  seq: string;
  super_category: SuperCategory;
  category_id: number | null;
}

/** The columns of an EmbeddingRow, from garment_embeddings `e` joined to its garment `g`. */
const EMBEDDING_COLUMNS = 'e.garment_id, e.scale, e.vector, e.seq, g.super_category, g.category_id';

const toEmbedding = (row: EmbeddingRow): StoredEmbedding => ({
  garmentId: Number(row.garment_id),
  scale: row.scale,
  vector: new Int8Array(row.vector.buffer, row.vector.byteOffset, row.vector.byteLength),
  seq: Number(row.seq),
  superCategory: row.super_category,
  categoryId: row.category_id,
});

/** Up to `limit` embeddings of the model version with garment id above `afterGarmentId`, in garment order. */
export async function readEmbeddingsAfterGarment(
  dataSource: DataSource,
  modelVersionId: number,
  afterGarmentId: number,
  limit: number,
): Promise<StoredEmbedding[]> {
  const rows: EmbeddingRow[] = await dataSource.query(
    `SELECT ${EMBEDDING_COLUMNS} FROM garment_embeddings e JOIN garments g ON g.id = e.garment_id
      WHERE e.model_version_id = $1 AND e.garment_id > $2 ORDER BY e.garment_id LIMIT $3`,
    [modelVersionId, afterGarmentId, limit],
  );
  return rows.map(toEmbedding);
}

/**
 * The changes of one model version past `afterSeq`: at most `limit` written rows and `limit`
 * removals, cut at a seq such that nothing at or below it is missing from the answer.
 */
export async function readEmbeddingChanges(
  dataSource: DataSource,
  modelVersionId: number,
  afterSeq: number,
  limit: number,
): Promise<EmbeddingChanges> {
  const [written, removed] = await Promise.all([
    dataSource.query<EmbeddingRow[]>(
      `SELECT ${EMBEDDING_COLUMNS} FROM garment_embeddings e JOIN garments g ON g.id = e.garment_id
        WHERE e.model_version_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`,
      [modelVersionId, afterSeq, limit],
    ),
    dataSource.query<{ garment_id: string; seq: string }[]>(
      `SELECT garment_id, seq FROM garment_embedding_removals
        WHERE model_version_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [modelVersionId, afterSeq, limit],
    ),
  ]);
  const full = (rows: { seq: string }[]) => (rows.length === limit ? Number(rows[rows.length - 1].seq) : Infinity);
  const cut = Math.min(full(written), full(removed));
  const lastSeq = (rows: { seq: string }[]) => (rows.length ? Number(rows[rows.length - 1].seq) : afterSeq);
  const throughSeq = Number.isFinite(cut) ? cut : Math.max(lastSeq(written), lastSeq(removed));
  return {
    written: written.map(toEmbedding).filter((row) => row.seq <= throughSeq),
    removed: removed.map((row) => ({ garmentId: Number(row.garment_id), seq: Number(row.seq) })).filter((row) => row.seq <= throughSeq),
    throughSeq,
    more: Number.isFinite(cut),
  };
}

/** A seq, and the transactions that may still add changes at or below it (virtual transaction ids). */
export interface EmbeddingWatermark {
  seq: number;
  writers: string[];
}

/**
 * Where the change sequence stands now, with the transactions that may still commit a change at or
 * below it; null (after one statement) when it still stands at `unlessSeq`: nothing changed since.
 */
export async function embeddingWatermark(dataSource: DataSource, unlessSeq?: number): Promise<EmbeddingWatermark | null> {
  // The sequence first, the lock holders second: a writer that took a seq up to `seq` holds its lock now or has ended.
  const [{ seq }]: { seq: string }[] = await dataSource.query(
    `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS seq FROM garment_embedding_seq`,
  );
  if (Number(seq) === unlessSeq) return null;
  const writers: { vxid: string }[] = await dataSource.query(
    `SELECT DISTINCT virtualtransaction AS vxid FROM pg_locks
      WHERE locktype = 'relation' AND relation = 'garment_embeddings'::regclass
        AND mode = 'RowExclusiveLock' AND pid IS DISTINCT FROM pg_backend_pid()`,
  );
  return { seq: Number(seq), writers: writers.map((row) => row.vxid) };
}

/** Whether any of these transactions (virtual transaction ids) is still running. */
export async function anyTransactionRunning(dataSource: DataSource, vxids: readonly string[]): Promise<boolean> {
  if (!vxids.length) return false;
  const [{ running }]: { running: boolean }[] = await dataSource.query(
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = ANY($1::text[])) AS running`,
    [vxids],
  );
  return running;
}

/** Model versions that exist (an index of a dropped one is let go). */
export async function existingModelVersionIds(dataSource: DataSource, ids: readonly number[]): Promise<Set<number>> {
  const rows: { id: number }[] = await dataSource.query(`SELECT id FROM model_versions WHERE id = ANY($1::int[])`, [ids]);
  return new Set(rows.map((row) => row.id));
}

/**
 * One LISTEN connection on EMBEDDINGS_CHANNEL: `onChange` runs on every notification and after
 * every reconnection (changes notified in the gap are found by reading past the last seq).
 */
export class EmbeddingChangeListener {
  private client: Client | null = null;
  private closed = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly onChange: () => void,
    private readonly log: (message: string, error?: unknown) => void,
    private readonly reconnectMs = 1_000,
  ) {}

  async start(): Promise<void> {
    const client = new Client({ connectionString: this.url });
    client.on('notification', () => this.onChange());
    const lost = (error?: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      client.end().catch(() => undefined);
      if (!this.closed) {
        this.log('the garment_embeddings LISTEN connection ended; reconnecting', error);
        this.scheduleReconnect();
      }
    };
    client.on('error', lost);
    client.on('end', () => lost());
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${EMBEDDINGS_CHANNEL}`);
    } catch (error) {
      lost(error);
      return;
    }
    this.onChange();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.start(), this.reconnectMs);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
