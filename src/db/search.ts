/**
 * Garment search: keyset pages of garments and images matching a compiled filter (search-filter.ts),
 * exact counts (from the precomputed counts and term bits of search-counts.ts when they are fresh,
 * else live) and facets, which unnest the matching rows' search_terms.
 */
import { DataSource } from 'typeorm';
import type { AttributeKind, GarmentAttributeKind, SuperCategory } from '../kfashion/types';
import { englishLabel } from '../kfashion/vocabulary';
import type { LabelSource, Split } from './entities';
import { FacetCounts, SimpleFilter, TermPage } from './search-counts';
import {
  assertAttributeKind,
  compileGarmentFilter,
  compileGarmentFilterWithTerms,
  compileImageFilter,
  isAttributeKind,
  simpleFilterOf,
  SqlParameters,
  type GarmentFilter,
  type ImageFilter,
} from './search-filter';
import { VocabularyCache } from './search-vocabulary';

/**
 * Below this many possible matches a page is always read from the GIN bitmap and sorted; above
 * it the planner chooses (walking the primary key fills a page of 50 after ~50 × 1M / matches
 * rows, about as costly as visiting every match once there are a few thousand of them).
 */
const BITMAP_PAGE_LIMIT = 5_000;

// ---------------------------------------------------------------------------------------------
// Queries

export interface GarmentRow {
  id: string;
  image_id: string;
  super_category: SuperCategory;
  category: string | null;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  polygon: number[] | null;
  source: LabelSource;
  model_version_id: number | null;
  score: number | null;
  /** Bumped by every edit (src/db/garment-edits.ts). */
  revision: number;
  /** When a person last changed it; null: as imported or predicted. */
  edited_at: Date | null;
}

export interface ImageRow {
  id: string;
  dataset_id: number | null;
  external_id: string | null;
  file_name: string;
  image_path: string | null;
  width: number;
  height: number;
  split: Split | null;
  /** When a person marked it reviewed; null: not reviewed. */
  reviewed_at: Date | null;
}

export const GARMENT_COLUMNS = `g.id, g.image_id, g.super_category, c.value AS category, g.x1, g.y1, g.x2, g.y2,
  g.polygon, g.source, g.model_version_id, g.score, g.revision, g.edited_at`;
export const IMAGE_COLUMNS = `i.id, i.dataset_id, i.external_id, i.file_name, i.image_path, i.width, i.height, i.split, i.reviewed_at`;

export interface PageRequest {
  /** Rows wanted (validated by the caller against the page-size limit). */
  first: number;
  /** Return rows with id greater than this (keyset position from the cursor). */
  afterId?: string | null;
  /** The caller will ask for `count()` (lets a search count while it reads the page). */
  withCount?: boolean;
}

export interface Page<Row> {
  rows: Row[];
  hasNextPage: boolean;
  /** Exact number of matches; runs only when asked for. */
  count: () => Promise<number>;
}

/** Keyset page over a table ordered by id: fetch one row more than asked to learn whether a next page exists. */
async function keysetPage<Row extends { id: string }>(
  dataSource: DataSource,
  pageSql: (afterParam: string, limitParam: string) => string,
  countSql: string,
  params: SqlParameters,
  page: PageRequest,
): Promise<Page<Row>> {
  const pageParams = new SqlParameters();
  pageParams.values.push(...params.values);
  const sql = pageSql(pageParams.add(page.afterId ?? '0'), pageParams.add(page.first + 1));
  const rows: Row[] = await dataSource.query(sql, pageParams.values);
  let counted: Promise<number> | undefined;
  return {
    rows: rows.slice(0, page.first),
    hasNextPage: rows.length > page.first,
    count: () => {
      counted ??= dataSource.query(countSql, params.values).then((result: { n: number }[]) => result[0].n);
      return counted;
    },
  };
}

/** Images `firstId`..`lastId` (inclusive) of a filter: `count` of them match. */
export interface ImageIdRange {
  firstId: string;
  lastId: string;
  count: number;
}

export class SearchService {
  readonly vocabulary: VocabularyCache;

  constructor(
    readonly dataSource: DataSource,
    vocabulary?: VocabularyCache,
    /** Precomputed counts for broad filters; without them every count runs live. */
    readonly counts?: FacetCounts,
  ) {
    this.vocabulary = vocabulary ?? new VocabularyCache(dataSource);
  }

