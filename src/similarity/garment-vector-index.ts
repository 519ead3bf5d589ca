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
import { exactSearch, Index, MetricKind, ScalarKind } from 'usearch';
import type { StoredEmbedding } from '../db/embedding-changes';
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
 * Slots per chunk of vectors and per range of an exhaustive search: the copy block of a search
 * over chosen garments is one range (8 MiB at 1024 dimensions, allocated once per index), however
 * many garments a filter matches.
 */
const RANGE_SLOTS = 8192;
/**
 * Threads of one exhaustive comparison: usearch starts its threads on every call, which cost more
 * than they saved on a chunk (8,192 × 1024 int8: 297 µs on one thread, 337 µs on two, on this
 * project's 2-core machine), and other requests want the other core.
 */
const KERNEL_THREADS = 1;
/** Graphs holding fewer vectors than this are inserted into one vector per call (see upsert). */
const SMALL_GRAPH = 10_000;

/** Highest first, then lower garment id first: one order for equal similarities. */
export const byRank = (a: Neighbour, b: Neighbour) => b.similarity - a.similarity || a.garmentId - b.garmentId;

export class GarmentVectorIndex {
  private readonly graph: Index;
  /**
   * The vectors, `rangeSlots` per chunk. Each chunk is its own buffer because usearch's exactSearch
   * reads a typed array from the start of its buffer (it ignores a view's byteOffset): a range can
   * only be ranked where it lies if it starts its buffer.
   */
  private readonly chunks: Int8Array[] = [];
  /** Euclidean norm of each slot's int8 vector. */
  private norms: Float64Array;
  private seqs: Float64Array;
  private garments: Float64Array;
  private readonly slotOf = new GarmentSlots();
  private readonly freeSlots: number[] = [];
  private usedSlots = 0;
  private capacity = 0;
  private scanBlock?: Int8Array;
  private chosen?: Uint8Array;

