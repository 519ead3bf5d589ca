/**
 * A `GarmentFilter` (the API's GarmentWhere) or `ImageFilter` compiled to one SQL condition.
 *
 * Every value condition becomes a test on `g.search_terms` (vocabulary ids of the garment's
 * category, attribute values and its image's styles, GIN-indexed): all single required ids are
 * folded into one `@>` and each any-of list into one `&&`, so PostgreSQL answers an AND of
 * conditions with one GIN bitmap scan. Value names are resolved through the vocabulary snapshot;
 * unknown kinds, values and ids are the caller's error (InvalidSearchInput, naming the field).
 */
import { ATTRIBUTE_KINDS, AttributeKind, GARMENT_ATTRIBUTE_KINDS, MULTI_VALUED_KINDS, SuperCategory } from '../kfashion/types';
import { isPublishedValue, resolveValue } from '../kfashion/vocabulary';
import { parsePositiveId } from '../util/ids';
import type { LabelSource, Split } from './entities';
import { dimensionBitKey, type SimpleFilter, type TermCondition } from './search-counts';
import type { VocabularyCache, VocabularyIndex } from './search-vocabulary';

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
  /** Reviewed by a person (true) or not (false). */
  reviewed?: boolean | null;
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

/** Collects positional parameters while SQL text is built. */
export class SqlParameters {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface ValueRef {
  field: string;
  kind: AttributeKind;
  input: string;
}

/** Resolves filter values to vocabulary ids; `undefined` = a published value absent from this database. */
export class ValueResolver {
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
    if (id === undefined && !isPublishedValue(ref.kind, value)) {
      throw new InvalidSearchInput(ref.field, `unknown ${ref.kind} value "${ref.input}"`);
    }
    return id;
  }

  /** The value as stored (Korean) that `ref` names: a published value or one this database holds, else InvalidSearchInput. */
  storedValue(ref: ValueRef): string {
    this.resolve(ref);
    return resolveValue(ref.kind, ref.input);
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
  /** The whole filter as term and dimension-value conditions (split, source, super-category), when it is nothing else. */
  bitsCondition: TermCondition | null = null;

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
      this.bitsCondition = bitsConditionOf(filter, this.requiredTerms, overlaps);
      // Search pages and counts by the terms alone: a split, source or super-category keeps to its plans.
      const namesDimension = filter.split || filter.source || filter.superCategory?.length;
      this.termCondition = namesDimension ? null : this.bitsCondition;
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
      clauses.push(`${g}.model_version_id = ${this.params.add(modelVersionKey(`${field}.modelVersionId`, filter.modelVersionId))}`);
    }
    if (filter.minScore !== undefined && filter.minScore !== null) {
      clauses.push(`${g}.score >= ${this.params.add(detectionScore(`${field}.minScore`, filter.minScore))}`);
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

/** The filter as terms and dimension keys, when it has value, split, source and super-category conditions only (at least one). */
function bitsConditionOf(filter: GarmentFilter, required: number[], overlaps: number[][]): TermCondition | null {
  const others = [filter.modelVersionId, filter.minScore, filter.not];
  if (filter.and?.length || filter.or?.length || others.some((v) => v !== undefined && v !== null)) return null;
  const allOf = [...required];
  const anyOf = [...overlaps];
  if (filter.split) allOf.push(dimensionBitKey('split', filter.split));
  if (filter.source) allOf.push(dimensionBitKey('source', filter.source));
  const superCategories = [...new Set(filter.superCategory ?? [])].map((value) => dimensionBitKey('superCategory', value));
  if (superCategories.length === 1) allOf.push(superCategories[0]);
  else if (superCategories.length > 1) anyOf.push(superCategories);
  return allOf.length || anyOf.length ? { allOf, anyOf } : null;
}

/** A detection score bound: from 0 to 1, as scores are (the column is a float4, which 1e308 overflows). */
function detectionScore(field: string, score: number): number {
  if (!(score >= 0 && score <= 1)) throw new InvalidSearchInput(field, `must be from 0 to 1 (got ${score})`);
  return score;
}

/** A model version id (an integer column): digits within its range, else the caller's error. */
function modelVersionKey(field: string, id: number | string): number {
  const key = parsePositiveId(String(id));
  if (key === null) throw new InvalidSearchInput(field, `"${id}" is not a model version id`);
  return key;
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

export async function compileGarmentFilterWithTerms(
  cache: VocabularyCache,
  filter: GarmentFilter | null | undefined,
  params: SqlParameters,
  field = 'where',
  alias = 'g',
): Promise<{ condition: string; requiredTerms: number[]; termCondition: TermCondition | null; bitsCondition: TermCondition | null }> {
  if (!filter) return { condition: 'TRUE', requiredTerms: [], termCondition: null, bitsCondition: null };
  const refs: ValueRef[] = [];
  collectValueRefs(filter, field, 0, refs);
  const resolver = await ValueResolver.create(cache, refs);
  const compiler = new FilterCompiler(resolver, params, alias);
  const condition = compiler.compile(filter, field);
  return { condition, requiredTerms: compiler.requiredTerms, termCondition: compiler.termCondition, bitsCondition: compiler.bitsCondition };
}

export async function compileImageFilter(
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
  if (filter.reviewed === true) clauses.push(`i.reviewed_at IS NOT NULL`);
  if (filter.reviewed === false) clauses.push(`i.reviewed_at IS NULL`);
  if (filter.styles?.length) {
    const refs = filter.styles.map((input, i) => ({ field: `${field}.styles[${i}]`, kind: 'style' as const, input }));
    const resolver = await ValueResolver.create(cache, refs);
    const ids = refs.map((ref) => resolver.resolve(ref)).filter((id): id is number => id !== undefined);
    clauses.push(`EXISTS (SELECT 1 FROM image_styles s WHERE s.image_id = i.id AND s.style_id = ANY(${params.add(ids)}::int[]))`);
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
export async function simpleFilterOf(cache: VocabularyCache, filter: GarmentFilter | null | undefined): Promise<SimpleFilter | null> {
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
