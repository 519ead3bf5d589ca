/**
 * Training data from the database (src/ml/data): the label space of a filtered split, targets in
 * that space, decoded batches at the model's size with mirrored boxes, determinism, and a corrupt
 * image skipped and reported.
 */
import * as fs from 'node:fs';
import { buildLabelSpace, loadDatasetImages, labelSpaceConfig, DatasetError } from '../../src/ml/data/dataset';
import { databaseExampleSource } from '../../src/db/training-examples';
import { epochBatches, epochPlan, loadSample, resizeScale } from '../../src/ml/data/loader';
import { SYNTH_CATEGORIES } from '../../src/kfashion/synth';
import { SuperCategory } from '../../src/kfashion/types';
import { syntheticDatabase, type SyntheticDatabase } from './support';

let db: SyntheticDatabase;

beforeAll(async () => {
  db = await syntheticDatabase(40, 11, 80);
});
afterAll(() => db.cleanup());

async function garmentCounts(split: string, superCategory?: string): Promise<Map<string, number>> {
  const rows: { value: string; n: number }[] = await db.dataSource.query(
    `SELECT v.value, count(*)::int AS n FROM garments g JOIN vocabulary v ON v.id = g.category_id
      WHERE g.split = $1 AND ($2::text IS NULL OR g.super_category = $2) GROUP BY v.value`,
    [split, superCategory ?? null],
  );
  return new Map(rows.map((r) => [r.value, r.n]));
}

it('derives classes and attribute values from the training split, most frequent first', async () => {
  const space = await buildLabelSpace(databaseExampleSource(db.dataSource), { attributeKinds: ['color', 'print'] });
  const counts = await garmentCounts('train');
  expect(space.classes.map((c) => c.name).sort()).toEqual([...counts.keys()].sort());
  for (const c of space.classes) expect(c.count).toBe(counts.get(c.name));
  expect(space.classes.map((c) => c.count)).toEqual([...space.classes.map((c) => c.count)].sort((a, b) => b - a));
  // Each synthetic category belongs to the slot it is drawn in.
  for (const c of space.classes) {
    const slot = Object.entries(SYNTH_CATEGORIES).find(([, list]) => list.some((e) => e.category === c.name))![0];
    expect(c.superCategory).toBe(slot);
  }
  expect(space.attributes.map((a) => [a.kind, a.type])).toEqual([
    ['color', 'single'],
    ['print', 'multi'],
  ]);
  const config = labelSpaceConfig(space);
  expect(config.class_names[0]).toBe('__background__');
  expect(config.num_classes).toBe(space.classes.length + 1);
});

it('filters by super-category and drops rare values', async () => {
  const tops = await buildLabelSpace(databaseExampleSource(db.dataSource), {
    superCategories: [SuperCategory.TOP],
    attributeKinds: ['color'],
    minValueCount: 3,
  });
  const counts = await garmentCounts('train', 'TOP');
  expect(tops.classes.map((c) => c.name).sort()).toEqual(
    [...counts]
      .filter(([, n]) => n >= 3)
      .map(([v]) => v)
      .sort(),
  );
  const colourCounts: { value: string; n: number }[] = await db.dataSource.query(
    `SELECT v.value, count(*)::int AS n FROM garments g JOIN garment_attributes ga ON ga.garment_id = g.id
       JOIN vocabulary v ON v.id = ga.vocabulary_id
      WHERE g.split = 'train' AND g.super_category = 'TOP' AND v.kind = 'color' GROUP BY v.value`,
  );
  expect(tops.attributes[0].values.sort()).toEqual(
    colourCounts
      .filter((r) => r.n >= 3)
      .map((r) => r.value)
      .sort(),
  );
  await expect(buildLabelSpace(databaseExampleSource(db.dataSource), { attributeKinds: ['colour'] })).rejects.toThrow(DatasetError);
  await expect(buildLabelSpace(databaseExampleSource(db.dataSource), { attributeKinds: ['colour'] })).rejects.toThrow(
    /unknown attribute kind "colour"/,
  );
});

