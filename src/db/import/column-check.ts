/**
 * Every value of a parsed file checked against the column it will be written to, before the batch
 * holding it is written: a value the column cannot take (an 이미지 너비 of 4294967296, a box that has
 * no area once its coordinates are float4, a NUL in a label) rejects its file or its garment, with
 * the field named, instead of failing the batch's COPY and with it the whole import.
 */
import { ANNOTATION_KEYS as K, KOREAN_BY_SUPER_CATEGORY, LABEL_KEY_BY_KIND, type AnnotationProblem } from '../../kfashion/types';
import { encodingProblem } from './copy-binary';
import { GARMENTS, IMAGE_STYLES, IMAGES } from './load';
import type { ImportAnnotation, ImportGarment } from './parse-file';

const DETAILS = `${K.datasetInfo}.${K.details}`;
const imageField = (key: string) => `${K.imageInfo}.${key}`;

/** A value bound for a column, with the JSON field it came from. */
type Cell = [field: string, type: string, value: number | string];

/** The file-level values of an annotation and their columns (the images and image_styles rows). */
function fileCells(annotation: ImportAnnotation): Cell[] {
  const styleField = `${DETAILS}.${K.labels}.${K.style}`;
  const cells: Cell[] = [
    [imageField(K.imageWidth), IMAGES.columns.width, annotation.width],
    [imageField(K.imageHeight), IMAGES.columns.height, annotation.height],
    [imageField(K.imageFileName), IMAGES.columns.file_name, annotation.fileName],
  ];
  if (annotation.styles.length > 0) cells.push([styleField, IMAGE_STYLES.columns.position, annotation.styles.length - 1]);
  annotation.styles.forEach(({ style, subStyle }, i) => {
    cells.push([`${styleField}[${i}].${K.style}`, 'text', style]);
    if (subStyle !== null) cells.push([`${styleField}[${i}].${K.subStyle}`, 'text', subStyle]);
  });
  return cells;
}

function garmentField(garment: ImportGarment, section: string): string {
  return `${DETAILS}.${section}.${KOREAN_BY_SUPER_CATEGORY[garment.superCategory]}[${garment.slotIndex}]`;
}

/** A garment's values and their columns (garments row, vocabulary values). */
function garmentCells(garment: ImportGarment): Cell[] {
  const rect = garmentField(garment, K.rect);
  const { x1, y1, x2, y2 } = garment.box;
  const cells: Cell[] = [[rect, GARMENTS.columns.slot_index, garment.slotIndex]];
  for (const value of [x1, y1, x2, y2]) cells.push([rect, GARMENTS.columns.x1, value]);
  for (const value of garment.polygon ?? []) cells.push([garmentField(garment, K.polygon), GARMENTS.columns.polygon, value]);
  for (const { kind, value } of garment.attributes)
    cells.push([`${garmentField(garment, K.labels)}.${LABEL_KEY_BY_KIND[kind]}`, 'text', value]);
  return cells;
}

type FieldProblem = { field: string; reason: string };

function firstProblem(cells: Cell[]): FieldProblem | null {
  for (const [field, type, value] of cells) {
    const reason = encodingProblem(type, value);
    if (reason !== null) return { field, reason };
  }
  return null;
}

/**
 * garments_box_valid (x2 > x1, y2 > y1) must hold for the float4 values stored, not only for the
 * doubles parsed: near 10^8, coordinates a pixel apart are one float4.
 */
function boxAreaProblem(garment: ImportGarment): FieldProblem | null {
  const { x1, y1, x2, y2 } = garment.box;
  const f = Math.fround;
  if (f(x2) > f(x1) && f(y2) > f(y1)) return null;
  return { field: garmentField(garment, K.rect), reason: `box (${x1}, ${y1}, ${x2}, ${y2}) has no area once stored as real (float4)` };
}

export interface ColumnCheck {
  /** Set when the file cannot be written at all. */
  fileProblem: FieldProblem | null;
  /** The garments that can be written. */
  garments: ImportGarment[];
  /** 파일 생성일자, or null when its column cannot take it. */
  createdAt: string | null;
  /** One rejection per garment left out, and a repair when 파일 생성일자 is dropped. */
  problems: AnnotationProblem[];
}

/** Checks every value of `annotation` against its column (encodingProblem). */
export function checkColumns(annotation: ImportAnnotation): ColumnCheck {
  const problems: AnnotationProblem[] = [];
  const garments = annotation.garments.filter((garment) => {
    const problem = firstProblem(garmentCells(garment)) ?? boxAreaProblem(garment);
    if (problem) problems.push({ ...problem, garment: { superCategory: garment.superCategory, slotIndex: garment.slotIndex } });
    return problem === null;
  });
  let { createdAt } = annotation;
  const dateProblem = createdAt === null ? null : encodingProblem(IMAGES.columns.annotated_at, createdAt);
  if (dateProblem) {
    problems.push({ field: `${K.datasetInfo}.${K.createdAt}`, reason: `${dateProblem}; stored as null`, repaired: true });
    createdAt = null;
  }
  return { fileProblem: firstProblem(fileCells(annotation)), garments, createdAt, problems };
}
