/**
 * The typed form of one K-Fashion annotation file, as the rest of the platform sees it.
 * Korean strings are kept exactly as stored (after spelling normalisation); English labels
 * live in the vocabulary module, never in these records.
 */

/** The dataset's splits (its Training and Validation folders), as the platform stores them. */
export const SPLITS = ['train', 'validation'] as const;
export type Split = (typeof SPLITS)[number];

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
 * rejected, or repaired when `repaired` is true); unset means the whole file was rejected,
 * except when `repaired` is true: then a file-level value (e.g. 파일 생성일자, a style entry)
 * was dropped or repaired and the file itself is still usable.
 */
export interface AnnotationProblem {
  field: string;
  reason: string;
  garment?: { superCategory: SuperCategory; slotIndex: number };
  repaired?: boolean;
}

export type ParseResult =
  { ok: true; annotation: ParsedAnnotation; problems: AnnotationProblem[] } | { ok: false; problems: AnnotationProblem[] };

/** JSON keys of a K-Fashion annotation file (Korean, exactly as stored). */
export const ANNOTATION_KEYS = {
  imageInfo: '이미지 정보',
  imageId: '이미지 식별자',
  imageWidth: '이미지 너비',
  imageHeight: '이미지 높이',
  imageFileName: '이미지 파일명',
  datasetInfo: '데이터셋 정보',
  createdAt: '파일 생성일자',
  fileNumber: '파일 번호',
  fileName: '파일 이름',
  details: '데이터셋 상세설명',
  rect: '렉트좌표',
  polygon: '폴리곤좌표',
  labels: '라벨링',
  style: '스타일',
  subStyle: '서브스타일',
  rectX: 'X좌표',
  rectY: 'Y좌표',
  rectWidth: '가로',
  rectHeight: '세로',
  /** Polygon keys are these prefixes followed by the point's number N (X좌표1, Y좌표1, ...). */
  polygonXPrefix: 'X좌표',
  polygonYPrefix: 'Y좌표',
} as const;

/** Korean label key (in 라벨링.<slot>[i]) of each garment attribute kind. 옷깃 is the collar, not "칼라". */
export const LABEL_KEY_BY_KIND: Readonly<Record<GarmentAttributeKind, string>> = {
  category: '카테고리',
  color: '색상',
  subColor: '서브색상',
  length: '기장',
  sleeveLength: '소매기장',
  neckline: '넥라인',
  collar: '옷깃',
  fit: '핏',
  material: '소재',
  print: '프린트',
  detail: '디테일',
};
