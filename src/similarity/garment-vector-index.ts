/**
 * The appearance embeddings of one model version in memory: a usearch HNSW graph over the int8
 * vectors as stored (cosine metric, int8 scalars), and the same vectors in one slab, so that the
 * similarity reported is the exact cosine of the stored vectors (usearch's int8 kernel approximates
 * it to about 0.01) and a small set of garments can be searched exhaustively.
 *
 * Every garment remembers the `seq` of the vector it holds, so replaying changes (the catch-up reads
 * past a watermark, src/db/embedding-changes.ts) is idempotent: an older change never overwrites a
 * newer one.
 */
import { exactSearch, Index, MetricKind, ScalarKind } from 'usearch';
import type { StoredEmbedding } from '../db/embedding-changes';

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
  /** Candidates kept while searching (ef); a search for k > ef keeps k. */
  expansionSearch: number;
  /** Threads of a batch insert (0: all cores). */
  threads: number;
}

export const DEFAULT_GRAPH: GraphSettings = { connectivity: 16, expansionAdd: 128, expansionSearch: 128, threads: 0 };

const INITIAL_SLOTS = 1024;

/** Highest first, then lower garment id first: one order for equal similarities. */
export const byRank = (a: Neighbour, b: Neighbour) => b.similarity - a.similarity || a.garmentId - b.garmentId;

export class GarmentVectorIndex {
  private readonly graph: Index;
  private vectors: Int8Array;
  /** Euclidean norm of each slot's int8 vector. */
  private norms: Float64Array;
  private seqs: Float64Array;
  private garments: Float64Array;
  private readonly slotOf = new Map<number, number>();
  private readonly freeSlots: number[] = [];
  private usedSlots = 0;

  constructor(
    readonly dimensions: number,
    private readonly settings: GraphSettings = DEFAULT_GRAPH,
  ) {
    this.graph = new Index({
      dimensions,
      metric: MetricKind.Cos,
      quantization: ScalarKind.I8,
      connectivity: settings.connectivity,
      expansion_add: settings.expansionAdd,
      expansion_search: settings.expansionSearch,
      multi: false,
    });
    this.vectors = new Int8Array(INITIAL_SLOTS * dimensions);
    this.norms = new Float64Array(INITIAL_SLOTS);
    this.seqs = new Float64Array(INITIAL_SLOTS);
    this.garments = new Float64Array(INITIAL_SLOTS);
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
    return slot === undefined ? null : this.vectors.subarray(slot * this.dimensions, (slot + 1) * this.dimensions);
  }

