/**
 * The appearance embeddings of one model version in memory: a usearch HNSW graph over the int8
 * vectors as stored (cosine metric, int8 scalars), and the same vectors in chunks of their own, so that the
 * similarity reported is the exact cosine of the stored vectors (usearch's int8 kernel approximates
 * it to about 0.01) and the garments a filter matches can be searched exhaustively.
 *
 * Every garment remembers the `seq` of the vector it holds, so replaying changes (the catch-up reads
 * past a watermark, src/db/embedding-changes.ts) is idempotent: an older change never overwrites a
 * newer one.
 */
import { Index, MetricKind, ScalarKind } from 'usearch';
import { DotWorkers, innerProductDistances } from './dot-workers';
import { GarmentSlots } from './garment-slots';

export interface Neighbour {
  garmentId: number;
  /** Cosine similarity of the two stored vectors, from -1 to 1. */
  similarity: number;
}

export interface GraphSettings {
  /** Edges per node (HNSW M). */
  connectivity: number;
  /** Candidates kept while inserting (efConstruction). */
  expansionAdd: number;
  /** Candidates a search keeps (its ef) unless it asks for another width; a search for k > ef keeps k. */
  expansionSearch: number;
  /** Threads of a batch insert (0: all cores). */
  threads: number;
}

export const DEFAULT_GRAPH: GraphSettings = { connectivity: 16, expansionAdd: 128, expansionSearch: 512, threads: 0 };

/**
 * Slots per chunk of vectors: the copy block of a search over chosen garments is one chunk's worth
 * (8 MiB at 1024 dimensions, allocated once per index), however many garments a filter matches.
 */
const RANGE_SLOTS = 8192;
/** Vectors a chunk's buffer holds at first; it doubles as it fills, up to RANGE_SLOTS. */
const FIRST_CHUNK_SLOTS = 64;
/**
 * A chunk at least 1/DENSE_SHARE chosen is compared where it lies; the chosen vectors of sparser
 * chunks are copied first. Both are bound by memory: in place reads the whole chunk (86–99 ns per
 * vector on this project's machine, shared with a worker), a copy reads and writes each chosen
 * vector on the main thread (438 ns per vector compared, a fifth of every chunk chosen), so they
 * cost about the same at a quarter (bench/RESULTS.md, the exhaustive search alone: 351 ns per
 * compared vector at a quarter in place).
 */
const DENSE_SHARE = 4;
/**
 * Whole chunks holding fewer vectors than this many chunks' worth are compared on the main thread
 * alone even when the index has DotWorkers: sharing them gains nothing (measured here: 8,192 vectors
 * took 0.51 ms shared with a worker and 0.48 ms alone; 24,576 took 1.51 ms against 1.94).
 */
const WORKER_MIN_CHUNKS = 2;
/** Graphs holding fewer vectors than this are inserted into one vector per call (see upsert). */
const SMALL_GRAPH = 10_000;

/** Highest first, then lower garment id first: one order for equal similarities. */
export const byRank = (a: Neighbour, b: Neighbour) => b.similarity - a.similarity || a.garmentId - b.garmentId;

/** A garment's vector as the index takes it. */
export interface IndexedVector {
  garmentId: number;
  vector: Int8Array;
  /** Order of the changes: a vector never replaces one of a later seq. */
  seq: number;
  /**
   * Vectors of one group share chunks, so a filter matching whole groups compares whole chunks
   * where they lie instead of copying a scattered share of every chunk (the similarity indexes
   * group by category). Only where a vector is kept depends on it, never an answer.
   */
  group?: string;
}

/** What garments a search has chosen, and the nearest of them (GarmentVectorIndex.withChosen). */
export interface ChosenGarments {
  has(garmentId: number): boolean;
  /** The `k` chosen garments nearest to `query`, searched exhaustively (exact). */
  nearest(query: Int8Array, k: number): Promise<Neighbour[]>;
}

/** Where a group's new vectors go: its chunk with slots never handed out, and its freed slots. */
interface GroupSlots {
  openChunk: number;
  freeSlots: number[];
}