it('gives each garment its class and attribute indices (null when unlabelled)', async () => {
  const space = await buildLabelSpace(databaseExampleSource(db.dataSource), { attributeKinds: ['color', 'collar', 'print'] });
  const images = await loadDatasetImages(databaseExampleSource(db.dataSource), {}, space, 'validation');
  const validationImages: { n: number }[] = await db.dataSource.query(
    `SELECT count(DISTINCT image_id)::int AS n FROM garments WHERE split = 'validation'`,
  );
  expect(images.length).toBe(validationImages[0].n);
  const one = images[0];
  expect(images.some((im) => im.garments.some((g) => g.attributes.color !== null))).toBe(true);
  const rows: { category: string; x1: number; color: string | null; collar: string | null }[] = await db.dataSource.query(
    `SELECT c.value AS category, g.x1,
            (SELECT v.value FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id WHERE ga.garment_id = g.id AND v.kind = 'color') AS color,
            (SELECT v.value FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id WHERE ga.garment_id = g.id AND v.kind = 'collar') AS collar
       FROM garments g JOIN vocabulary c ON c.id = g.category_id WHERE g.image_id = $1 ORDER BY g.id`,
    [one.imageId],
  );
  const colour = space.attributes.find((a) => a.kind === 'color')!;
  const collar = space.attributes.find((a) => a.kind === 'collar')!;
  expect(one.garments.length).toBe(rows.filter((r) => space.classes.some((c) => c.name === r.category)).length);
  one.garments.forEach((g, i) => {
    expect(space.classes[g.label - 1].name).toBe(rows[i].category);
    expect(g.box[0]).toBeCloseTo(rows[i].x1, 3);
    // A value the training split never shows is not in the label space: unlabelled for the model.
    const known = (spec: { values: string[] }, value: string | null) => (value !== null && spec.values.includes(value) ? value : null);
    expect(g.attributes.color === null ? null : colour.values[g.attributes.color as number]).toBe(known(colour, rows[i].color));
    expect(g.attributes.collar === null ? null : collar.values[g.attributes.collar as number]).toBe(known(collar, rows[i].collar));
  });
  expect(fs.existsSync(one.path!)).toBe(true);
});

it('decodes at the model size, mirrors boxes when flipped, and is deterministic for a seed', async () => {
  const space = await buildLabelSpace(databaseExampleSource(db.dataSource), {});
  const [image] = await loadDatasetImages(databaseExampleSource(db.dataSource), { maxImages: 1 }, space, 'train');
  const size = { minSize: 40, maxSize: 60 };
  const plain = await loadSample(image, size, false);
  const flipped = await loadSample(image, size, true);
  const scale = resizeScale(image.width, image.height, size);
  expect(plain.image.width).toBe(Math.round(image.width * scale));
  expect(plain.image.data.length).toBe(plain.image.width * plain.image.height * 3);
  const w = plain.image.width;
  plain.garments.forEach((g, i) => {
    const f = flipped.garments[i].box;
    expect(f[0]).toBeCloseTo(w - g.box[2], 3);
    expect(f[2]).toBeCloseTo(w - g.box[0], 3);
    expect(f[1]).toBeCloseTo(g.box[1], 3);
  });
  // Pixels are mirrored: row 10, first pixel of the flipped image = last pixel of the plain one.
  const row = 10 * w * 3;
  const last = row + (w - 1) * 3;
  expect(Math.abs(flipped.image.data[row] - plain.image.data[last])).toBeLessThanOrEqual(2);

  const options = { seed: 5, shuffle: true, flip: true };
  expect(epochPlan(30, options, 2)).toEqual(epochPlan(30, options, 2));
  expect(epochPlan(30, options, 2).order).not.toEqual(epochPlan(30, options, 3).order);
  expect([...epochPlan(30, options, 2).order].sort((a, b) => a - b)).toEqual([...Array(30).keys()]);
});

it('skips and reports a corrupt or missing image without failing the epoch', async () => {
  const space = await buildLabelSpace(databaseExampleSource(db.dataSource), {});
  const images = await loadDatasetImages(databaseExampleSource(db.dataSource), { maxImages: 6 }, space, 'train');
  const corrupt = images[1];
  const copy = `${corrupt.path}.bak`;
  fs.copyFileSync(corrupt.path!, copy);
  try {
    fs.writeFileSync(corrupt.path!, Buffer.from('not a jpeg at all'));
    const missing = { ...images[2], path: `${images[2].path}.missing` };
    const list = [images[0], corrupt, missing, ...images.slice(3)];
    const seen: string[] = [];
    const skipped: { imageId: string; reason: string }[] = [];
    for await (const batch of epochBatches(
      list,
      { batchSize: 2, seed: 1, flip: false, shuffle: false, size: { minSize: 48, maxSize: 48 } },
      0,
    )) {
      seen.push(...batch.samples.map((s) => s.source.imageId));
      skipped.push(...batch.skipped);
    }
    expect(skipped.map((s) => s.imageId).sort()).toEqual([corrupt.imageId, missing.imageId].sort());
    expect(skipped.every((s) => s.reason.length > 0)).toBe(true);
    expect(seen).toEqual(list.filter((i) => i !== corrupt && i !== missing).map((i) => i.imageId));
  } finally {
    fs.renameSync(copy, corrupt.path!);
  }
});
