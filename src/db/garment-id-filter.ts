/**
 * The garment filter (search-filter.ts, the API's GarmentWhere) as sets of garment ids, for the
 * similarity search: which of some candidate garments match, and the matching garments themselves.
 *
 * A filter made only of value, split, source and super-category conditions is answered from the
 * bit strings when they are current (search-counts.ts: one statement, about max id / 8 bytes,
 * however many garments match); any other filter, or stale bits, reads the ids with its SQL condition.
 */
import { DataSource } from 'typeorm';
import type { FacetCounts } from './search-counts';
import { compileGarmentFilter, compileGarmentFilterWithTerms, SqlParameters, type GarmentFilter } from './search-filter';
import type { VocabularyCache } from './search-vocabulary';

/** A `limit` of `matching` no filter reaches: every match (the bit strings' and PostgreSQL's int limit). */
export const EVERY_MATCH = 2 ** 31 - 1;

export interface MatchingGarments {
  ids: number[];
  /** `ids` holds every match (else only as many as were asked for were read). */
  complete: boolean;
}

export class GarmentIdFilter {
  constructor(
    private readonly dataSource: DataSource,
    private readonly vocabulary: VocabularyCache,
    /** The precomputed counts whose bit strings answer value, split, source and super-category filters; without them every filter runs as SQL. */
    private readonly counts?: FacetCounts,
  ) {}

  /** Validates the filter (InvalidSearchInput naming the field) without reading a garment. */
  async check(filter: GarmentFilter): Promise<void> {
    await compileGarmentFilter(this.vocabulary, filter, new SqlParameters());
  }

  /** The ids of up to `limit` garments matching `filter` (all of them when fewer come back). */
  async matching(filter: GarmentFilter, limit: number): Promise<number[]> {
    return (await this.read(filter, limit, limit)).ids;
  }

  /**
   * The garments matching `filter`, at least `limit` of them when there are more: every one when
   * the bit strings answer (one statement, whatever their number), else up to `limit` + 1 read with SQL.
   */
  matchingAtLeast(filter: GarmentFilter, limit: number): Promise<MatchingGarments> {
    return this.read(filter, EVERY_MATCH, limit + 1);
  }

  private async read(filter: GarmentFilter, bitsLimit: number, sqlLimit: number): Promise<MatchingGarments> {
    const params = new SqlParameters();
    const { condition, bitsCondition } = await compileGarmentFilterWithTerms(this.vocabulary, filter, params);
    const fromBits = bitsCondition && this.counts ? await this.counts.termMatches(bitsCondition, 0, bitsLimit) : null;
    if (fromBits) return { ids: fromBits.ids, complete: fromBits.ids.length >= fromBits.count };
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT g.id FROM garments g WHERE ${condition} LIMIT ${params.add(sqlLimit)}`,
      params.values,
    );
    return { ids: rows.map((row) => Number(row.id)), complete: rows.length < sqlLimit };
  }

  /** Those of `ids` whose garments match `filter`. */
  async matchingAmong(filter: GarmentFilter, ids: readonly number[]): Promise<Set<number>> {
    if (!ids.length) return new Set();
    const params = new SqlParameters();
    const condition = await compileGarmentFilter(this.vocabulary, filter, params);
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT g.id FROM garments g WHERE g.id = ANY(${params.add(ids)}::bigint[]) AND (${condition})`,
      params.values,
    );
    return new Set(rows.map((row) => Number(row.id)));
  }
}