export class GarmentVectorIndex {
  private readonly graph: Index;
  /**
   * The vectors, `rangeSlots` per chunk. Each chunk is its own buffer because usearch's exactSearch
   * reads a typed array from the start of its buffer (it ignores a view's byteOffset): a chunk can
   * only be compared where it lies if it starts its buffer.
   */
  private readonly chunks: Int8Array[] = [];
  /** Slots handed out in each chunk, from its start. */
  private readonly chunkFill: number[] = [];
  /** The group each chunk holds. */
  private readonly chunkGroup: string[] = [];
  private readonly groups = new Map<string, GroupSlots>();
  /** Euclidean norm of each slot's int8 vector. */
  private norms: Float64Array;
  private seqs: Float64Array;
  private garments: Float64Array;
  /** 1 where a slot holds a garment's vector, 0 where it is free or never used. */
  private live: Uint8Array;
  private readonly slotOf = new GarmentSlots();
  /** Choices of slots (a flag per slot) that searches have given back, all clear. */
  private readonly freeChoices: Uint8Array[] = [];
  /** The mark of each search awaiting its comparisons: while there is one, every garment displaced from a slot is noted. */
  private readonly awaitingMarks: number[] = [];
  /** The garment each slot held before a change, in order, from the oldest awaiting search's mark (see `displacedSince`). */
  private displaced: { slot: number; garmentId: number }[] = [];
  /** How many notes were dropped before the first of `displaced`: a note's mark is its position counted from the first ever. */
  private displacedBase = 0;
  /** The copy block, one per index: the copies are compared synchronously, so no two searches use it at once. */
  private scanBlock?: Int8Array;
  /** The chosen slots of one chunk, as a search collects them (scratch). */
  private chunkSlots: Int32Array;

  constructor(
    readonly dimensions: number,
    private readonly settings: GraphSettings = DEFAULT_GRAPH,
    /** Slots per chunk, and per copy block of an exhaustive search (tests make it small to cross chunks). */
    private readonly rangeSlots = RANGE_SLOTS,
    /** Threads that compare whole chunks where they lie (the chunks are then shared memory); null: the main thread. */
    private readonly workers: DotWorkers | null = null,
  ) {
    this.graph = new Index({
      dimensions,
      metric: MetricKind.Cos,
      quantization: ScalarKind.I8,
      connectivity: settings.connectivity,
      expansion_add: settings.expansionAdd,
      // The width of each search is asked for per query (nearest's count): the graph's own floor is the least there is.
      expansion_search: 1,
      multi: false,
    });
    this.norms = new Float64Array(0);
    this.seqs = new Float64Array(0);
    this.garments = new Float64Array(0);
    this.live = new Uint8Array(0);
    this.chunkSlots = new Int32Array(rangeSlots);
  }

  /** Candidates a search keeps unless it asks for another width. */
  get searchWidth(): number {
    return this.settings.expansionSearch;
  }

  /** Garments held. */
  get size(): number {
    return this.slotOf.size;
  }

  has(garmentId: number): boolean {
    return this.slotOf.has(garmentId);
  }

  /** The stored vector of a garment (a view: copy it to keep it across changes), or null. */
  vectorOf(garmentId: number): Int8Array | null {
    const slot = this.slotOf.get(garmentId);
    return slot === undefined ? null : this.vectorIn(slot);
  }

  /** The vector in `slot` (a view into its chunk). */
  private vectorIn(slot: number): Int8Array {
    const at = (slot % this.rangeSlots) * this.dimensions;
    return this.chunks[Math.floor(slot / this.rangeSlots)].subarray(at, at + this.dimensions);
  }

