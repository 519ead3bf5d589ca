/**
 * Nearest garments by appearance, optionally among the garments a filter (GarmentWhere) admits.
 *
 * The filter applies inside the search, never to a short list cut beforehand: when at most
 * `exactLimit` garments match, those are searched exhaustively (exact ranking); otherwise the graph
 * is asked for k candidates, the filter keeps those that match (one statement over their ids), and k
 * grows (from the share that matched) until enough match, up to `maxCandidates`.
 */
import type { GarmentIdFilter } from '../db/garment-id-filter';
import type { GarmentFilter } from '../db/search-filter';
import type { GarmentVectorIndex, Neighbour } from './garment-vector-index';
import type { SimilarityIndexes } from './similarity-indexes';

/** The garment has no embedding of that model version (so there is nothing to compare). */
export class EmbeddingNotFound extends Error {
  constructor(
    readonly garmentId: number,
    readonly modelVersionId: number,
  ) {
    super(`garment ${garmentId} has no embedding of model version ${modelVersionId}`);
    this.name = 'EmbeddingNotFound';
  }
}

export interface SimilarityLimits {
  /** Longest a search waits for its index to be built (IndexBuilding after it). */
  buildWaitMs: number;
  /** Filters matching at most this many garments are searched exhaustively. */
  exactLimit: number;
  /** Most candidates asked of the graph for a filtered search. */
  maxCandidates: number;
}

export const DEFAULT_SIMILARITY_LIMITS: SimilarityLimits = { buildWaitMs: 10_000, exactLimit: 5_000, maxCandidates: 20_000 };

export interface RankedGarments {
  /** The `count` best after `offset`, best first. */
  neighbours: Neighbour[];
  /** More matches follow. */
  hasMore: boolean;
}

export interface NearestRequest {
  modelVersionId: number;
  filter: GarmentFilter | null;
  /** Ranks skipped (a page's position). */
  offset: number;
  count: number;
}

export class SimilarGarments {
  constructor(
    private readonly indexes: SimilarityIndexes,
    private readonly ids: GarmentIdFilter,
    private readonly limits: SimilarityLimits = DEFAULT_SIMILARITY_LIMITS,
  ) {}

  /** The active model version (the default one to compare with), or null. */
  activeModelVersionId(): Promise<number | null> {
    return this.indexes.activeModelVersionId();
  }

  /** The garments most like garment `garmentId` (itself excluded). */
  async similarTo(garmentId: number, request: NearestRequest): Promise<RankedGarments> {
    const index = await this.indexes.current(request.modelVersionId, this.limits.buildWaitMs);
    const vector = index?.vectorOf(garmentId);
    if (!index || !vector) throw new EmbeddingNotFound(garmentId, request.modelVersionId);
    return this.ranked(index, vector.slice(), request, new Set([garmentId]));
  }

  /**
   * For each of `garmentIds` (the garments of one photo) that has an embedding, its nearest garments
   * outside `garmentIds`; garments without an embedding are absent from the map.
   */
  async lookOf(garmentIds: readonly number[], request: NearestRequest): Promise<Map<number, Neighbour[]>> {
    const index = await this.indexes.current(request.modelVersionId, this.limits.buildWaitMs);
    const matches = new Map<number, Neighbour[]>();
    if (!index) return matches;
    if (request.filter) await this.ids.check(request.filter);
    const exclude = new Set(garmentIds);
    for (const garmentId of garmentIds) {
      const vector = index.vectorOf(garmentId);
      if (vector) matches.set(garmentId, (await this.ranked(index, vector.slice(), request, exclude)).neighbours);
    }
    return matches;
  }

  private async ranked(
    index: GarmentVectorIndex,
    query: Int8Array,
    { filter, offset, count }: NearestRequest,
    exclude: ReadonlySet<number>,
  ): Promise<RankedGarments> {
    const wanted = offset + count + 1; // one more than the page: whether another follows
    const best = filter ? await this.filtered(index, query, filter, wanted, exclude) : this.unfiltered(index, query, wanted, exclude);
    return { neighbours: best.slice(offset, offset + count), hasMore: best.length > offset + count };
  }

  private unfiltered(index: GarmentVectorIndex, query: Int8Array, wanted: number, exclude: ReadonlySet<number>): Neighbour[] {
    return index
      .nearest(query, wanted + exclude.size)
      .filter((neighbour) => !exclude.has(neighbour.garmentId))
      .slice(0, wanted);
  }

  private async filtered(
    index: GarmentVectorIndex,
    query: Int8Array,
    filter: GarmentFilter,
    wanted: number,
    exclude: ReadonlySet<number>,
  ): Promise<Neighbour[]> {
    const { exactLimit, maxCandidates } = this.limits;
    const few = await this.ids.matching(filter, exactLimit + 1);
    if (few.length <= exactLimit) {
      return index.nearestAmong(
        query,
        few.filter((id) => !exclude.has(id)),
        wanted,
      );
    }
    const verdicts = new Map<number, boolean>();
    for (let k = Math.max(4 * wanted, 64); ;) {
      const candidates = index.nearest(query, Math.min(k, maxCandidates)).filter((neighbour) => !exclude.has(neighbour.garmentId));
      const unchecked = candidates.map((neighbour) => neighbour.garmentId).filter((id) => !verdicts.has(id));
      const matching = await this.ids.matchingAmong(filter, unchecked);
      for (const id of unchecked) verdicts.set(id, matching.has(id));
      const accepted = candidates.filter((neighbour) => verdicts.get(neighbour.garmentId));
      if (accepted.length >= wanted || k >= index.size || k >= maxCandidates) return accepted.slice(0, wanted);
      // Ask for as many as the share that matched says are needed, with a margin, at least twice as many.
      const share = Math.max(accepted.length, 1) / Math.max(candidates.length, 1);
      k = Math.max(2 * k, Math.ceil((1.5 * wanted) / share));
    }
  }
}
