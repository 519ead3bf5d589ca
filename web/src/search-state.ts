/**
 * The search as a value: read from and written to the URL's query string (so a search can be
 * shared and reloaded) and turned into the API's GarmentWhere. Values within a kind are OR-ed
 * (the `anyOf` shorthand fields), kinds are AND-ed (fields of one GarmentWhere).
 */
import type { GarmentWhere, LabelSource, Split } from './gql/graphql';

export type Source = LabelSource;
export type { Split };

/** The GarmentWhere fields that take a list of any-of values. */
type AnyOfField = { [K in keyof GarmentWhere]-?: NonNullable<GarmentWhere[K]> extends readonly string[] ? K : never }[keyof GarmentWhere];

export interface FacetKind {
  /** Query-string key and API attribute kind (superCategory is the garment slot, not an attribute). */
  key: string;
  label: string;
  /** GarmentWhere field that takes any-of values for this kind. */
  whereField: AnyOfField;
}

export const SUPER_CATEGORY_KEY = 'superCategory';

export const FACET_KINDS: readonly FacetKind[] = [
  { key: SUPER_CATEGORY_KEY, label: 'Garment slot', whereField: 'superCategory' },
  { key: 'category', label: 'Category', whereField: 'category' },
  { key: 'color', label: 'Colour', whereField: 'color' },
  { key: 'material', label: 'Material', whereField: 'material' },
  { key: 'print', label: 'Print', whereField: 'print' },
  { key: 'fit', label: 'Fit', whereField: 'fit' },
  { key: 'length', label: 'Length', whereField: 'length' },
  { key: 'sleeveLength', label: 'Sleeve length', whereField: 'sleeveLength' },
  { key: 'neckline', label: 'Neckline', whereField: 'neckline' },
  { key: 'collar', label: 'Collar', whereField: 'collar' },
  { key: 'detail', label: 'Detail', whereField: 'detail' },
  { key: 'style', label: 'Style', whereField: 'styles' },
];

/** The four K-Fashion garment slots: enum value, Korean name, English label. */
export const SUPER_CATEGORIES = [
  { value: 'TOP', korean: '상의', english: 'top' },
  { value: 'BOTTOM', korean: '하의', english: 'bottom' },
  { value: 'OUTER', korean: '아우터', english: 'outer' },
  { value: 'ONE_PIECE', korean: '원피스', english: 'one-piece' },
] as const;

/**
 * Where the predictions view starts: an untrained or young model scores most boxes at 5–20 %, and a
 * wall of those hides the few it is sure of. 0 shows every stored prediction.
 */
export const DEFAULT_MIN_SCORE = 0.5;

export interface SearchState {
  /** Selected values per facet key (Korean as stored; enum names for superCategory). */
  selected: Record<string, string[]>;
  source: Source;
  modelVersionId: string | null;
  /** Predictions only: the lowest detection score shown, 0–1. */
  minScore: number;
  split: Split | null;
}

const FACET_KEYS = new Set(FACET_KINDS.map((kind) => kind.key));

export function emptySearch(): SearchState {
  return { selected: {}, source: 'ANNOTATION', modelVersionId: null, minScore: DEFAULT_MIN_SCORE, split: null };
}

/** Whether a text (the URL's or the input's) is a minimum score: a number from 0 to 1. */
export function isMinScore(text: string | null): boolean {
  if (text === null || text.trim() === '') return false;
  const value = Number(text);
  return value >= 0 && value <= 1;
}

export function parseSearch(query: string): SearchState {
  const params = new URLSearchParams(query);
  const state = emptySearch();
  for (const key of FACET_KEYS) {
    const values = [...new Set(params.getAll(key).filter((value) => value !== ''))];
    if (values.length) state.selected[key] = values;
  }
  if (params.get('source') === 'PREDICTION') state.source = 'PREDICTION';
  const model = params.get('model');
  // A ModelVersion's global id (opaque base64url text); anything else is ignored.
  if (model && /^[A-Za-z0-9_-]{1,64}$/.test(model)) state.modelVersionId = model;
  const minScore = params.get('minScore');
  if (isMinScore(minScore)) state.minScore = Number(minScore);
  const split = params.get('split');
  if (split === 'TRAIN' || split === 'VALIDATION') state.split = split;
  return state;
}

/** Query string (with the leading `?`, or empty) in a stable order: facet order, then source options. */
export function formatSearch(state: SearchState): string {
  const params = new URLSearchParams();
  for (const kind of FACET_KINDS) for (const value of state.selected[kind.key] ?? []) params.append(kind.key, value);
  if (state.split) params.set('split', state.split);
  if (state.source === 'PREDICTION') {
    params.set('source', 'PREDICTION');
    if (state.modelVersionId) params.set('model', state.modelVersionId);
    // Always written, the default included: a shared link keeps its meaning if the default changes.
    params.set('minScore', String(state.minScore));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function toggleValue(state: SearchState, key: string, value: string): SearchState {
  const current = state.selected[key] ?? [];
  const next = current.includes(value) ? current.filter((item) => item !== value) : [...current, value];
  const selected = { ...state.selected, [key]: next };
  if (!next.length) delete selected[key];
  return { ...state, selected };
}

export function selectedCount(state: SearchState): number {
  return Object.values(state.selected).reduce((sum, values) => sum + values.length, 0);
}

/** GarmentWhere for the state; `withoutKey` leaves one kind out (its own facet counts). */
export function toGarmentWhere(state: SearchState, withoutKey?: string): GarmentWhere {
  const where: GarmentWhere = { source: state.source };
  for (const kind of FACET_KINDS) {
    const values = state.selected[kind.key];
    // The URL holds strings; the API refuses a superCategory outside its enum with a clear error.
    if (kind.key !== withoutKey && values?.length) (where as Record<AnyOfField, string[]>)[kind.whereField] = values;
  }
  if (state.split) where.split = state.split;
  if (state.source === 'PREDICTION') {
    if (state.modelVersionId) where.modelVersionId = state.modelVersionId;
    // Scores are never below 0: leaving 0 out lets the API answer from its precomputed counts.
    if (state.minScore > 0) where.minScore = state.minScore;
  }
  return where;
}
