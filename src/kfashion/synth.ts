/**
 * Synthetic K-Fashion data: annotation JSON in the real dataset's shape and folder layout (what
 * parse.ts reads) and, unless switched off, a JPEG per annotation that really shows its labels
 * (category → shape, 색상 → fill colour, 프린트 → pattern). Used by the import benchmark (100k JSON files) and by the ML
 * tests (small pictures a detector can learn). The same seed gives the same bytes.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import sharp from 'sharp';
import { ANNOTATION_KEYS as K, KOREAN_BY_SUPER_CATEGORY, LABEL_KEY_BY_KIND, GarmentAttributeKind, SuperCategory } from './types';
import { LABELS_BY_KIND } from './vocabulary';
import { Canvas, GarmentDrawing, PrintPattern, Rgb, round3, shapeOutline, ShapeName } from './synth-draw';
import { deriveSeed, Random } from './synth-random';

export interface SynthOptions {
  outDir: string;
  images: number;
  seed?: number;
  withImages?: boolean;
  width?: number;
  height?: number;
  validationFraction?: number;
}

export interface SynthSummary {
  files: number;
  garments: number;
  imagesWritten: number;
}

/** Categories drawn, a few per super-category, each with its own shape so it can be learnt. Most common first. */
export const SYNTH_CATEGORIES: Readonly<Record<SuperCategory, readonly { category: string; shape: ShapeName }[]>> = {
  [SuperCategory.TOP]: [
    { category: '티셔츠', shape: 'tShape' },
    { category: '블라우스', shape: 'invertedTrapezoid' },
    { category: '셔츠', shape: 'rectangle' },
  ],
  [SuperCategory.BOTTOM]: [
    { category: '팬츠', shape: 'legs' },
    { category: '스커트', shape: 'ellipse' },
  ],
  [SuperCategory.OUTER]: [
    { category: '재킷', shape: 'chamferedRectangle' },
    { category: '코트', shape: 'trapezoid' },
  ],
  [SuperCategory.ONE_PIECE]: [
    { category: '드레스', shape: 'triangle' },
    { category: '점프수트', shape: 'diamond' },
  ],
};

/** Fill colour per 색상 drawn; far apart from each other and from the grey background. Most common first. */
export const SYNTH_COLORS: Readonly<Record<string, Rgb>> = {
  블랙: [25, 25, 25],
  화이트: [250, 250, 250],
  네이비: [30, 40, 105],
  베이지: [230, 205, 160],
  그레이: [120, 120, 120],
  블루: [40, 90, 215],
  레드: [210, 30, 40],
  브라운: [125, 70, 35],
  핑크: [245, 145, 190],
  카키: [125, 130, 60],
  그린: [40, 155, 65],
  옐로우: [245, 215, 40],
};

/** 프린트 values drawn (most common first); a second print is only ever 도트, so cloth colour stays dominant. */
export const SYNTH_PRINTS: readonly PrintPattern[] = ['무지', '스트라이프', '체크', '도트'];

/** The dataset's two split folders. */
type SplitFolder = 'Training' | 'Validation';
const LABEL_DIR = '라벨링데이터';
const IMAGE_DIR = '원천데이터';
const NO_STYLE_DIR = '기타';
const FIRST_IDENTIFIER = 1_000_001;
/** JPEGs encoded at once on sharp's threads while the main thread draws the next pictures. */
const IMAGE_CONCURRENCY = 4;

/** Which super-categories appear together, with rough frequencies (ONE_PIECE rarely with TOP/BOTTOM). */
const SLOT_COMBINATIONS: readonly (readonly [SuperCategory[], number])[] = [
  [[SuperCategory.TOP, SuperCategory.BOTTOM], 35],
  [[SuperCategory.TOP], 12],
  [[SuperCategory.ONE_PIECE], 12],
  [[SuperCategory.OUTER, SuperCategory.TOP, SuperCategory.BOTTOM], 15],
  [[SuperCategory.OUTER, SuperCategory.TOP], 8],
  [[SuperCategory.OUTER, SuperCategory.ONE_PIECE], 6],
  [[SuperCategory.BOTTOM], 6],
  [[SuperCategory.OUTER], 6],
];

