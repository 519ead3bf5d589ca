/**
 * Training on what was checked (StartTrainingInput.labels): each choice selects the right images of a
 * synthetic dataset with some images reviewed, the counts a run records are those images and their
 * garments, and a resumed run keeps the counts of its start.
 */
import { databaseExampleSource } from '../../src/db/training-examples';
import type { Lease } from '../../src/db/leases';
import { recordRunLabelCounts } from '../../src/db/training-progress';
import { trainingRunsByIds } from '../../src/db/training-runs';
import { InvalidTrainingParams, trainingParamsFromInput } from '../../src/jobs/training-params';
import { buildLabelSpace, labelCountsOf, loadDatasetImages, type TrainingLabels } from '../../src/ml/data/dataset';
import { syntheticDatabase, type SyntheticDatabase } from './support';

let db: SyntheticDatabase;
let trainIds: string[];
let reviewedTrain: string[];
let reviewedUpload: string;
let validationIds: string[];

const idsOf = async (sql: string, params: unknown[] = []) =>
  ((await db.dataSource.query(sql, params)) as { id: string }[]).map((row) => String(row.id));

/** An uploaded photo (no split) with one annotated garment copied from `from`; reviewed or not. */
async function upload(from: string, reviewed: boolean): Promise<string> {
  const [image] = await db.dataSource.query(
    `INSERT INTO images (file_name, image_path, width, height, reviewed_at)
     SELECT 'upload.jpg', image_path, width, height, CASE WHEN $2 THEN now() END FROM images WHERE id = $1 RETURNING id`,
    [from, reviewed],
  );
  await db.dataSource.query(
    `INSERT INTO garments (image_id, super_category, slot_index, category_id, x1, y1, x2, y2, source, search_terms, edited_at)
     SELECT $2, super_category, slot_index, category_id, x1, y1, x2, y2, 'annotation', search_terms, now()
       FROM garments WHERE image_id = $1 AND source = 'annotation' ORDER BY id LIMIT 1`,
    [from, image.id],
  );
  return String(image.id);
}

beforeAll(async () => {
  db = await syntheticDatabase(16, 5, 64);
  trainIds = await idsOf(`SELECT id FROM images WHERE split = 'train' ORDER BY id`);
  validationIds = await idsOf(`SELECT id FROM images WHERE split = 'validation' ORDER BY id`);
  reviewedTrain = [trainIds[1], trainIds[4], trainIds[7]];
  await db.dataSource.query(`UPDATE images SET reviewed_at = now() WHERE id = ANY($1::bigint[])`, [[...reviewedTrain, validationIds[0]]]);
  reviewedUpload = await upload(trainIds[0], true);
  await upload(trainIds[2], false); // never a training image: no split and not reviewed
});
afterAll(() => db?.cleanup());

/** Annotation garments per image, counted independently of the readers. */
async function garmentsOf(imageIds: string[]): Promise<number> {
  const [row] = await db.dataSource.query(
    `SELECT count(*)::int AS n FROM garments WHERE source = 'annotation' AND category_id IS NOT NULL AND image_id = ANY($1::bigint[])`,
    [imageIds],
  );
  return row.n;
}

async function selected(labels: TrainingLabels, maxImages: number | null = null, split: 'train' | 'validation' = 'train') {
  const source = databaseExampleSource(db.dataSource);
  const filter = { labels, maxImages };
  const space = await buildLabelSpace(source, filter);
  const images = await loadDatasetImages(source, filter, space, split);
  return { ids: images.map((image) => image.imageId), counts: labelCountsOf(images) };
}

it('ANNOTATIONS: the training images nobody reviewed', async () => {
  const unreviewed = trainIds.filter((id) => !reviewedTrain.includes(id));
  const { ids, counts } = await selected('ANNOTATIONS');
  expect(ids).toEqual(unreviewed);
  expect(counts).toEqual({
    annotatedImages: unreviewed.length,
    annotatedGarments: await garmentsOf(unreviewed),
    reviewedImages: 0,
    reviewedGarments: 0,
  });
});

it('REVIEWED: only reviewed images, a reviewed upload included, no reviewed validation image', async () => {
  const reviewed = [...reviewedTrain, reviewedUpload];
  const { ids, counts } = await selected('REVIEWED');
  expect(ids).toEqual(reviewed);
  expect(counts).toEqual({ annotatedImages: 0, annotatedGarments: 0, reviewedImages: 4, reviewedGarments: await garmentsOf(reviewed) });
  expect((await selected('REVIEWED', 2)).ids).toEqual(reviewedTrain.slice(0, 2));
});

it('BOTH: every training image and the reviewed upload, counted by kind', async () => {
  const unreviewed = trainIds.filter((id) => !reviewedTrain.includes(id));
  const { ids, counts } = await selected('BOTH');
  expect(ids).toEqual([...trainIds, reviewedUpload]);
  expect(counts).toEqual({
    annotatedImages: unreviewed.length,
    annotatedGarments: await garmentsOf(unreviewed),
    reviewedImages: 4,
    reviewedGarments: await garmentsOf([...reviewedTrain, reviewedUpload]),
  });
});

it('evaluates on the whole validation split whatever the labels', async () => {
  expect((await selected('REVIEWED', null, 'validation')).ids).toEqual(validationIds);
});

it('takes labels as a parameter, ANNOTATIONS by default, and refuses another value by name', () => {
  expect(trainingParamsFromInput({}).data.labels).toBe('ANNOTATIONS');
  expect(trainingParamsFromInput({ labels: 'REVIEWED' }).data.labels).toBe('REVIEWED');
  expect(() => trainingParamsFromInput({ labels: 'CHECKED' })).toThrow(InvalidTrainingParams);
  expect(() => trainingParamsFromInput({ labels: 'CHECKED' })).toThrow(/expected one of ANNOTATIONS, REVIEWED, BOTH/);
});

it('records the counts of a run once, fenced on its lease', async () => {
  const [run] = await db.dataSource.query(`INSERT INTO training_runs (params, status, worker) VALUES ('{}', 'running', 'w1') RETURNING id`);
  const lease: Lease = { table: 'training_runs', id: Number(run.id), worker: 'w1' };
  const first = { annotatedImages: 1, annotatedGarments: 2, reviewedImages: 3, reviewedGarments: 4 };
  await recordRunLabelCounts(db.dataSource, lease, first);
  await recordRunLabelCounts(db.dataSource, lease, { ...first, reviewedImages: 9 }); // a resumed attempt
  expect((await trainingRunsByIds(db.dataSource, [lease.id]))[0].labelCounts).toEqual(first);
  await expect(recordRunLabelCounts(db.dataSource, { ...lease, worker: 'w2' }, first)).rejects.toThrow(/no longer leased/);
});
