/**
 * Parse one K-Fashion annotation file (the dataset's JSON: image information, then per slot the
 * 렉트좌표 boxes and 라벨링 labels; types.ts has the shapes) into a ParsedAnnotation plus the problems met.
 *
 * Policy: a file is rejected only when the image itself cannot be identified or sized, or the
 * structure holding the garments is not an object. Everything else is handled per garment
 * (rejected, or repaired and kept) or per value (dropped), so one bad field never costs the
 * whole image. Every problem names the JSON path of the offending field.
 */
import {
  ANNOTATION_KEYS as K,
  AnnotationProblem,
  Box,
  GARMENT_ATTRIBUTE_KINDS,
  GarmentAttribute,
  GarmentAttributeKind,
  ImageStyle,
  LABEL_KEY_BY_KIND,
  MULTI_VALUED_KINDS,
  ParsedAnnotation,
  ParsedGarment,
  ParseResult,
  Point,
  SUPER_CATEGORY_BY_KOREAN,
  SuperCategory,
} from './types';
import { normaliseValue } from './vocabulary';

type JsonObject = Record<string, unknown>;
type GarmentRef = { superCategory: SuperCategory; slotIndex: number };

/** A field that cannot be read; `field` is its JSON path. Caught where its scope (file or garment) ends. */
class FieldError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** Korea has no daylight saving time, so every 파일 생성일자 without an offset is +09:00. */
const KOREA_OFFSET = '+09:00';
/** Coordinates are rounded to this many decimals so x1 + 가로 gives 555.144, not 555.1439999. */
const COORDINATE_DECIMALS = 6;
const DETAILS_PATH = `${K.datasetInfo}.${K.details}`;

