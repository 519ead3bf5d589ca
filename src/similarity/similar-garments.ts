/**
 * Nearest garments by appearance, optionally among the garments a filter (GarmentWhere) admits.
 *
 * Without a filter, an index of at most `exactLimit` garments is searched exhaustively too: exact,
 * and since every vector is read, its time scales with their number: 111 ms at p95 for 1 M vectors
 * of 1024 dimensions (bench/RESULTS.md), so about 11 ms at 100,000 (reckoned, not measured). A
 * larger index is searched through its graph.
 *
 * The filter applies inside the search, never to a short list cut beforehand: when at most
 * `exactLimit` garments match, every one of them is compared (exhaustive int8 scan, exact ranking);
 * otherwise the graph search's candidates nearest the query are checked against the filter (against
 * the matches themselves when the bit strings gave them all, else one statement over their ids), and
 * when they hold too few matches (the query's neighbourhood is unlike what the filter admits), every
 * match is compared after all.
 */
import { EVERY_MATCH, type GarmentIdFilter, type MatchingGarments } from '../db/garment-id-filter';
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
  /** Filters matching at most this many garments are searched exhaustively (in blocks of 8 MiB, however many match). */
  exactLimit: number;
}

export const DEFAULT_SIMILARITY_LIMITS: SimilarityLimits = { buildWaitMs: 10_000, exactLimit: 100_000 };

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
    return this.ranked(index, vector.slice(), request, this.matchesOf(request), new Set([garmentId]));
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
    const filterMatches = this.matchesOf(request);
    for (const garmentId of garmentIds) {
      const vector = index.vectorOf(garmentId);
      if (vector) matches.set(garmentId, (await this.ranked(index, vector.slice(), request, filterMatches, exclude)).neighbours);
    }
    return matches;
  }

  private matchesOf({ filter }: NearestRequest): FilterMatches | null {
    return filter ? new FilterMatches(this.ids, filter, this.limits.exactLimit) : null;
  }

  private async ranked(
    index: GarmentVectorIndex,
    query: Int8Array,
    { offset, count }: NearestRequest,
    filterMatches: FilterMatches | null,
    exclude: ReadonlySet<number>,
  ): Promise<RankedGarments> {
    const wanted = offset + count + 1; // one more than the page: whether another follows
    const best = filterMatches
      ? await this.filtered(index, query, filterMatches, wanted, exclude)
      : await this.unfiltered(index, query, wanted, exclude);
    return { neighbours: best.slice(offset, offset + count), hasMore: best.length > offset + count };
  }

  /** Exhaustive (exact) while the index holds no more garments than a filter may match; the graph's answer above. */
  private async unfiltered(
    index: GarmentVectorIndex,
    query: Int8Array,
    wanted: number,
    exclude: ReadonlySet<number>,
  ): Promise<Neighbour[]> {
    const k = wanted + exclude.size;
    return withoutExcluded(
      index.size <= this.limits.exactLimit ? await index.nearestExhaustive(query, k) : index.nearest(query, k),
      exclude,
      wanted,
    );
  }

  private async filtered(
    index: GarmentVectorIndex,
    query: Int8Array,
    filterMatches: FilterMatches,
    wanted: number,
    exclude: ReadonlySet<number>,
  ): Promise<Neighbour[]> {
    // The excluded garments are ranked too and dropped after, rather than copying a long list of matches without them.
    const k = wanted + exclude.size;
    const { ids: first, complete } = await filterMatches.upToExactLimit();
    if (first.length <= this.limits.exactLimit) return withoutExcluded(await index.nearestAmong(query, first, k), exclude, wanted);
    const candidates = nearCandidates(index, query, wanted);
    if (complete) {
      // Every match is in memory (the bit strings answered): the candidates are checked against it, not with a statement.
      return index.withChosen(first, async (chosen) => {
        const near = acceptedNear(candidates, (garmentId) => chosen.has(garmentId), wanted, exclude);
        return near ?? withoutExcluded(await chosen.nearest(query, k), exclude, wanted);
      });
    }
    const matching = await this.ids.matchingAmong(
      filterMatches.filter,
      candidates.map((neighbour) => neighbour.garmentId),
    );
    const near = acceptedNear(candidates, (garmentId) => matching.has(garmentId), wanted, exclude);
    if (near) return near;
    // The query's neighbourhood holds too few matches (the filter admits garments unlike it):
    // every match is compared, so the answer is never a short list.
    return withoutExcluded(await index.nearestAmong(query, await filterMatches.every(), k), exclude, wanted);
  }
}

/**
 * The graph search's candidates nearest the query, of which only the first quarter count: a graph
 * search is reliable near the query and less so at the far end of what it kept, so the matches
 * found there need not be the nearest ones.
 */
function nearCandidates(index: GarmentVectorIndex, query: Int8Array, wanted: number): Neighbour[] {
  const width = Math.max(index.searchWidth, 8 * wanted);
  return index.nearest(query, Math.ceil(width / 4), width);
}

/**
 * The `wanted` nearest matches among the candidates (the excluded aside) when they hold that many,
 * else null: the query's neighbourhood holds too few matches, and every match must be compared.
 */
function acceptedNear(
  candidates: readonly Neighbour[],
  matches: (garmentId: number) => boolean,
  wanted: number,
  exclude: ReadonlySet<number>,
): Neighbour[] | null {
  const accepted = candidates.filter((neighbour) => !exclude.has(neighbour.garmentId) && matches(neighbour.garmentId));
  return accepted.length >= wanted ? accepted.slice(0, wanted) : null;
}

/** The garments one request's filter matches, read at most once however many garments it compares (a photo's). */
class FilterMatches {
  private first?: Promise<MatchingGarments>;
  private all?: Promise<number[]>;

  constructor(
    private readonly ids: GarmentIdFilter,
    readonly filter: GarmentFilter,
    private readonly exactLimit: number,
  ) {}

  /** Every match when there are at most `exactLimit` (or when the bit strings answered), else more than that many. */
  upToExactLimit(): Promise<MatchingGarments> {
    return (this.first ??= this.ids.matchingAtLeast(this.filter, this.exactLimit));
  }

  async every(): Promise<number[]> {
    const first = await this.upToExactLimit();
    return first.complete ? first.ids : (this.all ??= this.ids.matching(this.filter, EVERY_MATCH));
  }
}

/** The first `wanted` of `neighbours` that are not excluded. */
function withoutExcluded(neighbours: Neighbour[], exclude: ReadonlySet<number>, wanted: number): Neighbour[] {
  return neighbours.filter((neighbour) => !exclude.has(neighbour.garmentId)).slice(0, wanted);
}