/** Optional attributes: how often each is labelled, and on which super-categories it makes sense. */
const OPTIONAL_SINGLE_KINDS: readonly { kind: GarmentAttributeKind; probability: number; on?: SuperCategory[] }[] = [
  { kind: 'subColor', probability: 0.3 },
  { kind: 'length', probability: 0.8 },
  { kind: 'sleeveLength', probability: 0.85, on: [SuperCategory.TOP, SuperCategory.OUTER, SuperCategory.ONE_PIECE] },
  { kind: 'neckline', probability: 0.6, on: [SuperCategory.TOP, SuperCategory.ONE_PIECE] },
  { kind: 'collar', probability: 0.35, on: [SuperCategory.TOP, SuperCategory.OUTER, SuperCategory.ONE_PIECE] },
  { kind: 'fit', probability: 0.75 },
];

/** Real files spell 노멀 as 노말 now and then; the parser folds it back. */
const MISSPELLING_PROBABILITY = 0.2;
/** Real files sometimes start with a byte order mark. */
const BOM_PROBABILITY = 0.05;
/** Share of files whose 이미지 파일명 differs from the JPEG's name on disk, so importers must match by identifier. */
const RENAMED_PROBABILITY = 0.3;

interface SynthGarment {
  superCategory: SuperCategory;
  category: string;
  shape: ShapeName;
  colorName: string;
  prints: PrintPattern[];
  /** Rect as written: top-left plus integer width and height, like the real files. */
  rect: { x: number; y: number; width: number; height: number };
  labels: Record<string, string | string[]>;
}

interface SynthImage {
  id: number;
  split: SplitFolder;
  styleDir: string;
  json: Buffer;
  garments: SynthGarment[];
}

export async function synthesize(options: SynthOptions, onProgress?: (done: number) => void): Promise<SynthSummary> {
  const settings = {
    seed: options.seed ?? 1,
    withImages: options.withImages ?? true,
    width: options.width ?? 320,
    height: options.height ?? 320,
    validationFraction: options.validationFraction ?? 0.1,
  };
  checkOptions(options, settings);
  const directories = new DirectoryMaker();
  const summary: SynthSummary = { files: 0, garments: 0, imagesWritten: 0 };
  let done = 0;
  // Files are written synchronously: each is a few kB, and an async write costs three thread-pool
  // round trips (open, write, close), which made the JSON-only path wait on I/O half the time.
  // Only the JPEG encoding (sharp, off the main thread) is awaited, a few images at a time.
  await runPool(options.images, settings.withImages ? IMAGE_CONCURRENCY : 1, async (index) => {
    const image = generateImage(index, settings);
    writeFileSync(join(directories.ensure(options.outDir, image.split, LABEL_DIR, image.styleDir), `${image.id}.json`), image.json);
    summary.files++;
    summary.garments += image.garments.length;
    if (settings.withImages) {
      const jpeg = await drawImage(image.garments, new Random(deriveSeed(settings.seed, index, 1)), settings);
      writeFileSync(join(directories.ensure(options.outDir, image.split, IMAGE_DIR, image.styleDir), `${image.id}.jpg`), jpeg);
      summary.imagesWritten++;
    }
    onProgress?.(++done);
  });
  return summary;
}