export function parseAnnotation(content: Buffer | string, file: string): ParseResult {
  const problems: AnnotationProblem[] = [];
  try {
    const root = parseJson(content);
    const annotation = readAnnotation(root, problems);
    return { ok: true, annotation, problems };
  } catch (error) {
    if (error instanceof FieldError) {
      problems.push({ field: error.field, reason: error.message });
      return { ok: false, problems };
    }
    // Anything else is a bug in this module: say which file triggered it.
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseJson(content: Buffer | string): JsonObject {
  let text: string;
  try {
    text = typeof content === 'string' ? content : new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    throw new FieldError('', 'invalid UTF-8: the file is not UTF-8 text');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // V8 gives no position for a truncated file ("Unexpected end of JSON input"); the length is where it ended.
    const where = /position \d+/.test(message) ? '' : ` (text ends at position ${text.length})`;
    throw new FieldError('', `invalid JSON: ${message}${where}`);
  }
  if (!isObject(root)) throw new FieldError('', `expected a JSON object at the top level, got ${describe(root)}`);
  return root;
}

function readAnnotation(root: JsonObject, problems: AnnotationProblem[]): ParsedAnnotation {
  const imageInfo = requireObject(root[K.imageInfo], K.imageInfo);
  const infoPath = (key: string) => `${K.imageInfo}.${key}`;
  const externalId = readIdentifier(imageInfo[K.imageId], infoPath(K.imageId));
  const width = requirePositive(imageInfo[K.imageWidth], infoPath(K.imageWidth));
  const height = requirePositive(imageInfo[K.imageHeight], infoPath(K.imageHeight));
  const fileName = readFileName(imageInfo[K.imageFileName], infoPath(K.imageFileName), problems);

  const datasetInfo = optionalObject(root[K.datasetInfo], K.datasetInfo) ?? {};
  const createdAt = readCreatedAt(datasetInfo[K.createdAt], problems);
  const details = optionalObject(datasetInfo[K.details], DETAILS_PATH) ?? {};
  const sections = {
    rect: optionalObject(details[K.rect], `${DETAILS_PATH}.${K.rect}`) ?? {},
    polygon: optionalObject(details[K.polygon], `${DETAILS_PATH}.${K.polygon}`) ?? {},
    labels: optionalObject(details[K.labels], `${DETAILS_PATH}.${K.labels}`) ?? {},
  };
  const styles = readStyles(sections.labels[K.style], problems);
  const image = { width, height };
  const garments = Object.entries(SUPER_CATEGORY_BY_KOREAN).flatMap(([slot, superCategory]) =>
    readSlot(sections, slot, superCategory, image, problems),
  );
  return { externalId, fileName, width, height, createdAt, styles, garments };
}

// ---------------------------------------------------------------------------------------------
// Image-level fields

function readIdentifier(value: unknown, field: string): string {
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return BigInt(value.trim()).toString();
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (isAbsent(value)) throw new FieldError(field, 'missing image identifier');
  throw new FieldError(field, `expected a non-negative integer identifier, got ${describe(value)}`);
}

function requirePositive(value: unknown, field: string): number {
  const number = readNumber(value, field);
  if (number === undefined) throw new FieldError(field, 'missing');
  if (number <= 0) throw new FieldError(field, `must be positive, got ${number}`);
  return number;
}

/** 이미지 파일명 is only a hint (images are also found by identifier), so a bad one is not fatal. */
function readFileName(value: unknown, field: string, problems: AnnotationProblem[]): string {
  if (typeof value === 'string') return value.trim();
  if (!isAbsent(value)) problems.push({ field, reason: `expected text, got ${describe(value)}; ignored`, repaired: true });
  return '';
}

/** "2020-08-10 08:33:18" (Korean local time) → "2020-08-09T23:33:18.000Z"; an explicit offset wins. */
function readCreatedAt(value: unknown, problems: AnnotationProblem[]): string | null {
  if (isAbsent(value)) return null;
  const field = `${K.datasetInfo}.${K.createdAt}`;
  const match =
    typeof value === 'string' &&
    /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?\s*(Z|[+-]\d{2}:\d{2})?$/.exec(value.trim());
  const parsed = match ? parseDate(match[1], match[2] ?? '00:00:00', match[3] ?? KOREA_OFFSET) : null;
  if (parsed === null) {
    problems.push({ field, reason: `unparseable date ${JSON.stringify(value)}; stored as null`, repaired: true });
  }
  return parsed;
}

function parseDate(day: string, time: string, offset: string): string | null {
  const date = new Date(`${day}T${time}${offset}`);
  if (Number.isNaN(date.getTime())) return null;
  // Date rolls 2020-02-31 over to March; reject instead of inventing a day.
  const [year, month, dayOfMonth] = day.split('-').map(Number);
  const checkDay = new Date(Date.UTC(year, month - 1, dayOfMonth));
  if (checkDay.getUTCMonth() !== month - 1 || checkDay.getUTCDate() !== dayOfMonth) return null;
  return date.toISOString();
}

function readStyles(value: unknown, problems: AnnotationProblem[]): ImageStyle[] {
  const field = `${DETAILS_PATH}.${K.labels}.${K.style}`;
  const entries = isAbsent(value) ? [] : Array.isArray(value) ? value : [value];
  const styles: ImageStyle[] = [];
  entries.forEach((entry, index) => {
    const entryField = `${field}[${index}]`;
    try {
      const object = requireObject(entry, entryField);
      const style = readLabelText(object[K.style], `${entryField}.${K.style}`);
      const subStyle = readLabelText(object[K.subStyle], `${entryField}.${K.subStyle}`) ?? null;
      if (style === undefined) {
        if (subStyle !== null) throw new FieldError(`${entryField}.${K.style}`, `sub-style ${subStyle} without a style`);
        return; // [{}]: the image has no style
      }
      if (!styles.some((known) => known.style === style && known.subStyle === subStyle)) styles.push({ style, subStyle });
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      problems.push({ field: error.field, reason: `${error.message}; style entry dropped`, repaired: true });
    }
  });
  return styles;
}

// ---------------------------------------------------------------------------------------------
// Garments

interface Sections {
  rect: JsonObject;
  polygon: JsonObject;
  labels: JsonObject;
}

interface ImageSize {
  width: number;
  height: number;
}

/**
 * The garments of one slot. Entry i of 렉트좌표, 폴리곤좌표 and 라벨링 describe the same garment
 * (slotIndex i); a slot whose entries are all empty (`[{}]`) has no garment.
 */
function readSlot(
  sections: Sections,
  slot: string,
  superCategory: SuperCategory,
  image: ImageSize,
  problems: AnnotationProblem[],
): ParsedGarment[] {
  const paths = {
    rect: `${DETAILS_PATH}.${K.rect}.${slot}`,
    polygon: `${DETAILS_PATH}.${K.polygon}.${slot}`,
    labels: `${DETAILS_PATH}.${K.labels}.${slot}`,
  };
  let entries: { rect: unknown[]; polygon: unknown[]; labels: unknown[] };
  try {
    entries = {
      rect: slotEntries(sections.rect[slot], paths.rect),
      polygon: slotEntries(sections.polygon[slot], paths.polygon),
      labels: slotEntries(sections.labels[slot], paths.labels),
    };
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    problems.push({ field: error.field, reason: `${error.message}; slot ignored`, garment: { superCategory, slotIndex: 0 } });
    return [];
  }
  const count = Math.max(entries.rect.length, entries.polygon.length, entries.labels.length);
  const garments: ParsedGarment[] = [];
  for (let slotIndex = 0; slotIndex < count; slotIndex++) {
    const raw = { rect: entries.rect[slotIndex], polygon: entries.polygon[slotIndex], labels: entries.labels[slotIndex] };
    if (isEmptyEntry(raw.rect) && isEmptyEntry(raw.polygon) && isEmptyEntry(raw.labels)) continue;
    const ref = { superCategory, slotIndex };
    const at = (path: string) => `${path}[${slotIndex}]`;
    const garmentProblems: AnnotationProblem[] = [];
    try {
      const garment = readGarment(
        raw,
        { rect: at(paths.rect), polygon: at(paths.polygon), labels: at(paths.labels) },
        ref,
        image,
        garmentProblems,
      );
      garments.push(garment);
      problems.push(...garmentProblems);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      // A rejected garment's repairs are moot; report only why it was rejected.
      problems.push({ field: error.field, reason: error.message, garment: ref });
    }
  }
  return garments;
}

function slotEntries(value: unknown, field: string): unknown[] {
  if (isAbsent(value)) return [];
  if (Array.isArray(value)) return value;
  if (isObject(value)) return [value]; // a lone object instead of a one-element list
  throw new FieldError(field, `expected a list of objects, got ${describe(value)}`);
}

function readGarment(
  raw: { rect: unknown; polygon: unknown; labels: unknown },
  paths: { rect: string; polygon: string; labels: string },
  ref: GarmentRef,
  image: ImageSize,
  problems: AnnotationProblem[],
): ParsedGarment {
  const repaired = (field: string, reason: string) => problems.push({ field, reason, garment: ref, repaired: true });
  const attributes = readLabels(raw.labels, paths.labels, repaired);
  let polygon = readPolygon(raw.polygon, paths.polygon, repaired);
  let box = readRect(raw.rect, paths.rect);
  if (box === undefined) {
    if (polygon.length === 0) {
      throw new FieldError(paths.rect, attributes.length > 0 ? 'labels but no box' : 'no box');
    }
    box = boundingBox(polygon);
    repaired(paths.rect, `no box; box ${formatBox(box)} taken from the polygon`);
  }
  if (box.x2 <= box.x1 || box.y2 <= box.y1) throw new FieldError(paths.rect, `zero-area box ${formatBox(box)}`);
  const clipped = clipBox(box, image);
  if (clipped.x2 <= clipped.x1 || clipped.y2 <= clipped.y1) {
    throw new FieldError(paths.rect, `box ${formatBox(box)} entirely outside the ${image.width}x${image.height} image`);
  }
  if (!sameBox(box, clipped)) {
    repaired(paths.rect, `box outside the image, clipped from ${formatBox(box)} to ${formatBox(clipped)}`);
  }
  const clippedPolygon = polygon.map((point) => clipPoint(point, image));
  if (clippedPolygon.some((point, i) => point.x !== polygon[i].x || point.y !== polygon[i].y)) {
    repaired(paths.polygon, `polygon points outside the ${image.width}x${image.height} image clipped to its edges`);
    polygon = clippedPolygon;
  }
  if (attributes.length === 0) {
    // Kept on purpose: the box is still valid ground truth for detection training, and the
    // real files have garments labelled with colour only (no category), so "few labels" is
    // normal. Reported so a curator can see boxes that nobody labelled.
    repaired(paths.labels, 'box but no labels; kept as an unlabelled garment');
  }
  const category = attributes.find((attribute) => attribute.kind === 'category')?.value ?? null;
  return { superCategory: ref.superCategory, slotIndex: ref.slotIndex, category, box: clipped, polygon, attributes };
}

/** 렉트좌표 entry → box with exclusive right/bottom edges; undefined when the entry is empty. */
function readRect(entry: unknown, field: string): Box | undefined {
  if (isEmptyEntry(entry)) return undefined;
  const rect = requireObject(entry, field);
  const read = (key: string) => {
    const value = readNumber(rect[key], `${field}.${key}`);
    if (value === undefined) throw new FieldError(`${field}.${key}`, 'missing');
    return value;
  };
  const x1 = read(K.rectX);
  const y1 = read(K.rectY);
  return { x1, y1, x2: roundCoordinate(x1 + read(K.rectWidth)), y2: roundCoordinate(y1 + read(K.rectHeight)) };
}

/** 폴리곤좌표 entry → points ordered by N; points missing a coordinate are dropped. */
function readPolygon(entry: unknown, field: string, repaired: (field: string, reason: string) => void): Point[] {
  if (isEmptyEntry(entry)) return [];
  const object = requireObject(entry, field);
  const partial = new Map<number, { x?: number; y?: number }>();
  for (const [key, value] of Object.entries(object)) {
    const match = /^([XY])좌표(\d+)$/.exec(key);
    if (!match) {
      repaired(`${field}.${key}`, 'unexpected polygon key ignored');
      continue;
    }
    let coordinate: number | undefined;
    try {
      coordinate = readNumber(value, `${field}.${key}`);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      repaired(error.field, `${error.message}; coordinate ignored`);
    }
    if (coordinate === undefined) continue;
    const n = Number(match[2]);
    const point = partial.get(n) ?? {};
    point[match[1] === 'X' ? 'x' : 'y'] = coordinate;
    partial.set(n, point);
  }
  const points: Point[] = [];
  for (const n of [...partial.keys()].sort((a, b) => a - b)) {
    const { x, y } = partial.get(n)!;
    if (x === undefined || y === undefined) {
      const missing = x === undefined ? K.polygonXPrefix : K.polygonYPrefix;
      repaired(`${field}.${missing}${n}`, `polygon point ${n} has no ${missing}${n}; point dropped`);
      continue;
    }
    points.push({ x, y });
  }
  if (points.length > 0 && points.length < 3) {
    repaired(field, `polygon with ${points.length} point(s) is not an outline; dropped`);
    return [];
  }
  return points;
}

/** 라벨링 entry → attributes in GARMENT_ATTRIBUTE_KINDS order; bad values are dropped and reported. */
function readLabels(entry: unknown, field: string, repaired: (field: string, reason: string) => void): GarmentAttribute[] {
  if (isEmptyEntry(entry)) return [];
  const labels = requireObject(entry, field);
  const attributes: GarmentAttribute[] = [];
  for (const kind of GARMENT_ATTRIBUTE_KINDS) {
    const key = LABEL_KEY_BY_KIND[kind];
    try {
      for (const value of readLabelValues(kind, labels[key], `${field}.${key}`, repaired)) attributes.push({ kind, value });
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      repaired(error.field, `${error.message}; value dropped`);
    }
  }
  const knownKeys = new Set(Object.values(LABEL_KEY_BY_KIND));
  for (const key of Object.keys(labels).filter((key) => !knownKeys.has(key))) {
    repaired(`${field}.${key}`, 'unknown label key ignored');
  }
  return attributes;
}

function readLabelValues(
  kind: GarmentAttributeKind,
  value: unknown,
  field: string,
  repaired: (field: string, reason: string) => void,
): string[] {
  if (!MULTI_VALUED_KINDS.has(kind)) {
    // A one-element list for a single-valued kind is unambiguous; anything longer is not.
    const single: unknown = Array.isArray(value) && value.length === 1 ? value[0] : value;
    const text = readLabelText(single, field);
    return text === undefined ? [] : [text];
  }
  const values = isAbsent(value) ? [] : Array.isArray(value) ? value : [value];
  const texts = new Set<string>();
  values.forEach((element, index) => {
    try {
      const text = readLabelText(element, Array.isArray(value) ? `${field}[${index}]` : field);
      if (text !== undefined) texts.add(text);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      repaired(error.field, `${error.message}; value dropped`);
    }
  });
  return [...texts];
}

/** A label value: normalised text, undefined when absent or empty. */
function readLabelText(value: unknown, field: string): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string') throw new FieldError(field, `expected text, got ${describe(value)}`);
  const text = normaliseValue(value);
  return text === '' ? undefined : text;
}

// ---------------------------------------------------------------------------------------------
// Geometry

function clipBox(box: Box, image: ImageSize): Box {
  return {
    x1: clamp(box.x1, 0, image.width),
    y1: clamp(box.y1, 0, image.height),
    x2: clamp(box.x2, 0, image.width),
    y2: clamp(box.y2, 0, image.height),
  };
}

function clipPoint(point: Point, image: ImageSize): Point {
  return { x: clamp(point.x, 0, image.width), y: clamp(point.y, 0, image.height) };
}

function boundingBox(points: Point[]): Box {
  const xs = points.map((point) => point.x);
  const ys = points.map((point) => point.y);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

function sameBox(a: Box, b: Box): boolean {
  return a.x1 === b.x1 && a.y1 === b.y1 && a.x2 === b.x2 && a.y2 === b.y2;
}

function formatBox(box: Box): string {
  return `(${box.x1}, ${box.y1}, ${box.x2}, ${box.y2})`;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

function roundCoordinate(value: number): number {
  const scale = 10 ** COORDINATE_DECIMALS;
  return Math.round(value * scale) / scale;
}

// ---------------------------------------------------------------------------------------------
// JSON value helpers

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** `{}`, an object of only empty values, or nothing at all: "no garment here". */
function isEmptyEntry(value: unknown): boolean {
  return isAbsent(value) || (isObject(value) && Object.values(value).every(isAbsentOrEmptyList));
}

function isAbsentOrEmptyList(value: unknown): boolean {
  return isAbsent(value) || (Array.isArray(value) && value.length === 0);
}

function requireObject(value: unknown, field: string): JsonObject {
  if (isObject(value)) return value;
  throw new FieldError(field, isAbsent(value) ? 'missing' : `expected an object, got ${describe(value)}`);
}

function optionalObject(value: unknown, field: string): JsonObject | undefined {
  return isAbsent(value) ? undefined : requireObject(value, field);
}

/** A JSON number or a string holding one ("800"); undefined when absent. */
function readNumber(value: unknown, field: string): number | undefined {
  if (isAbsent(value)) return undefined;
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(number)) throw new FieldError(field, `expected a number, got ${describe(value)}`);
  return number;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
