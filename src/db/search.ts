/**
 * Garment search: a `GarmentFilter` (the API's GarmentWhere) compiled to one SQL condition over
 * `garments g`, keyset pages, exact counts and facets.
 *
 * Every value condition becomes a test on `g.search_terms` (vocabulary ids of the garment's
 * category, attribute values and its image's styles, GIN-indexed): all single required ids are
 * folded into one `@>` and each any-of list into one `&&`, so PostgreSQL answers an AND of
 * conditions with one GIN bitmap scan. Facets unnest the same arrays of the matching rows.
 */
import { DataSource } from 'typeorm';
import {
  ATTRIBUTE_KINDS,
  AttributeKind,
  GARMENT_ATTRIBUTE_KINDS,
  GarmentAttributeKind,
  MULTI_VALUED_KINDS,
  SuperCategory,
} from '../kfashion/types';
import { englishLabel, LABELS_BY_KIND, resolveValue } from '../kfashion/vocabulary';
import type { LabelSource, Split } from './entities';
import { FacetCounts, SimpleFilter, TermCondition, TermPage } from './search-counts';

/** A request the caller can fix: unknown kind or value, bad cursor, page too large. `field` names the argument. */
export class InvalidSearchInput extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InvalidSearchInput';
  }
}

export interface AttributeCondition {
  kind: string;
  /** The garment has at least one of these values. */
  anyOf?: readonly string[] | null;
  /** The garment has every one of these values (multi-valued kinds, and style). */
  allOf?: readonly string[] | null;
}

/** Kinds that also have a shorthand field in the filter (`color: ["khaki"]` = any of). */
export const SHORTHAND_KINDS = GARMENT_ATTRIBUTE_KINDS.filter((kind) => kind !== 'category');
type ShorthandKind = (typeof SHORTHAND_KINDS)[number];

export type GarmentFilter = {
  superCategory?: readonly SuperCategory[] | null;
  category?: readonly string[] | null;
  attributes?: readonly AttributeCondition[] | null;
  /** The garment's image has any of these styles. */
  styles?: readonly string[] | null;
  split?: Split | null;
  source?: LabelSource | null;
  modelVersionId?: number | string | null;
  /** Detection score at least this (annotations have no score and never match). */
  minScore?: number | null;
  and?: readonly GarmentFilter[] | null;
  or?: readonly GarmentFilter[] | null;
  not?: GarmentFilter | null;
} & { [kind in ShorthandKind]?: readonly string[] | null };

export interface ImageFilter {
  split?: Split | null;
  styles?: readonly string[] | null;
  externalId?: string | null;
  datasetId?: number | null;
  /** Images with at least one garment matching this filter. */
  garments?: GarmentFilter | null;
}

const MAX_FILTER_DEPTH = 6;
const MAX_FILTER_VALUES = 200;
/** Kinds an attribute condition may name: garment kinds plus the image's style kinds. */
const FILTER_KINDS: ReadonlySet<string> = new Set(ATTRIBUTE_KINDS);
const ALL_OF_KINDS: ReadonlySet<string> = new Set([...MULTI_VALUED_KINDS, 'style', 'subStyle']);

export function isAttributeKind(kind: string): kind is AttributeKind {
  return FILTER_KINDS.has(kind);
}