  /**
   * Adds or replaces the vectors of these garments, unless the garment already holds a vector of a
   * later seq. The new ones go into the graph in one multi-threaded insert.
   */
  upsert(rows: readonly IndexedVector[]): void {
    const fresh: { slot: number; garmentId: number }[] = [];
    for (const row of rows) {
      if (row.vector.length !== this.dimensions) {
        throw new Error(`garment ${row.garmentId}: a vector of ${row.vector.length} dimensions in an index of ${this.dimensions}`);
      }
      const existing = this.slotOf.get(row.garmentId);
      if (existing !== undefined) {
        if (this.seqs[existing] >= row.seq) continue;
        this.remove(row.garmentId, row.seq);
      }
      const slot = this.takeSlot(row.group ?? '');
      this.vectorIn(slot).set(row.vector);
      this.norms[slot] = norm(row.vector);
      this.seqs[slot] = row.seq;
      this.garments[slot] = row.garmentId;
      this.live[slot] = 1;
      this.slotOf.set(row.garmentId, slot);
      fresh.push({ slot, garmentId: row.garmentId });
    }
    if (!fresh.length) return;
    const keys = new BigUint64Array(fresh.length);
    const batch = new Int8Array(fresh.length * this.dimensions);
    fresh.forEach(({ slot, garmentId }, i) => {
      keys[i] = BigInt(garmentId);
      batch.set(this.vectorIn(slot), i * this.dimensions);
    });
    if (this.size - fresh.length >= SMALL_GRAPH) {
      this.graph.add(keys, batch, this.settings.threads);
      return;
    }
    // Into a small graph one vector per call: vectors inserted concurrently into a graph of a few
    // hundred link to each other poorly (240 inserted on two threads: 288 of 480 searches asking for
    // all 240 came back short; one at a time, none). The thread count stays the same on every call:
    // usearch reserves one context per thread when it grows, and a later call with more threads
    // than reserved fails. Each call gets its own arrays (usearch reads from a buffer's start).
    for (let i = 0; i < fresh.length; i++) {
      this.graph.add(keys.slice(i, i + 1), batch.slice(i * this.dimensions, (i + 1) * this.dimensions), this.settings.threads);
    }
  }

  /** Drops a garment's vector when it holds one older than `seq`. */
  remove(garmentId: number, seq: number): void {
    const slot = this.slotOf.get(garmentId);
    if (slot === undefined || this.seqs[slot] >= seq) return;
    this.graph.remove(BigInt(garmentId));
    if (this.awaitingMarks.length) this.displaced.push({ slot, garmentId });
    this.slotOf.delete(garmentId);
    this.live[slot] = 0;
    this.groups.get(this.chunkGroup[Math.floor(slot / this.rangeSlots)])!.freeSlots.push(slot);
  }

  /**
   * About the `k` garments nearest to `query` (the graph's approximate answer), ranked by their
   * exact cosine similarity. `width` is the number of candidates the graph search keeps (its ef): a
   * wider search finds more of the true neighbours and takes longer.
   */
  nearest(query: Int8Array, k: number, width = this.settings.expansionSearch): Neighbour[] {
    if (k <= 0 || !this.size) return [];
    query = ownBuffer(query);
    // usearch keeps max(ef, count) candidates and returns `count`: asking for `width` makes the
    // search that wide, and every candidate it kept is then ranked exactly (its int8 kernel's cosine
    // is off by up to about 0.01, so a true neighbour it ranks a little low is not lost).
    const found = this.graph.search(query, Math.min(this.size, Math.max(candidatesFor(k), width)), 1);
    const queryNorm = norm(query);
    const neighbours: Neighbour[] = [];
    for (const key of found.keys) {
      const garmentId = Number(key);
      const slot = this.slotOf.get(garmentId);
      if (slot !== undefined) neighbours.push({ garmentId, similarity: this.similarity(query, queryNorm, slot) });
    }
    return neighbours.sort(byRank).slice(0, k);
  }

  /**
   * The `k` garments among `garmentIds` nearest to `query`, searched exhaustively; ids without a
   * vector are skipped.
   */
  nearestAmong(query: Int8Array, garmentIds: Iterable<number>, k: number): Promise<Neighbour[]> {
    return this.withChosen(garmentIds, (chosen) => chosen.nearest(query, k));
  }

  /** The `k` garments nearest to `query` among all, searched exhaustively (exact, however the graph is linked). */
  async nearestExhaustive(query: Int8Array, k: number): Promise<Neighbour[]> {
    const flags = this.takeChoice();
    flags.set(this.live);
    try {
      return await this.chosenBy(flags).nearest(query, k);
    } finally {
      this.giveBack(flags);
    }
  }

