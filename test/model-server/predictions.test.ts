/**
 * Stored predictions (src/db/predictions.ts) are garments like the importer's: same vocabulary ids,
 * same search_terms rule (category + values + image styles), with scores, searchable with
 * source PREDICTION, and storing again replaces them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importDataset } from '../../src/db/import';
import { SearchService } from '../../src/db/search';
import { storePredictions, type PredictionModel, type StoredDetection } from '../../src/db/predictions';
import { VocabularyIds } from '../../src/db/import/vocabulary-ids';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { SAMPLES_DIR } from '../support/samples';

const SAMPLES = SAMPLES_DIR;
let db: TestDatabase;
let root: string;
let modelVersionId: number;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-pred-'));
  for (const id of ['100026', '1070263', '1092253']) {
    fs.mkdirSync(path.join(root, 'Training/라벨링데이터/로맨틱'), { recursive: true });
    fs.mkdirSync(path.join(root, 'Training/원천데이터/로맨틱'), { recursive: true });
    fs.copyFileSync(path.join(SAMPLES, `${id}.json`), path.join(root, `Training/라벨링데이터/로맨틱/${id}.json`));
    fs.copyFileSync(path.join(SAMPLES, `${id}.jpg`), path.join(root, `Training/원천데이터/로맨틱/${id}.jpg`));
  }
  db = await createPostgresTestDatabase();
  await importDataset(db.dataSource, { root, parseWorkers: 0 });
  const rows = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('m', 'resnet18', $1::jsonb, '/nonexistent') RETURNING id`,
    [
      JSON.stringify({
        attributes: [
          { kind: 'color', type: 'single' },
          { kind: 'print', type: 'multi' },
        ],
      }),
    ],
  );
  modelVersionId = Number(rows[0].id);
});
afterAll(async () => {
  await db.drop();
  fs.rmSync(root, { recursive: true, force: true });
});

const model = (): PredictionModel => ({
  id: modelVersionId,
  config: {
    attributes: [
      { kind: 'color', type: 'single' },
      { kind: 'print', type: 'multi' },
    ],
  },
  labelSpace: {
    classes: [
      { name: '블라우스', superCategory: 'TOP' },
      { name: '스커트', superCategory: 'BOTTOM' },
    ],
  },
});

function detection(label: number, className: string, colour: string, score: number): StoredDetection {
  return {
    box: [10, 20, 110, 220],
    label,
    className,
    score,
    attributes: {
      color: [
        { value: colour, probability: 0.8 },
        { value: '블랙', probability: 0.15 },
        { value: '화이트', probability: 0.05 },
      ],
      print: [
        { value: '체크', probability: 0.7 },
        { value: '도트', probability: 0.6 },
        { value: '무지', probability: 0.2 },
      ],
    },
  };
}

it("stores detections as scored PREDICTION garments with the importer's search terms", async () => {
  const [image] = await db.dataSource.query(`SELECT id FROM images WHERE external_id = '100026'`);
  const ids = await storePredictions(db.dataSource, String(image.id), model(), [
    detection(1, '블라우스', '핑크', 0.9),
    detection(2, '스커트', '네이비', 0.4),
  ]);
  expect(ids).toHaveLength(2);
  const garments = await db.dataSource.query(
    `SELECT g.id, g.super_category, g.source, g.score, g.model_version_id, g.search_terms, g.split, c.value AS category
       FROM garments g JOIN vocabulary c ON c.id = g.category_id WHERE g.id = ANY($1::bigint[]) ORDER BY g.id`,
    [ids],
  );
  expect(garments.map((g: any) => [g.category, g.super_category, g.source, g.model_version_id])).toEqual([
    ['블라우스', 'TOP', 'prediction', modelVersionId],
    ['스커트', 'BOTTOM', 'prediction', modelVersionId],
  ]);
  expect(garments[0].score).toBeCloseTo(0.9, 5);
  expect(garments[0].split).toBe('train');
  const attrs = await db.dataSource.query(
    `SELECT v.kind, v.value, v.value_en, ga.score FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
      WHERE ga.garment_id = $1 ORDER BY v.kind, v.value`,
    [ids[0]],
  );
  // Single kind: the most probable value; multi kind: every value at or above 0.5; category with the detection score.
  expect(attrs.map((a: any) => [a.kind, a.value])).toEqual([
    ['category', '블라우스'],
    ['color', '핑크'],
    ['print', '도트'],
    ['print', '체크'],
  ]);
  expect(attrs.find((a: any) => a.value === '핑크').value_en).toBe('pink');
  expect(attrs.find((a: any) => a.value === '체크').score).toBeCloseTo(0.7, 5);
  expect(attrs.find((a: any) => a.kind === 'category').score).toBeCloseTo(0.9, 5);
  // search_terms = the garment's value ids + the image's style ids, as the importer builds them.
  const styles = await db.dataSource.query(`SELECT style_id, sub_style_id FROM image_styles WHERE image_id = $1`, [image.id]);
  const valueIds = (await db.dataSource.query(`SELECT vocabulary_id FROM garment_attributes WHERE garment_id = $1`, [ids[0]])).map(
    (r: any) => r.vocabulary_id,
  );
  const styleIds = styles.flatMap((s: any) => [s.style_id, s.sub_style_id].filter((x: unknown) => x !== null));
  expect(garments[0].search_terms).toEqual([...new Set([...valueIds, ...styleIds])].sort((a, b) => a - b));
  expect(styleIds.length).toBeGreaterThan(0);

  const search = new SearchService(db.dataSource);
  const pink = await search.searchGarments({ source: 'prediction', color: ['pink'] }, { first: 10 });
  expect(pink.rows.map((r) => String(r.id))).toEqual([ids[0]]);
  const confident = await search.searchGarments({ source: 'prediction', minScore: 0.5 }, { first: 10 });
  expect(confident.rows.map((r) => String(r.id))).toEqual([ids[0]]);
  const annotatedPink = await search.searchGarments({ source: 'annotation', color: ['pink'], category: ['블라우스'] }, { first: 10 });
  expect(annotatedPink.rows.every((r) => r.source === 'annotation')).toBe(true);
});

it('replaces the earlier predictions of the same model version on the image', async () => {
  const [image] = await db.dataSource.query(`SELECT id FROM images WHERE external_id = '1070263'`);
  await storePredictions(db.dataSource, String(image.id), model(), [
    detection(1, '블라우스', '핑크', 0.9),
    detection(1, '블라우스', '레드', 0.8),
  ]);
  const again = await storePredictions(db.dataSource, String(image.id), model(), [detection(2, '스커트', '블랙', 0.7)]);
  const rows = await db.dataSource.query(`SELECT id, slot_index FROM garments WHERE image_id = $1 AND source = 'prediction'`, [image.id]);
  expect(rows.map((r: any) => String(r.id))).toEqual(again);
  const annotations = await db.dataSource.query(`SELECT count(*)::int AS n FROM garments WHERE image_id = $1 AND source = 'annotation'`, [
    image.id,
  ]);
  expect(annotations[0].n).toBeGreaterThan(0);
  // Two detections of one slot get slot indices 0 and 1 (checked on a fresh image).
  const [other] = await db.dataSource.query(`SELECT id FROM images WHERE external_id = '1092253'`);
  const two = await storePredictions(db.dataSource, String(other.id), model(), [
    detection(1, '블라우스', '핑크', 0.9),
    detection(1, '블라우스', '레드', 0.8),
  ]);
  const slots = await db.dataSource.query(`SELECT slot_index FROM garments WHERE id = ANY($1::bigint[]) ORDER BY id`, [two]);
  expect(slots.map((s: any) => s.slot_index)).toEqual([0, 1]);
});

it('upserts vocabulary terms from many writers at once without deadlocking', async () => {
  // Writers that store predictions in parallel upsert overlapping terms; the upsert locks the rows it
  // finds, so two writers taking them in opposite orders used to wait on each other in a cycle.
  const terms = Array.from({ length: 400 }, (_, n) => ({ kind: 'detail' as const, value: `디테일-${String(n).padStart(3, '0')}` }));
  const annotation = (order: typeof terms) => ({ garments: [{ category: null, attributes: order }], styles: [] });
  await new VocabularyIds(db.dataSource).ensure([annotation(terms)]);
  const writers = Array.from({ length: 8 }, (_, n) =>
    new VocabularyIds(db.dataSource).ensure([annotation(n % 2 ? [...terms].reverse() : terms)]),
  );
  const settled = await Promise.allSettled(writers);
  expect(settled.filter((s) => s.status === 'rejected').map((s) => String(s.reason))).toEqual([]);
});
