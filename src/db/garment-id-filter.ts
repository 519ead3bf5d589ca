/**
 * The garment filter (search-filter.ts, the API's GarmentWhere) as sets of garment ids, for the
 * similarity search: which of some candidate garments match, and all matching garments when there
 * are few of them.
 */
import { DataSource } from 'typeorm';
import { compileGarmentFilter, SqlParameters, type GarmentFilter } from './search-filter';
import type { VocabularyCache } from './search-vocabulary';

export class GarmentIdFilter {
  constructor(
    private readonly dataSource: DataSource,
    private readonly vocabulary: VocabularyCache,
  ) {}

  /** Validates the filter (InvalidSearchInput naming the field) without reading a garment. */
  async check(filter: GarmentFilter): Promise<void> {
    await compileGarmentFilter(this.vocabulary, filter, new SqlParameters());
  }

  /** The ids of up to `limit` garments matching `filter` (all of them when fewer come back). */
  async matching(filter: GarmentFilter, limit: number): Promise<number[]> {
    const params = new SqlParameters();
    const condition = await compileGarmentFilter(this.vocabulary, filter, params);
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT g.id FROM garments g WHERE ${condition} LIMIT ${params.add(limit)}`,
      params.values,
    );
    return rows.map((row) => Number(row.id));
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
