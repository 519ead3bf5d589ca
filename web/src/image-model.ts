/**
 * The image page's data: one request for the photo, its styles and all its garments (annotated
 * and predicted), and the pairing of each predicted garment with the annotated one it overlaps.
 */
import { consoleKind } from './attribute-kinds';
import { fetchGraphQL } from './graphql';
import { graphql } from './gql';
import type { ImageDetailFragment } from './gql/graphql';

export type ImageDetail = ImageDetailFragment;
export type ImageGarment = ImageDetail['garments'][number];
export type Attribute = ImageGarment['attributes'][number];
export type Box = ImageGarment['box'];

graphql(`
  fragment ImageDetail on Image {
    id externalId fileName width height split url display: thumbnailUrl(size: 1024) reviewedAt
    styles { style styleEn subStyle subStyleEn }
    garments {
      id revision superCategory category categoryEn source score box { x1 y1 x2 y2 } polygon { x y }
      attributes { kind value valueEn score } modelVersion { id name }
    }
  }
`);

const IMAGE_BY_ID = graphql(`
  query ImageById($id: ID!) {
    image(id: $id) { ...ImageDetail }
  }
`);

const IMAGE_BY_EXTERNAL_ID = graphql(`
  query ImageByExternalId($externalId: String!) {
    imageByExternalId(externalId: $externalId) { ...ImageDetail }
  }
`);

/** By global id (as `Image.id` gives it), or by K-Fashion 이미지 식별자 when `external` is set. */
export async function fetchImage(id: string, external: boolean, signal: AbortSignal): Promise<ImageDetail | null> {
  if (external) return (await fetchGraphQL(IMAGE_BY_EXTERNAL_ID, { externalId: id }, signal)).imageByExternalId ?? null;
  // Global ids are base64url text: anything else names no image.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return null;
  return (await fetchGraphQL(IMAGE_BY_ID, { id }, signal)).image ?? null;
}

export function iou(a: Box, b: Box): number {
  const width = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const height = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (width <= 0 || height <= 0) return 0;
  const intersection = width * height;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - intersection;
  return intersection / union;
}

/** Predicted garments pair with an annotated garment of the same slot at IoU ≥ this. */
export const MATCH_IOU = 0.5;

export interface GarmentPair {
  annotation: ImageGarment | null;
  prediction: ImageGarment | null;
}

/** Greedy one-to-one pairing, best IoU first; unpaired garments stand alone. */
export function pairGarments(annotations: ImageGarment[], predictions: ImageGarment[]): GarmentPair[] {
  const candidates = annotations.flatMap((annotation) =>
    predictions
      .filter((prediction) => prediction.superCategory === annotation.superCategory)
      .map((prediction) => ({ annotation, prediction, overlap: iou(annotation.box, prediction.box) }))
      .filter((candidate) => candidate.overlap >= MATCH_IOU),
  );
  candidates.sort((a, b) => b.overlap - a.overlap);
  const paired = new Map<ImageGarment, ImageGarment>();
  const used = new Set<ImageGarment>();
  for (const candidate of candidates) {
    if (paired.has(candidate.annotation) || used.has(candidate.prediction)) continue;
    paired.set(candidate.annotation, candidate.prediction);
    used.add(candidate.prediction);
  }
  return [
    ...annotations.map((annotation) => ({ annotation, prediction: paired.get(annotation) ?? null })),
    ...predictions.filter((prediction) => !used.has(prediction)).map((prediction) => ({ annotation: null, prediction })),
  ];
}

/** Attribute kinds in the order a person reads a garment. */
export const KIND_ORDER = [
  'category',
  'color',
  'subColor',
  'length',
  'sleeveLength',
  'neckline',
  'collar',
  'fit',
  'material',
  'print',
  'detail',
];

/** Kinds a garment may carry several values of; the others have at most one. */
export const MULTI_VALUED_KINDS = new Set(['material', 'print', 'detail']);

export const KIND_LABELS: Record<string, string> = {
  category: 'Category',
  color: 'Colour',
  subColor: 'Sub-colour',
  length: 'Length',
  sleeveLength: 'Sleeve length',
  neckline: 'Neckline',
  collar: 'Collar',
  fit: 'Fit',
  material: 'Material',
  print: 'Print',
  detail: 'Detail',
};

/** Attributes of one garment by kind, highest score first (predictions), with category as an attribute. */
export function attributesByKind(garment: ImageGarment): Map<string, Attribute[]> {
  const byKind = new Map<string, Attribute[]>();
  if (garment.category && !garment.attributes.some((attribute) => attribute.kind === 'CATEGORY')) {
    byKind.set('category', [{ kind: 'CATEGORY', value: garment.category, valueEn: garment.categoryEn, score: garment.score }]);
  }
  for (const attribute of garment.attributes) {
    const kind = consoleKind(attribute.kind);
    const list = byKind.get(kind) ?? [];
    list.push(attribute);
    byKind.set(kind, list);
  }
  for (const list of byKind.values()) list.sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
  return byKind;
}