  async searchGarments(filter: GarmentFilter | null | undefined, page: PageRequest): Promise<Page<GarmentRow>> {
    const params = new SqlParameters();
    const { condition, requiredTerms, termCondition } = await compileGarmentFilterWithTerms(this.vocabulary, filter, params);
    const matches =
      termCondition && this.counts ? await this.counts.termMatches(termCondition, Number(page.afterId ?? 0), page.first + 1) : null;
    if (matches) return this.pageOfTermMatches(matches, condition, params, page);
    const simple = this.counts ? await simpleFilterOf(this.vocabulary, filter) : null;
    const bitmap = requiredTerms.length > 0 && (await this.readPageFromBitmap(requiredTerms, simple, page));
    // A first page read from the bitmap visits every match anyway (to sort them): count them on
    // the way (a window over all matches, evaluated before the LIMIT) instead of a second scan.
    // Not for `first: 0`: the page then keeps no row to carry the count.
    const countInPage = bitmap && !page.afterId && page.withCount === true && page.first > 0;
    const result = await keysetPage<GarmentRow & { matches?: number }>(
      this.dataSource,
      (after, limit) => `WITH page AS (
          SELECT g.id${countInPage ? ', count(*) OVER ()::int AS matches' : ''} FROM garments g
           WHERE (${condition}) AND g.id > ${after}::bigint ORDER BY ${bitmap ? 'g.id + 0' : 'g.id'} LIMIT ${limit})
        SELECT ${GARMENT_COLUMNS}${countInPage ? ', page.matches' : ''} FROM page JOIN garments g USING (id)
          LEFT JOIN vocabulary c ON c.id = g.category_id ORDER BY g.id`,
      `SELECT count(*)::int AS n FROM garments g WHERE ${condition}`,
      params,
      page,
    );
    const liveCount = result.count;
    const matchesInPage = countInPage ? (result.rows[0]?.matches ?? 0) : null;
    let counted: Promise<number> | undefined;
    const count = async () => {
      if (matchesInPage !== null) return matchesInPage;
      const precomputed = simple ? await this.counts!.count(simple) : null;
      return precomputed ?? liveCount();
    };
    return { ...result, count: () => (counted ??= count()) };
  }

  /**
   * A page whose ids come from the term bits: only its rows are read (by primary key), and the
   * count is the number of bits set. The rows are checked against the filter once more, so a
   * garment changed since the bits were read is left out rather than shown wrongly.
   */
  private async pageOfTermMatches(
    matches: TermPage,
    condition: string,
    params: SqlParameters,
    page: PageRequest,
  ): Promise<Page<GarmentRow>> {
    const ids = matches.ids;
    const pageParams = new SqlParameters();
    pageParams.values.push(...params.values);
    const rows: GarmentRow[] = ids.length
      ? await this.dataSource.query(
          `SELECT ${GARMENT_COLUMNS} FROM garments g LEFT JOIN vocabulary c ON c.id = g.category_id
            WHERE g.id = ANY(${pageParams.add(ids.slice(0, page.first))}::bigint[]) AND (${condition}) ORDER BY g.id`,
          pageParams.values,
        )
      : [];
    return { rows, hasNextPage: ids.length > page.first, count: async () => matches.count };
  }

  /**
   * Whether to read a page by sorting the GIN bitmap's matches (`ORDER BY g.id + 0`) rather than
   * walking the primary key in order and filtering. The planner estimates an AND of terms as if
   * they were independent; for terms that rarely or never occur together it picks the walk and
   * then filters up to every row. The bitmap is right whenever its matches must all be visited
   * anyway (a first page whose totalCount is wanted and cannot come from the precomputed counts),
   * or when the pair counts bound the matches below BITMAP_PAGE_LIMIT.
   */
  private async readPageFromBitmap(requiredTerms: number[], simple: SimpleFilter | null, page: PageRequest): Promise<boolean> {
    if (page.withCount && !page.afterId && !simple) return true;
    const bound = this.counts ? await this.counts.upperBound(requiredTerms) : null;
    return bound !== null && bound <= BITMAP_PAGE_LIMIT;
  }

  async images(filter: ImageFilter | null | undefined, page: PageRequest): Promise<Page<ImageRow>> {
    const params = new SqlParameters();
    const condition = await compileImageFilter(this.vocabulary, filter, params);
    return keysetPage<ImageRow>(
      this.dataSource,
      (after, limit) =>
        `SELECT ${IMAGE_COLUMNS} FROM images i WHERE (${condition}) AND i.id > ${after}::bigint ORDER BY i.id LIMIT ${limit}`,
      `SELECT count(*)::int AS n FROM images i WHERE ${condition}`,
      params,
      page,
    );
  }

