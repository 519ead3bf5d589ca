/**
 * The typed form of one K-Fashion annotation file, as the rest of the platform sees it.
 * Korean strings are kept exactly as stored (after spelling normalisation); English labels
 * live in the vocabulary module, never in these records.
 */

/** Garment slots of a K-Fashion image, in the API's spelling. */
export enum SuperCategory {
  TOP = 'TOP',
  BOTTOM = 'BOTTOM',
  OUTER = 'OUTER',
  ONE_PIECE = 'ONE_PIECE',
}

/** Korean slot key as it appears in the JSON → API super-category. Order is the file's order. */
export const SUPER_CATEGORY_BY_KOREAN: Readonly<Record<string, SuperCategory>> = {
  아우터: SuperCategory.OUTER,
  하의: SuperCategory.BOTTOM,
  원피스: SuperCategory.ONE_PIECE,
  상의: SuperCategory.TOP,
};

export const KOREAN_BY_SUPER_CATEGORY: Readonly<Record<SuperCategory, string>> = {
  [SuperCategory.OUTER]: '아우터',
  [SuperCategory.BOTTOM]: '하의',
  [SuperCategory.ONE_PIECE]: '원피스',
  [SuperCategory.TOP]: '상의',
};

/** Garment-level attribute kinds (API keys). `category` is stored on the garment itself too. */
export const GARMENT_ATTRIBUTE_KINDS = [
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
] as const;
export type GarmentAttributeKind = (typeof GARMENT_ATTRIBUTE_KINDS)[number];

/** Image-level kinds. */
export const IMAGE_ATTRIBUTE_KINDS = ['style', 'subStyle'] as const;
export type ImageAttributeKind = (typeof IMAGE_ATTRIBUTE_KINDS)[number];

export type AttributeKind = GarmentAttributeKind | ImageAttributeKind;
export const ATTRIBUTE_KINDS: readonly AttributeKind[] = [...GARMENT_ATTRIBUTE_KINDS, ...IMAGE_ATTRIBUTE_KINDS];

/** Kinds whose JSON value is a list; every other kind holds one value per garment. */
export const MULTI_VALUED_KINDS: ReadonlySet<AttributeKind> = new Set<AttributeKind>(['material', 'print', 'detail']);

/** Axis-aligned box in image pixels, x2/y2 exclusive edges (x1 + width). */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface GarmentAttribute {
  kind: GarmentAttributeKind;
  value: string;
}

export interface ParsedGarment {
  superCategory: SuperCategory;
  /** Index of the garment within its slot (K-Fashion has at most one per slot in practice). */
  slotIndex: number;
  /** Korean category (카테고리), or null when the garment has a box but no category label. */
  category: string | null;
  box: Box;
  /** Polygon points ordered by their number N in X좌표N/Y좌표N; empty when the file has none. */
  polygon: Point[];
  /** Every attribute including category; multi-valued kinds give one entry per value. */
  attributes: GarmentAttribute[];
}

export interface ImageStyle {
  style: string;
  subStyle: string | null;
}

export interface ParsedAnnotation {
  /** 이미지 식별자, as a decimal string. */
  externalId: string;
  /** 이미지 파일명 as written in the JSON (may differ from the JPEG's name on disk). */
  fileName: string;
  width: number;
  height: number;
  /** 파일 생성일자 as an ISO-8601 string, or null when absent or unparseable. */
  createdAt: string | null;
  styles: ImageStyle[];
  garments: ParsedGarment[];
}

/**
 * Something wrong in the input. `garment` is set when only that garment is affected (it was
 * rejected, or repaired when `repaired` is true); unset means the whole file was rejected.
 */
export interface AnnotationProblem {
  field: string;
  reason: string;
  garment?: { superCategory: SuperCategory; slotIndex: number };
  repaired?: boolean;
}

export type ParseResult =
  | { ok: true; annotation: ParsedAnnotation; problems: AnnotationProblem[] }
  | { ok: false; problems: AnnotationProblem[] };