function checkOptions(options: SynthOptions, settings: { width: number; height: number; validationFraction: number; seed: number }): void {
  const positiveInteger = (value: number) => Number.isInteger(value) && value > 0;
  if (!Number.isInteger(options.images) || options.images < 0)
    throw new Error(`images must be a non-negative integer, got ${options.images}`);
  if (!positiveInteger(settings.width) || !positiveInteger(settings.height) || settings.width < 32 || settings.height < 32) {
    throw new Error(`size must be at least 32x32 pixels, got ${settings.width}x${settings.height}`);
  }
  if (!(settings.validationFraction >= 0 && settings.validationFraction <= 1)) {
    throw new Error(`validationFraction must be between 0 and 1, got ${settings.validationFraction}`);
  }
  if (!Number.isInteger(settings.seed)) throw new Error(`seed must be an integer, got ${settings.seed}`);
}

// ---------------------------------------------------------------------------------------------
// Annotations

function generateImage(index: number, settings: { seed: number; width: number; height: number; validationFraction: number }): SynthImage {
  const random = new Random(deriveSeed(settings.seed, index, 0));
  const id = FIRST_IDENTIFIER + index;
  const split = random.chance(settings.validationFraction) ? 'Validation' : 'Training';
  const styles = generateStyles(random);
  const garments = layoutGarments(random.weighted(SLOT_COMBINATIONS), random, settings).map((placed) => ({
    ...placed,
    labels: generateLabels(placed, random),
  }));
  const fileName = random.chance(RENAMED_PROBABILITY) ? shopStyleFileName(random) : `${id}.jpg`;
  const annotation = annotationJson({ id, fileName, width: settings.width, height: settings.height, styles, garments, random });
  const bom = random.chance(BOM_PROBABILITY) ? '\ufeff' : '';
  return {
    id,
    split,
    styleDir: styles[0]?.style ?? NO_STYLE_DIR,
    json: Buffer.from(bom + JSON.stringify(annotation), 'utf-8'),
    garments,
  };
}

function generateStyles(random: Random): { style: string; subStyle?: string }[] {
  if (random.chance(0.08)) return [];
  const words = Object.keys(LABELS_BY_KIND.style);
  const style = random.pickSkewed(words, 1.1);
  if (!random.chance(0.4)) return [{ style }];
  return [
    {
      style,
      subStyle: random.pickSkewed(
        words.filter((word) => word !== style),
        1.1,
      ),
    },
  ];
}

function generateLabels(garment: Omit<SynthGarment, 'labels'>, random: Random): Record<string, string | string[]> {
  const labels: Record<string, string | string[]> = {
    [LABEL_KEY_BY_KIND.category]: garment.category,
    [LABEL_KEY_BY_KIND.color]: garment.colorName,
  };
  for (const { kind, probability, on } of OPTIONAL_SINGLE_KINDS) {
    if ((on && !on.includes(garment.superCategory)) || !random.chance(probability)) continue;
    const choices =
      kind === 'subColor' ? Object.keys(SYNTH_COLORS).filter((name) => name !== garment.colorName) : Object.keys(LABELS_BY_KIND[kind]);
    const value = random.pickSkewed(choices, 1.2);
    labels[LABEL_KEY_BY_KIND[kind]] = value === '노멀' && random.chance(MISSPELLING_PROBABILITY) ? '노말' : value;
  }
  if (random.chance(0.85)) {
    labels[LABEL_KEY_BY_KIND.material] = random.sampleSkewed(Object.keys(LABELS_BY_KIND.material), random.int(1, 2), 0.9);
  }
  labels[LABEL_KEY_BY_KIND.print] = garment.prints;
  if (random.chance(0.6)) {
    labels[LABEL_KEY_BY_KIND.detail] = random.sampleSkewed(Object.keys(LABELS_BY_KIND.detail), random.int(1, 3), 0.9);
  }
  return labels;
}

/** Like the real shop photos' names: "nt2157k07-nt2157k07-s_3.jpg". */
function shopStyleFileName(random: Random): string {
  const code = Array.from({ length: 9 }, () => random.pick('abcdefghijklmnopqrstuvwxyz0123456789'.split(''))).join('');
  return `${code}-${code}-s_${random.int(1, 9)}.jpg`;
}