  /**
   * Runs `search` with `garmentIds` chosen: it can ask which garments are chosen and search them
   * exhaustively. Each call has a choice of its own, so searches may overlap.
   */
  async withChosen<T>(garmentIds: Iterable<number>, search: (chosen: ChosenGarments) => Promise<T>): Promise<T> {
    const flags = this.takeChoice();
    for (const id of garmentIds) {
      const slot = this.slotOf.get(id);
      if (slot !== undefined) flags[slot] = 1;
    }
    try {
      return await search(this.chosenBy(flags));
    } finally {
      this.giveBack(flags);
    }
  }

  private chosenBy(flags: Uint8Array): ChosenGarments {
    return {
      has: (garmentId) => {
        const slot = this.slotOf.get(garmentId);
        return slot !== undefined && flags[slot] === 1;
      },
      nearest: async (query, k) => (k > 0 && this.size ? this.nearestFlagged(ownBuffer(query), flags, k) : []),
    };
  }

  /**
   * A choice of slots, all clear: one given back, else a new one. Reused because a search over a
   * million slots would otherwise allocate a megabyte each time, and so many short-lived buffers
   * outside the heap make V8 collect garbage often (the tail of the latencies grew).
   */
  private takeChoice(): Uint8Array {
    const reused = this.freeChoices.pop();
    return reused && reused.length >= this.live.length ? reused : new Uint8Array(this.live.length);
  }

  private giveBack(flags: Uint8Array): void {
    flags.fill(0);
    if (flags.length >= this.live.length) this.freeChoices.push(flags);
  }

  /**
   * The nearest of the slots flagged in `chosen` (slots past its end are not chosen). A chunk mostly
   * chosen is compared where it lies, on the DotWorkers when the index has them; the chosen vectors
   * of the other chunks are copied into one block first, so the memory a search takes is one block
   * however many garments it compares. The search awaits the comparison of the whole chunks; a
   * garment whose slot changed meanwhile is compared with the vector it holds when they come back,
   * wherever it now lies, and one removed meanwhile is left out.
   */
  private async nearestFlagged(query: Int8Array, chosen: Uint8Array, k: number): Promise<Neighbour[]> {
    const dense = this.denseChunks(chosen);
    const mark = this.displacedBase + this.displaced.length;
    this.awaitingMarks.push(mark);
    let distances: Float32Array[];
    let changed: Map<number, number>;
    try {
      distances = await this.chunkDistances(
        query,
        dense.map((chunk) => this.chunks[chunk].subarray(0, this.chunkFill[chunk] * this.dimensions)),
      );
    } finally {
      changed = this.displacedSince(mark, chosen);
      this.awaitingMarks.splice(this.awaitingMarks.indexOf(mark), 1);
      this.forgetDisplacedBefore(Math.min(...this.awaitingMarks, this.displacedBase + this.displaced.length));
    }
    const queryNorm = norm(query);
    const best = new BestNeighbours(k);
    dense.forEach((chunk, i) => this.rankInPlace(queryNorm, chunk, chosen, changed, distances[i], best));
    this.rankSparse(query, queryNorm, new Set(dense), chosen, changed, best);
    for (const garmentId of new Set(changed.values())) {
      const now = this.slotOf.get(garmentId);
      if (now !== undefined) best.offer(garmentId, this.similarity(query, queryNorm, now));
    }
    return best.ranked();
  }

  /** The chunks at least 1/DENSE_SHARE chosen, compared where they lie. */
  private denseChunks(chosen: Uint8Array): number[] {
    const dense: number[] = [];
    for (let chunk = 0; chunk < this.chunks.length; chunk++) {
      const count = this.chosenSlots(chunk, chosen).length;
      if (count && count * DENSE_SHARE >= this.chunkFill[chunk]) dense.push(chunk);
    }
    return dense;
  }

  /** The chosen slots whose garment was displaced since `mark`, with the garment each held when the search began. */
  private displacedSince(mark: number, chosen: Uint8Array): Map<number, number> {
    const changed = new Map<number, number>();
    for (let i = mark - this.displacedBase; i < this.displaced.length; i++) {
      const { slot, garmentId } = this.displaced[i];
      if (chosen[slot] && !changed.has(slot)) changed.set(slot, garmentId);
    }
    return changed;
  }

  /** Drops the notes no awaiting search needs (those before `mark`), so that overlapping searches never let them pile up. */
  private forgetDisplacedBefore(mark: number): void {
    const dropped = mark - this.displacedBase;
    if (dropped <= 0) return;
    this.displaced = this.displaced.slice(dropped);
    this.displacedBase = mark;
  }

