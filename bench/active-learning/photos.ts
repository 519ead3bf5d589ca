/**
 * The bench's photos: drawn by src/kfashion/synth.ts (K-Fashion annotation JSON and a JPEG that shows its labels),
 * parsed by the importer's parser and decoded by the training loader, so the model sees what training on an
 * imported dataset would give it. The label space is the one synth.ts draws from: its categories as classes,
 * colour (single-label) and print (multi-label) as the attribute heads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseAnnotation } from '../../src/kfashion/parse';
import { SYNTH_CATEGORIES, SYNTH_COLORS, SYNTH_PRINTS, synthesize } from '../../src/kfashion/synth';
import type { DatasetImage } from '../../src/ml/data/dataset';
import { loadSample } from '../../src/ml/data/loader';
import type { AttributeSpec } from '../../src/ml/model/config';
import type { GroundTruthGarment } from '../../src/ml/eval';
import type { TrainingSample } from '../../src/ml/model/attribute-rcnn';

export const PHOTO_CLASS_NAMES = ['__background__', ...Object.values(SYNTH_CATEGORIES).flatMap((list) => list.map((c) => c.category))];
export const PHOTO_ATTRIBUTES: AttributeSpec[] = [
  { kind: 'color', type: 'single', values: Object.keys(SYNTH_COLORS) },
  { kind: 'print', type: 'multi', values: [...SYNTH_PRINTS] },
];

/** One photo with its true labels: as the model trains on them, and as the evaluation compares against them. */
export interface LabelledPhoto {
  /** the annotation's 이미지 식별자 */
  id: string;
  sample: TrainingSample;
  truth: GroundTruthGarment[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

function photoOf(json: string, jpegs: Map<string, string>, size: number): { image: DatasetImage; truth: GroundTruthGarment[] } {
  const parsed = parseAnnotation(readFileSync(json), json);
  if (!parsed.ok) throw new Error(`${json}: ${parsed.problems.map((p) => `${p.field}: ${p.reason}`).join('; ')}`);
  const { annotation } = parsed;
  const path = jpegs.get(annotation.externalId);
  if (!path) throw new Error(`no photo for annotation ${annotation.externalId}`);
  const image: DatasetImage = {
    imageId: annotation.externalId,
    path,
    width: annotation.width,
    height: annotation.height,
    garments: [],
    reviewed: false,
  };
  const truth: GroundTruthGarment[] = [];
  for (const garment of annotation.garments) {
    const label = garment.category === null ? -1 : PHOTO_CLASS_NAMES.indexOf(garment.category);
    if (label < 1) throw new Error(`annotation ${annotation.externalId}: category ${garment.category} is not one synth.ts draws`);
    const valuesOf = (kind: string) => garment.attributes.filter((a) => a.kind === kind).map((a) => a.value);
    const box: [number, number, number, number] = [garment.box.x1, garment.box.y1, garment.box.x2, garment.box.y2];
    const [color] = valuesOf('color');
    const prints = valuesOf('print');
    const colorIndex = PHOTO_ATTRIBUTES[0].values.indexOf(color);
    image.garments.push({
      box,
      label,
      attributes: { color: colorIndex < 0 ? null : colorIndex, print: prints.map((p) => PHOTO_ATTRIBUTES[1].values.indexOf(p)) },
    });
    truth.push({ box, label, attributes: { color: color ?? null, print: prints } });
  }
  if (annotation.width !== size || annotation.height !== size)
    throw new Error(`annotation ${annotation.externalId}: not ${size} px square`);
  return { image, truth };
}

/**
 * `count` photos of `size`² px drawn from `seed` into `dir`, in identifier order (the same seed gives the same
 * photos), decoded at the model's size.
 */
export async function drawPhotos(dir: string, count: number, seed: number, size: number): Promise<LabelledPhoto[]> {
  await synthesize({ outDir: dir, images: count, seed, width: size, height: size, validationFraction: 0 });
  const files = filesUnder(dir);
  const jpegs = new Map(files.filter((f) => extname(f) === '.jpg').map((f) => [basename(f, '.jpg'), f]));
  const photos = files.filter((f) => extname(f) === '.json').map((f) => photoOf(f, jpegs, size));
  photos.sort((a, b) => Number(a.image.imageId) - Number(b.image.imageId));
  return Promise.all(
    photos.map(async ({ image, truth }) => {
      const { image: decoded, garments } = await loadSample(image, { minSize: size, maxSize: size }, false);
      return { id: image.imageId, sample: { image: decoded, garments }, truth };
    }),
  );
}