  constructor(
    readonly dimensions: number,
    private readonly settings: GraphSettings = DEFAULT_GRAPH,
    /** Slots per chunk, and per range of an exhaustive search (tests make it small to cross ranges). */
    private readonly rangeSlots = RANGE_SLOTS,
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
      this.vectorIn(slot).set(row.vector);
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
    this.slotOf.delete(garmentId);
    this.freeSlots.push(slot);
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
   * vector are skipped. A chunk mostly chosen is ranked where it lies; the chosen vectors of the
   * other chunks are copied into one block, compared a full block at a time, so the memory a search
   * takes is one block however many garments it compares.
   */
  nearestAmong(query: Int8Array, garmentIds: Iterable<number>, k: number): Neighbour[] {
    if (k <= 0 || !this.size) return [];
    const chosen = this.scratchFlags();
    for (const id of garmentIds) {
      const slot = this.slotOf.get(id);
      if (slot !== undefined) chosen[slot] = 1;
    }
    return this.nearestChosen(ownBuffer(query), chosen, k);
  }

  /** The `k` garments nearest to `query` among all, searched exhaustively (exact, however the graph is linked). */
  nearestExhaustive(query: Int8Array, k: number): Neighbour[] {
    if (k <= 0 || !this.size) return [];
    const chosen = this.scratchFlags();
    for (let slot = 0; slot < this.usedSlots; slot++) if (this.slotOf.get(this.garments[slot]) === slot) chosen[slot] = 1;
    return this.nearestChosen(ownBuffer(query), chosen, k);
  }

  /** The nearest of the slots flagged in `chosen`, which it clears. */
  private nearestChosen(query: Int8Array, chosen: Uint8Array, k: number): Neighbour[] {
    const queryNorm = norm(query);
    try {
      let best: Neighbour[] = [];
      // Chosen slots of sparsely chosen chunks, compared a full block at a time.
      const sparse: number[] = [];
      for (let start = 0; start < this.usedSlots; start += this.rangeSlots) {
        const end = Math.min(start + this.rangeSlots, this.usedSlots);
        const slots: number[] = [];
        for (let slot = start; slot < end; slot++) if (chosen[slot]) slots.push(slot);
        if (2 * slots.length >= end - start) {
          best = this.merged(query, queryNorm, best, this.nearestInChunk(query, chosen, start, end, slots.length, k), k);
          continue;
        }
        for (const slot of slots) {
          if (sparse.push(slot) < this.rangeSlots) continue;
          best = this.merged(query, queryNorm, best, this.nearestCopied(query, sparse, k), k);
          sparse.length = 0;
        }
      }
      return sparse.length ? this.merged(query, queryNorm, best, this.nearestCopied(query, sparse, k), k) : best;
    } finally {
      chosen.fill(0);
    }
  }

  /** One flag per slot, all clear (a scratch array: whoever sets flags clears them). */
  private scratchFlags(): Uint8Array {
    // Reused, as the copy block is: the searches are synchronous, so no other one holds it meanwhile.
    if (!this.chosen || this.chosen.length < this.usedSlots) this.chosen = new Uint8Array(this.capacity);
    return this.chosen;
  }

  /**
   * The kernel's nearest chosen slots among slots `start` to `end` (excluded) of one chunk, ranked
   * where they lie: asking for as many more as are not chosen keeps every chosen one it ranks within
   * the candidates.
   */
  private nearestInChunk(query: Int8Array, chosen: Uint8Array, start: number, end: number, chosenCount: number, k: number): number[] {
    const d = this.dimensions;
    const candidates = candidatesFor(k);
    const chunk = this.chunks[start / this.rangeSlots];
    const unchosen = end - start - chosenCount;
    const vectors = chunk.subarray(0, (end - start) * d); // from the buffer's start: usearch reads it right
    const ranked = exactSearch(vectors, query, d, Math.min(end - start, candidates + unchosen), MetricKind.Cos, KERNEL_THREADS);
    const found: number[] = [];
    for (const position of ranked.keys) {
      const slot = start + Number(position);
      if (chosen[slot] && found.push(slot) === candidates) break;
    }
    return found;
  }

  /** The kernel's nearest of `slots` (at most one block of them), their vectors copied into the block first. */
  private nearestCopied(query: Int8Array, slots: readonly number[], k: number): number[] {
    const d = this.dimensions;
    const block = (this.scanBlock ??= new Int8Array(this.rangeSlots * d));
    slots.forEach((slot, i) => block.set(this.vectorIn(slot), i * d));
    const vectors = block.subarray(0, slots.length * d);
    const ranked = exactSearch(vectors, query, d, Math.min(slots.length, candidatesFor(k)), MetricKind.Cos, KERNEL_THREADS);
    return Array.from(ranked.keys, (position) => slots[Number(position)]);
  }

  /** `best` and the `found` slots, ranked by exact similarity: the `k` best. */
  private merged(query: Int8Array, queryNorm: number, best: Neighbour[], found: readonly number[], k: number): Neighbour[] {
    const neighbours = [...best];
    for (const slot of found) neighbours.push({ garmentId: this.garments[slot], similarity: this.similarity(query, queryNorm, slot) });
    return neighbours.sort(byRank).slice(0, k);
  }

  /** Exact cosine of `query` (whose norm is `queryNorm`) and the vector in `slot`. */
  private similarity(query: Int8Array, queryNorm: number, slot: number): number {
    const d = this.dimensions;
    const chunk = this.chunks[Math.floor(slot / this.rangeSlots)];
    const offset = (slot % this.rangeSlots) * d;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += query[i] * chunk[offset + i];
    const denominator = queryNorm * this.norms[slot];
    return denominator > 0 ? dot / denominator : 0;
  }

  private takeSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.usedSlots === this.capacity) this.grow();
    return this.usedSlots++;
  }

  /** One more chunk of vectors (the earlier ones stay where they are), and room in the per-slot arrays. */
  private grow(): void {
    this.chunks.push(new Int8Array(this.rangeSlots * this.dimensions));
    this.capacity += this.rangeSlots;
    if (this.capacity <= this.seqs.length) return;
    const slots = Math.max(this.capacity, this.seqs.length * 2);
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