  /** The slots of `chunk` flagged in `chosen` (a view of a scratch array, valid until the next call). */
  private chosenSlots(chunk: number, chosen: Uint8Array): Int32Array {
    const start = chunk * this.rangeSlots;
    const end = Math.min(start + this.chunkFill[chunk], chosen.length);
    let count = 0;
    for (let slot = start; slot < end; slot++) if (chosen[slot]) this.chunkSlots[count++] = slot;
    return this.chunkSlots.subarray(0, count);
  }

  /**
   * usearch's distance (1 − dot product) of `query` with every vector of each chunk: on the
   * DotWorkers when the index has them and the chunks are many (on the main thread if they fail),
   * else here.
   */
  private async chunkDistances(query: Int8Array, vectors: Int8Array[]): Promise<Float32Array[]> {
    const compared = vectors.reduce((sum, chunk) => sum + chunk.length, 0) / this.dimensions;
    if (this.workers && compared >= WORKER_MIN_CHUNKS * this.rangeSlots) {
      try {
        return await this.workers.distances(query, vectors, this.dimensions);
      } catch {
        // A worker died (it is started afresh next time): this search compares here instead.
      }
    }
    return vectors.map((chunk) => innerProductDistances(query, chunk, this.dimensions));
  }

  /** Offers the chosen garments of a chunk compared where it lies, by their `distances`, but those of `changed` slots. */
  private rankInPlace(
    queryNorm: number,
    chunk: number,
    chosen: Uint8Array,
    changed: Map<number, number>,
    distances: Float32Array,
    best: BestNeighbours,
  ): void {
    const start = chunk * this.rangeSlots;
    for (const slot of this.chosenSlots(chunk, chosen)) {
      if (!changed.has(slot)) best.offer(this.garments[slot], cosine(1 - distances[slot - start], queryNorm, this.norms[slot]));
    }
  }

  /** Offers the chosen garments of the chunks not compared where they lie (but those of `changed` slots), a block of copies at a time. */
  private rankSparse(
    query: Int8Array,
    queryNorm: number,
    dense: Set<number>,
    chosen: Uint8Array,
    changed: Map<number, number>,
    best: BestNeighbours,
  ): void {
    const sparse: number[] = [];
    for (let chunk = 0; chunk < this.chunks.length; chunk++) {
      if (dense.has(chunk)) continue;
      for (const slot of this.chosenSlots(chunk, chosen)) {
        if (changed.has(slot) || sparse.push(slot) < this.rangeSlots) continue;
        this.rankCopied(query, queryNorm, sparse, best);
        sparse.length = 0;
      }
    }
    if (sparse.length) this.rankCopied(query, queryNorm, sparse, best);
  }

  /** Offers `slots` (at most one block of them) to `best`, their vectors copied into the block first. */
  private rankCopied(query: Int8Array, queryNorm: number, slots: readonly number[], best: BestNeighbours): void {
    const d = this.dimensions;
    const block = (this.scanBlock ??= new Int8Array(this.rangeSlots * d));
    slots.forEach((slot, i) => block.set(this.vectorIn(slot), i * d));
    const dots = this.dotsWith(query, block.subarray(0, slots.length * d));
    slots.forEach((slot, i) => best.offer(this.garments[slot], cosine(dots(i), queryNorm, this.norms[slot])));
  }

  /**
   * The dot products of `query` with each vector of `vectors` (which must start its buffer), by
   * position. The norms are divided by the caller, with the same stored norms `similarity` divides
   * by, so both give one value for one pair.
   */
  private dotsWith(query: Int8Array, vectors: Int8Array): (position: number) => number {
    const distances = innerProductDistances(query, vectors, this.dimensions);
    return (position) => 1 - distances[position];
  }

  /** Exact cosine of `query` (whose norm is `queryNorm`) and the vector in `slot`. */
  private similarity(query: Int8Array, queryNorm: number, slot: number): number {
    const d = this.dimensions;
    const chunk = this.chunks[Math.floor(slot / this.rangeSlots)];
    const offset = (slot % this.rangeSlots) * d;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += query[i] * chunk[offset + i];
    return cosine(dot, queryNorm, this.norms[slot]);
  }