/** The JSON object in the real file's key order: every slot present, `[{}]` for an absent one. */
function annotationJson(input: {
  id: number;
  fileName: string;
  width: number;
  height: number;
  styles: { style: string; subStyle?: string }[];
  garments: SynthGarment[];
  random: Random;
}): object {
  const slots = (fill: (garment: SynthGarment) => object) =>
    Object.fromEntries(
      Object.values(KOREAN_BY_SUPER_CATEGORY).map((slot) => {
        const garment = input.garments.find((candidate) => KOREAN_BY_SUPER_CATEGORY[candidate.superCategory] === slot);
        return [slot, [garment ? fill(garment) : {}]];
      }),
    );
  const styleEntries = input.styles.map(({ style, subStyle }) =>
    subStyle ? { [K.style]: style, [K.subStyle]: subStyle } : { [K.style]: style },
  );
  return {
    [K.imageInfo]: { [K.imageId]: input.id, [K.imageHeight]: input.height, [K.imageFileName]: input.fileName, [K.imageWidth]: input.width },
    [K.datasetInfo]: {
      [K.createdAt]: creationDate(input.random),
      [K.details]: {
        [K.rect]: slots(({ rect }) => ({ [K.rectX]: rect.x, [K.rectY]: rect.y, [K.rectWidth]: rect.width, [K.rectHeight]: rect.height })),
        [K.polygon]: slots((garment) => polygonJson(garment, input.random)),
        [K.labels]: { [K.style]: styleEntries.length > 0 ? styleEntries : [{}], ...slots((garment) => garment.labels) },
      },
      [K.fileNumber]: input.id,
      [K.fileName]: input.fileName,
    },
  };
}

/** X좌표N / Y좌표N keys in shuffled order, as in the real files. */
function polygonJson(garment: SynthGarment, random: Random): object {
  const { x, y, width, height } = garment.rect;
  const entries = shapeOutline(garment.shape, x, y, width, height).flatMap((point, k) => [
    [`${K.polygonXPrefix}${k + 1}`, point.x] as const,
    [`${K.polygonYPrefix}${k + 1}`, point.y] as const,
  ]);
  return Object.fromEntries(random.shuffle(entries));
}