export function assertAttributeKind(field: string, kind: string): asserts kind is AttributeKind {
  if (!isAttributeKind(kind)) {
    throw new InvalidSearchInput(field, `unknown attribute kind "${kind}" (known: ${ATTRIBUTE_KINDS.join(', ')})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary ids

interface VocabularyRow {
  id: number;
  kind: string;
  value: string;
  value_en: string | null;
}

/** Snapshot of the vocabulary table: (kind, value) → id. Small (hundreds of rows). */
export class VocabularyIndex {
  private readonly ids = new Map<string, number>();
  private readonly byKind = new Map<string, number[]>();
  private readonly rows = new Map<number, VocabularyRow>();

  constructor(rows: readonly VocabularyRow[]) {
    for (const row of rows) {
      this.rows.set(row.id, row);
      this.ids.set(`${row.kind}\u0000${row.value}`, row.id);
      const list = this.byKind.get(row.kind) ?? [];
      list.push(row.id);
      this.byKind.set(row.kind, list);
    }
  }

  idOf(kind: string, value: string): number | undefined {
    return this.ids.get(`${kind}\u0000${value}`);
  }

  idsOfKind(kind: string): readonly number[] {
    return this.byKind.get(kind) ?? [];
  }

  entry(id: number): VocabularyRow | undefined {
    return this.rows.get(id);
  }
}

/**
 * Process-wide vocabulary snapshot, refreshed when older than `maxAgeMs`, or sooner when a filter
 * names a value the snapshot lacks (an import may just have added it).
 */
export class VocabularyCache {
  private snapshot?: { index: VocabularyIndex; loadedAt: number };
  private loading?: Promise<VocabularyIndex>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly maxAgeMs = 30_000,
    private readonly minReloadMs = 200,
  ) {}

  async get(): Promise<VocabularyIndex> {
    if (this.snapshot && Date.now() - this.snapshot.loadedAt < this.maxAgeMs) return this.snapshot.index;
    return this.reload();
  }

  /** A fresher snapshot, unless the current one was loaded moments ago. */
  async refreshed(): Promise<VocabularyIndex> {
    if (this.snapshot && Date.now() - this.snapshot.loadedAt < this.minReloadMs) return this.snapshot.index;
    return this.reload();
  }

  private reload(): Promise<VocabularyIndex> {
    this.loading ??= this.dataSource
      .query(`SELECT id, kind, value, value_en FROM vocabulary`)
      .then((rows: VocabularyRow[]) => {
        const index = new VocabularyIndex(rows);
        this.snapshot = { index, loadedAt: Date.now() };
        return index;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}

// ---------------------------------------------------------------------------------------------
// Compiling a filter

/** Collects positional parameters while SQL text is built. */
export class SqlParameters {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

interface ValueRef {
  field: string;
  kind: AttributeKind;
  input: string;
}

/** Resolves filter values to vocabulary ids; `undefined` = a published value absent from this database. */
class ValueResolver {
  constructor(private index: VocabularyIndex) {}

  static async create(cache: VocabularyCache, refs: readonly ValueRef[]): Promise<ValueResolver> {
    let index = await cache.get();
    const missing = (candidate: VocabularyIndex) =>
      refs.some((ref) => candidate.idOf(ref.kind, resolveValue(ref.kind, ref.input)) === undefined);
    if (missing(index)) index = await cache.refreshed();
    return new ValueResolver(index);
  }

  resolve(ref: ValueRef): number | undefined {
    const value = resolveValue(ref.kind, ref.input);
    const id = this.index.idOf(ref.kind, value);
    if (id === undefined && !(value in LABELS_BY_KIND[ref.kind])) {
      throw new InvalidSearchInput(ref.field, `unknown ${ref.kind} value "${ref.input}"`);
    }
    return id;
  }
}

/** Every (kind, value) a filter names, validated for shape, so ids can be resolved in one pass. */
function collectValueRefs(filter: GarmentFilter, field: string, depth: number, out: ValueRef[]): void {
  if (depth > MAX_FILTER_DEPTH) throw new InvalidSearchInput(field, `filters nest at most ${MAX_FILTER_DEPTH} levels`);
  const addAll = (kind: AttributeKind, values: readonly string[] | null | undefined, at: string) =>
    values?.forEach((input, i) => out.push({ field: `${at}[${i}]`, kind, input }));
  addAll('category', filter.category, `${field}.category`);
  addAll('style', filter.styles, `${field}.styles`);
  for (const kind of SHORTHAND_KINDS) addAll(kind, filter[kind], `${field}.${kind}`);
  filter.attributes?.forEach((condition, i) => {
    const at = `${field}.attributes[${i}]`;
    assertAttributeKind(`${at}.kind`, condition.kind);
    if (!condition.anyOf?.length && !condition.allOf?.length) {
      throw new InvalidSearchInput(at, 'give anyOf or allOf with at least one value');
    }
    if ((condition.allOf?.length ?? 0) > 1 && !ALL_OF_KINDS.has(condition.kind)) {
      throw new InvalidSearchInput(
        `${at}.allOf`,
        `${condition.kind} holds one value per garment; allOf applies to ${[...ALL_OF_KINDS].join(', ')}`,
      );
    }
    addAll(condition.kind, condition.anyOf, `${at}.anyOf`);
    addAll(condition.kind, condition.allOf, `${at}.allOf`);
  });
  filter.and?.forEach((sub, i) => collectValueRefs(sub, `${field}.and[${i}]`, depth + 1, out));
  filter.or?.forEach((sub, i) => collectValueRefs(sub, `${field}.or[${i}]`, depth + 1, out));
  if (filter.not) collectValueRefs(filter.not, `${field}.not`, depth + 1, out);
  if (out.length > MAX_FILTER_VALUES) throw new InvalidSearchInput(field, `at most ${MAX_FILTER_VALUES} values per filter`);
}

class FilterCompiler {
  /** Terms every match must carry (the top level's `@>`): a hint for the plan, see searchGarments. */
  requiredTerms: number[] = [];
  /** The whole filter as term conditions, when it is nothing else (then the term bits answer it). */
  termCondition: TermCondition | null = null;

  constructor(
    private readonly resolver: ValueResolver,
    private readonly params: SqlParameters,
    private readonly alias: string,
  ) {}

  compile(filter: GarmentFilter, field: string): string {
    const g = this.alias;
    // Resolve every value first: a condition no garment can meet makes the level FALSE before
    // any parameter is added (an unused parameter has no type PostgreSQL could infer).
    const required: number[] = [];
    const overlaps: number[][] = [];
    let impossible = false;
    const anyOf = (kind: AttributeKind, values: readonly string[] | null | undefined, at: string) => {
      if (!values?.length) return;
      const ids = this.ids(kind, values, at);
      if (ids.length === 0) impossible = true;
      else if (ids.length === 1) required.push(ids[0]);
      else overlaps.push(ids);
    };
    const allOf = (kind: AttributeKind, values: readonly string[] | null | undefined, at: string) => {
      if (!values?.length) return;
      const ids = this.ids(kind, values, at);
      if (ids.length < new Set(values.map((value) => resolveValue(kind, value))).size) impossible = true;
      required.push(...ids);
    };
    anyOf('category', filter.category, `${field}.category`);
    anyOf('style', filter.styles, `${field}.styles`);
    for (const kind of SHORTHAND_KINDS) anyOf(kind, filter[kind], `${field}.${kind}`);
    filter.attributes?.forEach((condition, i) => {
      const kind = condition.kind as AttributeKind;
      anyOf(kind, condition.anyOf, `${field}.attributes[${i}].anyOf`);
      allOf(kind, condition.allOf, `${field}.attributes[${i}].allOf`);
    });
    if (impossible) return 'FALSE';
    if (field === 'where') {
      this.requiredTerms = [...new Set(required)];
      if (isTermsOnly(filter) && (required.length || overlaps.length)) {
        this.termCondition = { allOf: this.requiredTerms, anyOf: overlaps };
      }
    }

    const clauses: string[] = [];
    if (filter.superCategory?.length) {
      clauses.push(`${g}.super_category = ANY(${this.params.add([...filter.superCategory])}::text[])`);
    }
    if (required.length) clauses.push(`${g}.search_terms @> ${this.params.add([...new Set(required)])}::int[]`);
    for (const ids of overlaps) clauses.push(`${g}.search_terms && ${this.params.add(ids)}::int[]`);
    if (filter.split) clauses.push(`${g}.split = ${this.params.add(filter.split)}`);
    if (filter.source) clauses.push(`${g}.source = ${this.params.add(filter.source)}`);
    if (filter.modelVersionId !== undefined && filter.modelVersionId !== null) {
      clauses.push(`${g}.model_version_id = ${this.params.add(parseId(`${field}.modelVersionId`, filter.modelVersionId))}`);
    }
    if (filter.minScore !== undefined && filter.minScore !== null) {
      clauses.push(`${g}.score >= ${this.params.add(filter.minScore)}`);
    }
    filter.and?.forEach((sub, i) => clauses.push(`(${this.compile(sub, `${field}.and[${i}]`)})`));
    if (filter.or?.length) {
      clauses.push(`(${filter.or.map((sub, i) => `(${this.compile(sub, `${field}.or[${i}]`)})`).join(' OR ')})`);
    }
    // COALESCE: a NULL (garment without split or score) fails the inner filter, so NOT keeps it.
    if (filter.not) clauses.push(`NOT COALESCE((${this.compile(filter.not, `${field}.not`)}), FALSE)`);
    return clauses.length ? clauses.join(' AND ') : 'TRUE';
  }

  private ids(kind: AttributeKind, values: readonly string[], at: string): number[] {
    const ids = values.map((input, i) => this.resolver.resolve({ field: `${at}[${i}]`, kind, input }));
    return [...new Set(ids.filter((id): id is number => id !== undefined))];
  }
}

/** True when `filter` has value conditions only (no super-category, split, source, model, score or nesting). */
function isTermsOnly(filter: GarmentFilter): boolean {
  const others = [filter.split, filter.source, filter.modelVersionId, filter.minScore, filter.not];
  return !filter.superCategory?.length && !filter.and?.length && !filter.or?.length && others.every((v) => v === undefined || v === null);
}

function parseId(field: string, id: number | string): number {
  const text = String(id);
  if (!/^\d{1,15}$/.test(text)) throw new InvalidSearchInput(field, `"${text}" is not an id`);
  return Number(text);
}

/** SQL condition over `garments <alias>` for `filter`, with its parameters appended to `params`. */
export async function compileGarmentFilter(
  cache: VocabularyCache,
  filter: GarmentFilter | null | undefined,
  params: SqlParameters,
  field = 'where',
  alias = 'g',
): Promise<string> {
  return (await compileGarmentFilterWithTerms(cache, filter, params, field, alias)).condition;
}

async function compileGarmentFilterWithTerms(
  cache: VocabularyCache,
  filter: GarmentFilter | null | undefined,
  params: SqlParameters,
  field = 'where',
  alias = 'g',
): Promise<{ condition: string; requiredTerms: number[]; termCondition: TermCondition | null }> {
  if (!filter) return { condition: 'TRUE', requiredTerms: [], termCondition: null };
  const refs: ValueRef[] = [];
  collectValueRefs(filter, field, 0, refs);
  const resolver = await ValueResolver.create(cache, refs);
  const compiler = new FilterCompiler(resolver, params, alias);
  const condition = compiler.compile(filter, field);
  return { condition, requiredTerms: compiler.requiredTerms, termCondition: compiler.termCondition };
}

/**
 * Below this many possible matches a page is always read from the GIN bitmap and sorted; above
 * it the planner chooses (walking the primary key fills a page of 50 after ~50 × 1M / matches
 * rows, about as costly as visiting every match once there are a few thousand of them).
 */
const BITMAP_PAGE_LIMIT = 5_000;

async function compileImageFilter(
  cache: VocabularyCache,
  filter: ImageFilter | null | undefined,
  params: SqlParameters,
  field = 'where',
): Promise<string> {
  if (!filter) return 'TRUE';
  const clauses: string[] = [];
  if (filter.split) clauses.push(`i.split = ${params.add(filter.split)}`);
  if (filter.externalId) clauses.push(`i.external_id = ${params.add(filter.externalId)}`);
  if (filter.datasetId !== undefined && filter.datasetId !== null) clauses.push(`i.dataset_id = ${params.add(filter.datasetId)}`);
  if (filter.styles?.length) {
    const refs = filter.styles.map((input, i) => ({ field: `${field}.styles[${i}]`, kind: 'style' as const, input }));
    const resolver = await ValueResolver.create(cache, refs);
    const ids = refs.map((ref) => resolver.resolve(ref)).filter((id): id is number => id !== undefined);
    clauses.push(
      `EXISTS (SELECT 1 FROM image_styles s WHERE s.image_id = i.id AND s.style_id = ANY(${params.add(ids)}::int[]))`,
    );
  }
  if (filter.garments) {
    const condition = await compileGarmentFilter(cache, filter.garments, params, `${field}.garments`, 'g');
    clauses.push(`EXISTS (SELECT 1 FROM garments g WHERE g.image_id = i.id AND ${condition})`);
  }
  return clauses.length ? clauses.join(' AND ') : 'TRUE';
}

/**
 * The filter as (split, source, super-category, one term) when it is that simple, else null:
 * such filters can be answered from the precomputed counts. Call after compiling (which validates).
 */
export async function simpleFilterOf(
  cache: VocabularyCache,
  filter: GarmentFilter | null | undefined,
): Promise<SimpleFilter | null> {
  const simple: SimpleFilter = { split: null, source: null, superCategory: null, term: 0 };
  if (!filter) return simple;
  if (filter.and?.length || filter.or?.length || filter.not) return null;
  if ((filter.modelVersionId ?? null) !== null || (filter.minScore ?? null) !== null) return null;
  if ((filter.superCategory?.length ?? 0) > 1) return null;
  const refs: ValueRef[] = [];
  collectValueRefs(filter, 'where', 0, refs);
  if (refs.length > 1) return null;
  if (refs.length === 1) {
    const id = (await ValueResolver.create(cache, refs)).resolve(refs[0]);
    if (id === undefined) return null;
    simple.term = id;
  }
  simple.split = filter.split ?? null;
  simple.source = filter.source ?? null;
  simple.superCategory = filter.superCategory?.[0] ?? null;
  return simple;
}

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
}

export const GARMENT_COLUMNS = `g.id, g.image_id, g.super_category, c.value AS category, g.x1, g.y1, g.x2, g.y2,
  g.polygon, g.source, g.model_version_id, g.score`;
export const IMAGE_COLUMNS = `i.id, i.dataset_id, i.external_id, i.file_name, i.image_path, i.width, i.height, i.split`;

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
  count(): Promise<number>;
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
    const countInPage = bitmap && !page.afterId && page.withCount === true;
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