  /** A slot for a vector of `group`: one the group freed, else the next never used in its open chunk. */
  private takeSlot(group: string): number {
    let slots = this.groups.get(group);
    if (!slots) this.groups.set(group, (slots = { openChunk: -1, freeSlots: [] }));
    const reused = slots.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (slots.openChunk < 0 || this.chunkFill[slots.openChunk] === this.rangeSlots) slots.openChunk = this.addChunk(group);
    const chunk = slots.openChunk;
    if (this.chunkFill[chunk] * this.dimensions === this.chunks[chunk].length) this.growChunk(chunk);
    return chunk * this.rangeSlots + this.chunkFill[chunk]++;
  }

  /**
   * Doubles a chunk's buffer (up to `rangeSlots` vectors): a chunk starts small, so that the many
   * groups of a small index (a category each) do not take 8 MiB apiece.
   */
  private growChunk(chunk: number): void {
    const vectors = Math.min(this.rangeSlots, Math.max(FIRST_CHUNK_SLOTS, (2 * this.chunks[chunk].length) / this.dimensions));
    const larger = this.vectorBuffer(vectors * this.dimensions);
    larger.set(this.chunks[chunk]);
    this.chunks[chunk] = larger;
  }

  /** Room for vectors: shared memory when DotWorkers read the chunks. */
  private vectorBuffer(bytes: number): Int8Array {
    return this.workers ? DotWorkers.allocate(bytes) : new Int8Array(bytes);
  }

  /** One more chunk of vectors for `group` (the earlier ones stay where they are), and room in the per-slot arrays. */
  private addChunk(group: string): number {
    this.chunks.push(this.vectorBuffer(0));
    this.chunkFill.push(0);
    this.chunkGroup.push(group);
    const capacity = this.chunks.length * this.rangeSlots;
    if (capacity > this.seqs.length) {
      const slots = Math.max(capacity, this.seqs.length * 2);
      this.norms = grown(this.norms, slots);
      this.seqs = grown(this.seqs, slots);
      this.garments = grown(this.garments, slots);
      const live = new Uint8Array(slots);
      live.set(this.live);
      this.live = live;
    }
    return this.chunks.length - 1;
  }
}

/**
 * The `k` best neighbours offered so far, best first (byRank): most offers of a large search fall
 * below the k-th and are turned away with one comparison.
 */
class BestNeighbours {
  private readonly list: Neighbour[] = [];

  constructor(private readonly k: number) {}

  offer(garmentId: number, similarity: number): void {
    const list = this.list;
    if (list.length === this.k) {
      const last = list[this.k - 1];
      if (similarity < last.similarity || (similarity === last.similarity && garmentId > last.garmentId)) return;
      list.pop();
    }
    const neighbour = { garmentId, similarity };
    let at = list.length;
    while (at > 0 && byRank(neighbour, list[at - 1]) < 0) at--;
    list.splice(at, 0, neighbour);
  }

  ranked(): Neighbour[] {
    return this.list;
  }
}

/** The cosine of two int8 vectors from their dot product and norms (0 when either is all zeros). */
function cosine(dot: number, queryNorm: number, norm: number): number {
  const denominator = queryNorm * norm;
  return denominator > 0 ? dot / denominator : 0;
}

/**
 * Candidates asked of usearch for `k` results, re-ranked exactly: its int8 cosine is off by up to
 * about 0.01, so garments ranked a little past k may belong in the k; the margin is what the ranks
 * near the cut need (k more for small k, at most 64 more), not a multiple of a large k.
 */
function candidatesFor(k: number): number {
  return k + Math.min(k, 64) + 16;
}

/** `vector`, or a copy when it is a view into a larger buffer (usearch reads from the buffer's start). */
function ownBuffer(vector: Int8Array): Int8Array {
  return vector.byteOffset === 0 && vector.byteLength === vector.buffer.byteLength ? vector : vector.slice();
}

function grown(array: Float64Array, length: number): Float64Array {
  const larger = new Float64Array(length);
  larger.set(array);
  return larger;
}

function norm(vector: Int8Array): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  return Math.sqrt(sum);
}