  /**
   * The ids of the images matching `filter`, in id order, cut into consecutive ranges of `size`
   * images (the chunks of a batch prediction): one scan, numbered by a window function.
   */
  async imageIdRanges(filter: ImageFilter | null | undefined, size: number): Promise<ImageIdRange[]> {
    const params = new SqlParameters();
    const condition = await compileImageFilter(this.vocabulary, filter, params);
    const rows: { first_id: string; last_id: string; count: number }[] = await this.dataSource.query(
      `SELECT min(id)::text AS first_id, max(id)::text AS last_id, count(*)::int AS count
         FROM (SELECT i.id, (row_number() OVER (ORDER BY i.id) - 1) / ${params.add(size)}::int AS chunk
                 FROM images i WHERE ${condition}) numbered
        GROUP BY chunk ORDER BY chunk`,
      params.values,
    );
    return rows.map((row) => ({ firstId: row.first_id, lastId: row.last_id, count: row.count }));
  }

  /**
   * Counts of each value of `kinds` among the garments matching `filter`, most frequent first
   * (ties by value). Broad filters are answered from the precomputed counts when those are current.
   */
  async garmentFacets(filter: GarmentFilter | null | undefined, kinds: readonly string[]): Promise<Facet[]> {
    kinds.forEach((kind, i) => assertAttributeKind(`kinds[${i}]`, kind));
    const params = new SqlParameters();
    const condition = await compileGarmentFilter(this.vocabulary, filter, params);
    const index = await this.vocabulary.refreshed();
    const termIds = kinds.flatMap((kind) => index.idsOfKind(kind));
    const simple = this.counts && termIds.length ? await simpleFilterOf(this.vocabulary, filter) : null;
    const precomputed = simple ? await this.counts!.facetCounts(simple, termIds) : null;
    const rows = (
      precomputed
        ? [...precomputed].filter(([, n]) => n > 0).map(([term, n]) => ({ ...index.entry(term)!, n }))
        : await this.liveFacetRows(condition, params, termIds)
    ).sort((x, y) => y.n - x.n || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0));
    return kinds.map((kind) => ({
      kind,
      values: rows
        .filter((row) => row.kind === kind)
        .map((row) => ({
          value: row.value,
          valueEn: row.value_en ?? englishLabel(kind as AttributeKind, row.value),
          count: row.n,
        })),
    }));
  }

  private async liveFacetRows(
    condition: string,
    params: SqlParameters,
    termIds: readonly number[],
  ): Promise<{ kind: string; value: string; value_en: string | null; n: number }[]> {
    const rows: { kind: string; value: string; value_en: string | null; n: number }[] = termIds.length
      ? await this.dataSource.query(
          `SELECT v.kind, v.value, v.value_en, f.n
             FROM (SELECT t.term, count(*)::int AS n
                     FROM garments g CROSS JOIN LATERAL unnest(g.search_terms) AS t(term)
                    WHERE (${condition}) AND t.term = ANY(${params.add([...termIds])}::int[])
                    GROUP BY t.term) f
             JOIN vocabulary v ON v.id = f.term`,
          params.values,
        )
      : [];
    return rows;
  }

  /** Vocabulary values of one kind (or all), most frequent first, with English labels. */
  async vocabularyEntries(kind?: string | null): Promise<VocabularyListing[]> {
    if (kind) assertAttributeKind('kind', kind);
    const rows: { kind: string; value: string; value_en: string | null; count: number }[] = await this.dataSource.query(
      `SELECT kind, value, value_en, count FROM vocabulary
        WHERE ($1::text IS NULL OR kind = $1) ORDER BY kind, count DESC, value`,
      [kind ?? null],
    );
    return rows.map((row) => ({
      kind: row.kind,
      value: row.value,
      valueEn: row.value_en ?? (isAttributeKind(row.kind) ? englishLabel(row.kind, row.value) : null),
      count: row.count,
    }));
  }
}

export interface FacetValue {
  value: string;
  valueEn: string | null;
  count: number;
}

export interface Facet {
  kind: string;
  values: FacetValue[];
}

export interface VocabularyListing {
  kind: string;
  value: string;
  valueEn: string | null;
  count: number;
}

export type { GarmentAttributeKind };