  /**
   * Adds or replaces the vectors of these garments, unless the garment already holds a vector of a
   * later seq. The new ones go into the graph in one multi-threaded insert.
   */
  upsert(rows: readonly StoredEmbedding[]): void {
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
      const slot = this.takeSlot();
      this.vectors.set(row.vector, slot * this.dimensions);
      this.norms[slot] = norm(row.vector);
      this.seqs[slot] = row.seq;
      this.garments[slot] = row.garmentId;
      this.slotOf.set(row.garmentId, slot);
      fresh.push({ slot, garmentId: row.garmentId });
    }
    if (!fresh.length) return;
    const keys = new BigUint64Array(fresh.length);
    const batch = new Int8Array(fresh.length * this.dimensions);
    fresh.forEach(({ slot, garmentId }, i) => {
      keys[i] = BigInt(garmentId);
      batch.set(this.vectors.subarray(slot * this.dimensions, (slot + 1) * this.dimensions), i * this.dimensions);
    });
    this.graph.add(keys, batch, this.settings.threads);
  }

  /** Drops a garment's vector when it holds one older than `seq`. */
  remove(garmentId: number, seq: number): void {
    const slot = this.slotOf.get(garmentId);
    if (slot === undefined || this.seqs[slot] >= seq) return;
    this.graph.remove(BigInt(garmentId));
    this.slotOf.delete(garmentId);
    this.freeSlots.push(slot);
  }

  /**
   * About the `k` garments nearest to `query` (the graph's approximate answer), ranked by their
   * exact cosine similarity.
   */
  nearest(query: Int8Array, k: number): Neighbour[] {
    if (k <= 0 || !this.size) return [];
    // usearch's int8 kernel ranks (its cosine is off by up to about 0.01): the margin of extra
    // candidates keeps a true neighbour it ranks a little low, before the exact re-rank cuts to k.
    const found = this.graph.search(query, Math.min(this.size, candidatesFor(k)), 1);
    const neighbours: Neighbour[] = [];
    for (const key of found.keys) {
      const garmentId = Number(key);
      const slot = this.slotOf.get(garmentId);
      if (slot !== undefined) neighbours.push({ garmentId, similarity: this.similarity(query, slot) });
    }
    return neighbours.sort(byRank).slice(0, k);
  }

  /** The `k` garments among `garmentIds` nearest to `query`, searched exhaustively; ids without a vector are skipped. */
  nearestAmong(query: Int8Array, garmentIds: Iterable<number>, k: number): Neighbour[] {
    const slots: number[] = [];
    for (const id of garmentIds) {
      const slot = this.slotOf.get(id);
      if (slot !== undefined) slots.push(slot);
    }
    if (!slots.length || k <= 0) return [];
    const d = this.dimensions;
    const subset = new Int8Array(slots.length * d);
    slots.forEach((slot, i) => subset.set(this.vectors.subarray(slot * d, (slot + 1) * d), i * d));
    // usearch's kernel ranks; a margin of extra candidates absorbs its rounding before the exact re-rank.
    const candidates = Math.min(slots.length, candidatesFor(k));
    const found = exactSearch(subset, query, d, candidates, MetricKind.Cos);
    const neighbours: Neighbour[] = [];
    for (const position of found.keys) {
      const slot = slots[Number(position)];
      neighbours.push({ garmentId: this.garments[slot], similarity: this.similarity(query, slot) });
    }
    return neighbours.sort(byRank).slice(0, k);
  }

  /** The `k` garments nearest to `query` among all, searched exhaustively (the reference of the graph's recall). */
  nearestExhaustive(query: Int8Array, k: number): Neighbour[] {
    if (!this.size || k <= 0) return [];
    const d = this.dimensions;
    // Freed slots are still in the slab: ask for that many more and skip them.
    const candidates = Math.min(this.usedSlots, candidatesFor(k) + this.freeSlots.length);
    const found = exactSearch(this.vectors.subarray(0, this.usedSlots * d), query, d, candidates, MetricKind.Cos);
    const neighbours: Neighbour[] = [];
    for (const position of found.keys) {
      const slot = Number(position);
      const garmentId = this.garments[slot];
      if (this.slotOf.get(garmentId) === slot) neighbours.push({ garmentId, similarity: this.similarity(query, slot) });
    }
    return neighbours.sort(byRank).slice(0, k);
  }

  /** Exact cosine of `query` and the vector in `slot`. */
  private similarity(query: Int8Array, slot: number): number {
    const d = this.dimensions;
    const offset = slot * d;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += query[i] * this.vectors[offset + i];
    const denominator = norm(query) * this.norms[slot];
    return denominator > 0 ? dot / denominator : 0;
  }

  private takeSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.usedSlots === this.seqs.length) this.grow();
    return this.usedSlots++;
  }

  private grow(): void {
    const slots = this.seqs.length * 2;
    const vectors = new Int8Array(slots * this.dimensions);
    vectors.set(this.vectors);
    this.vectors = vectors;
    this.norms = grown(this.norms, slots);
    this.seqs = grown(this.seqs, slots);
    this.garments = grown(this.garments, slots);
  }
}

/**
 * Candidates asked of usearch for `k` results, re-ranked exactly: its int8 cosine is off by up to
 * about 0.01, so garments ranked a little past k may belong in the k; the margin is what the ranks
 * near the cut need (k more for small k, at most 64 more), not a multiple of a large k.
 */
function candidatesFor(k: number): number {
  return k + Math.min(k, 64) + 16;
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
