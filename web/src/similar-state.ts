/**
 * The "More like this" view as a value: the garment asked about (in the path) and the filters in
 * the query string, so a list of similar garments can be shared and reloaded; and the filters as
 * the API's GarmentWhere. Likewise the Analyze page's look: the analysed image and model version.
 */
import type { GarmentWhere, LabelSource, Split } from './gql/graphql';

export interface SimilarState {
  /** Global id of the garment whose neighbours are listed. */
  garmentId: string;
  /** The model version whose embeddings are compared; null: the active one (the API's default). */
  modelVersionId: string | null;
  /** Only annotated or only predicted garments; null: both. */
  source: LabelSource | null;
  split: Split | null;
  /** Only garments of this category (the asked garment's, Korean as stored); null: any category. */
  category: string | null;
}

/** Global ids are base64url text; anything else names nothing and is ignored. */
const GLOBAL_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function similarPath(garmentId: string, options: Partial<Omit<SimilarState, 'garmentId'>> = {}): string {
  return `/similar/${encodeURIComponent(garmentId)}${formatSimilarQuery({ modelVersionId: null, source: null, split: null, category: null, ...options })}`;
}

/** The state of `/similar/:garmentId?…`; null when the path's id cannot be a garment's. */
export function parseSimilar(garmentId: string, query: string): SimilarState | null {
  if (!GLOBAL_ID.test(garmentId)) return null;
  const params = new URLSearchParams(query);
  const model = params.get('model');
  const source = params.get('source');
  const split = params.get('split');
  const category = params.get('category');
  return {
    garmentId,
    modelVersionId: model && GLOBAL_ID.test(model) ? model : null,
    source: source === 'ANNOTATION' || source === 'PREDICTION' ? source : null,
    split: split === 'TRAIN' || split === 'VALIDATION' ? split : null,
    category: category || null,
  };
}

/** The query string (with its `?`, or empty) of the filters, in a stable order. */
export function formatSimilarQuery(state: Omit<SimilarState, 'garmentId'>): string {
  const params = new URLSearchParams();
  if (state.modelVersionId) params.set('model', state.modelVersionId);
  if (state.category) params.set('category', state.category);
  if (state.split) params.set('split', state.split);
  if (state.source) params.set('source', state.source);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The filters as GarmentWhere; null when there is none (every garment with an embedding). */
export function similarWhere(state: SimilarState): GarmentWhere | null {
  const where: GarmentWhere = {};
  if (state.source) where.source = state.source;
  if (state.split) where.split = state.split;
  if (state.category) where.category = [state.category];
  return Object.keys(where).length ? where : null;
}

/** The photo whose look the Analyze page shows, and the model version that analysed it. */
export interface LookTarget {
  imageId: string;
  modelVersionId: string | null;
}

/** The look named by `/analyze?image=&model=`; null when no image is named. */
export function parseLookQuery(query: string): LookTarget | null {
  const params = new URLSearchParams(query);
  const imageId = params.get('image');
  const model = params.get('model');
  if (!imageId || !GLOBAL_ID.test(imageId)) return null;
  return { imageId, modelVersionId: model && GLOBAL_ID.test(model) ? model : null };
}

export function formatLookQuery(target: LookTarget): string {
  const params = new URLSearchParams({ image: target.imageId });
  if (target.modelVersionId) params.set('model', target.modelVersionId);
  return `?${params}`;
}