/** "2020-MM-DD HH:MM:SS" in the second half of 2020, when the real files were made. */
function creationDate(random: Random): string {
  const start = Date.UTC(2020, 6, 1);
  const end = Date.UTC(2021, 0, 1);
  const date = new Date(start + Math.floor(random.uniform(0, (end - start) / 1000)) * 1000);
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

// ---------------------------------------------------------------------------------------------
// Layout

/** Vertical band (fractions of the height) and size ranges per super-category: tops high, bottoms low. */
const PLACEMENT: Readonly<Record<SuperCategory, { band: [number, number]; width: [number, number]; height: [number, number] }>> = {
  [SuperCategory.OUTER]: { band: [0, 0.75], width: [0.35, 0.6], height: [0.35, 0.6] },
  [SuperCategory.TOP]: { band: [0, 0.7], width: [0.3, 0.55], height: [0.3, 0.5] },
  [SuperCategory.BOTTOM]: { band: [0.3, 1], width: [0.25, 0.5], height: [0.3, 0.55] },
  [SuperCategory.ONE_PIECE]: { band: [0, 1], width: [0.3, 0.5], height: [0.5, 0.8] },
};
const PLACEMENT_ATTEMPTS = 60;
/** The middle of each box (this fraction of its size) is never covered by another garment's box. */
const VISIBLE_CENTRE = 0.4;
/** Two boxes may share at most this fraction of the smaller one. */
const MAX_OVERLAP = 0.25;

type Rect = SynthGarment['rect'];

/** Place each garment of the combination; one that finds no free spot is left out (never the first). */
function layoutGarments(
  slots: readonly SuperCategory[],
  random: Random,
  size: { width: number; height: number },
): Omit<SynthGarment, 'labels'>[] {
  const placed: Omit<SynthGarment, 'labels'>[] = [];
  for (const superCategory of slots) {
    const { category, shape } = random.pickSkewed(SYNTH_CATEGORIES[superCategory], 1);
    const colorName = random.pickSkewed(Object.keys(SYNTH_COLORS), 0.9);
    const firstPrint = random.pickSkewed(SYNTH_PRINTS, 1.3);
    const prints: PrintPattern[] =
      firstPrint !== '무지' && firstPrint !== '도트' && random.chance(0.15) ? [firstPrint, '도트'] : [firstPrint];
    const rect = findSpot(
      superCategory,
      placed.map((garment) => garment.rect),
      random,
      size,
    );
    if (rect) placed.push({ superCategory, category, shape, colorName, prints, rect });
  }
  return placed;
}

function findSpot(superCategory: SuperCategory, others: Rect[], random: Random, size: { width: number; height: number }): Rect | undefined {
  const { band, width, height } = PLACEMENT[superCategory];
  for (let attempt = 0; attempt < PLACEMENT_ATTEMPTS; attempt++) {
    const w = Math.round(random.uniform(width[0], width[1]) * size.width);
    const h = Math.round(random.uniform(height[0], height[1]) * size.height);
    const top = band[0] * size.height;
    const bottom = Math.max(top, band[1] * size.height - h);
    const rect = { x: round3(random.uniform(0, size.width - w - 0.001)), y: round3(random.uniform(top, bottom)), width: w, height: h };
    if (rect.y + h > size.height) continue;
    if (others.every((other) => compatible(rect, other))) return rect;
  }
  return undefined;
}

function compatible(a: Rect, b: Rect): boolean {
  const overlap = intersectionArea(a, b);
  if (overlap > MAX_OVERLAP * Math.min(a.width * a.height, b.width * b.height)) return false;
  return intersectionArea(centre(a), b) === 0 && intersectionArea(centre(b), a) === 0;
}

function centre(rect: Rect): Rect {
  const margin = (1 - VISIBLE_CENTRE) / 2;
  return {
    x: rect.x + rect.width * margin,
    y: rect.y + rect.height * margin,
    width: rect.width * VISIBLE_CENTRE,
    height: rect.height * VISIBLE_CENTRE,
  };
}

function intersectionArea(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

// ---------------------------------------------------------------------------------------------
// Pictures and files

/** Outer garments are drawn last, over what they are worn on. */
const DRAW_ORDER: readonly SuperCategory[] = [SuperCategory.BOTTOM, SuperCategory.TOP, SuperCategory.ONE_PIECE, SuperCategory.OUTER];

async function drawImage(garments: SynthGarment[], random: Random, size: { width: number; height: number }): Promise<Buffer> {
  const canvas = new Canvas(size.width, size.height);
  canvas.fillBackground(random);
  const ordered = [...garments].sort((a, b) => DRAW_ORDER.indexOf(a.superCategory) - DRAW_ORDER.indexOf(b.superCategory));
  for (const garment of ordered) canvas.drawGarment(toDrawing(garment));
  return sharp(canvas.pixels, { raw: { width: size.width, height: size.height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

function toDrawing(garment: SynthGarment): GarmentDrawing {
  const { x, y, width, height } = garment.rect;
  return {
    outline: shapeOutline(garment.shape, x, y, width, height),
    origin: { x, y },
    color: SYNTH_COLORS[garment.colorName],
    prints: garment.prints,
  };
}

/** Creates each directory once and remembers it. */
class DirectoryMaker {
  private readonly made = new Set<string>();

  ensure(...parts: string[]): string {
    const directory = join(...parts);
    if (!this.made.has(directory)) {
      mkdirSync(directory, { recursive: true });
      this.made.add(directory);
    }
    return directory;
  }
}

/** Runs task(0..count-1) with at most `concurrency` in flight; indices are handed out in order. */
async function runPool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
