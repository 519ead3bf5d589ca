/**
 * Issue 23, "Must show" 1, over GraphQL on real servers: a model version predicts the training split
 * through a model server (predictImages) → reviewQueue lists the images it is least sure about, with
 * the reasons → an editor corrects three garments on two of them (a box, an attribute, an added
 * garment) and marks both reviewed → they leave the queue → startTraining with labels REVIEWED → the
 * run succeeds and its labelCounts are exactly those two images and their garments after the
 * corrections, and it trained on those two images only.
 *
 * The predicting model is an untrained tiny one that reports every box (storeTinyModelVersion): what
 * is shown is the loop, not the quality of a model; under a minute and a half on 2 cores.
 */
import 'reflect-metadata';
import { createApiToken } from '../../src/db/api-tokens';
import { globalId } from '../../src/graphql/ids';
import type { RunningModelServer } from '../../src/model-server/server';
import { startTestServer, type ApiClient } from '../graphql/support';
import {
  startWasmModelServer,
  storeTinyModelVersion,
  syntheticDatabase,
  TINY_MODEL,
  type SyntheticDatabase,
} from '../model-server/support';
import { eventually } from './processes';

jest.setTimeout(180_000);

const SIZE = 64;
let db: SyntheticDatabase;
let admin: ApiClient;
let editor: ApiClient;
let viewer: ApiClient;
let modelServer: RunningModelServer;
let versionId: string;

beforeAll(async () => {
  db = await syntheticDatabase(24, 31, SIZE);
  versionId = globalId('ModelVersion', await storeTinyModelVersion(db, SIZE));
  modelServer = await startWasmModelServer(db);
  admin = await startTestServer(db.dataSource, { modelServerUrl: modelServer.http.url, dataDir: db.dataDir, publicRead: false });
  editor = admin.as((await createApiToken(db.dataSource, { role: 'editor', name: 'reviewer' })).token);
  viewer = admin.as((await createApiToken(db.dataSource, { role: 'viewer', name: 'looker' })).token);
});
afterAll(async () => {
  await admin?.server.stop();
  await modelServer?.stop();
  await db?.cleanup();
});

const QUEUE = `query($first: Int) {
  reviewQueue(where: { split: TRAIN }, first: $first) {
    edges {
      score
      reasons { kind score detail garment { id source } }
      node { id width height garments(source: ANNOTATION) { id revision category box { x1 y1 x2 y2 } attributes { kind value } } }
    }
  }
}`;

interface QueueImage {
  id: string;
  width: number;
  height: number;
  garments: {
    id: string;
    revision: number;
    category: string;
    box: { x1: number; y1: number; x2: number; y2: number };
    attributes: { kind: string; value: string }[];
  }[];
}

async function annotationGarmentIds(imageId: string): Promise<string[]> {
  const { image } = await viewer.data(`query($id: ID!) { image(id: $id) { garments(source: ANNOTATION) { id } } }`, { id: imageId });
  return image.garments.map((g: { id: string }) => g.id);
}

it('predict → review queue → correct a box, an attribute and a missing garment → train on reviewed images → the run reports them', async () => {
  // Predict the training split with the active model version, through the model server.
  await admin.data(`mutation($id: ID!) { activateModelVersion(id: $id) { id } }`, { id: versionId });
  const { predictImages } = await admin.data(
    `mutation($v: ID!) { predictImages(modelVersionId: $v, where: { split: TRAIN }, chunkSize: 6) { id total } }`,
    { v: versionId },
  );
  const [{ n: trainImages }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM images WHERE split = 'train'`);
  expect(predictImages.total).toBe(trainImages);
  await eventually(
    async () => {
      const { predictionJob } = await admin.data(`query($id: ID!) { predictionJob(id: $id) { status error } }`, { id: predictImages.id });
      expect(predictionJob.error).toBeNull();
      return predictionJob.status === 'SUCCEEDED' ? predictionJob : undefined;
    },
    90_000,
    'the prediction job',
  );

  // The queue: every predicted training image, most doubtful first, each score its strongest reason's.
  const queued: { score: number; reasons: any[]; node: QueueImage }[] = (await viewer.data(QUEUE, { first: 50 })).reviewQueue.edges;
  expect(queued).toHaveLength(trainImages);
  for (let i = 1; i < queued.length; i++) expect(queued[i].score).toBeLessThanOrEqual(queued[i - 1].score);
  for (const edge of queued) {
    expect(edge.reasons.length).toBeGreaterThan(0);
    expect(edge.score).toBeCloseTo(edge.reasons[0].score, 6);
  }
  expect(queued[0].reasons.some((reason) => reason.garment !== null)).toBe(true);
  const [first, second] = queued.map((edge) => edge.node);

  // Correct: one box (1 px tighter on each side), one attribute (another colour), one garment added.
  const boxed = first.garments[0];
  const tighter = { x1: boxed.box.x1 + 1, y1: boxed.box.y1 + 1, x2: boxed.box.x2 - 1, y2: boxed.box.y2 - 1 };
  const { updateGarment: movedGarment } = await editor.data(
    `mutation($input: UpdateGarmentInput!) { updateGarment(input: $input) { revision box { x1 y1 x2 y2 } } }`,
    { input: { id: boxed.id, revision: boxed.revision, box: tighter } },
  );
  expect(movedGarment.revision).toBe(boxed.revision + 1);
  for (const side of ['x1', 'y1', 'x2', 'y2'] as const) expect(movedGarment.box[side]).toBeCloseTo(tighter[side], 3);

  const recoloured = second.garments[0];
  const colour = recoloured.attributes.find((a) => a.kind === 'COLOR')?.value;
  const { vocabulary } = await viewer.data(`{ vocabulary(kind: COLOR) { value } }`);
  const otherColour = vocabulary.map((entry: { value: string }) => entry.value).find((value: string) => value !== colour);
  const { updateGarment: recolouredGarment } = await editor.data(
    `mutation($input: UpdateGarmentInput!) { updateGarment(input: $input) { attributes { kind value } } }`,
    { input: { id: recoloured.id, revision: recoloured.revision, attributes: [{ kind: 'COLOR', values: [otherColour] }] } },
  );
  expect(recolouredGarment.attributes.filter((a: { kind: string }) => a.kind === 'COLOR')).toEqual([{ kind: 'COLOR', value: otherColour }]);

  const { addGarment } = await editor.data(`mutation($input: AddGarmentInput!) { addGarment(input: $input) { id source } }`, {
    input: {
      imageId: first.id,
      category: recoloured.category,
      box: { x1: 2, y1: 2, x2: Math.min(30, first.width), y2: Math.min(30, first.height) },
      attributes: [{ kind: 'COLOR', values: [otherColour] }],
    },
  });
  expect(addGarment.source).toBe('ANNOTATION');

  for (const image of [first, second]) {
    const { markImageReviewed } = await editor.data(`mutation($id: ID!) { markImageReviewed(id: $id) { reviewedAt } }`, { id: image.id });
    expect(markImageReviewed.reviewedAt).not.toBeNull();
  }
  const after = (await viewer.data(QUEUE, { first: 50 })).reviewQueue.edges.map((edge: { node: QueueImage }) => edge.node.id);
  expect(after).toHaveLength(trainImages - 2);
  expect(after).not.toContain(first.id);
  expect(after).not.toContain(second.id);

  // Train on the reviewed images only; the run records what it learns from when it starts.
  const reviewedGarments = [...(await annotationGarmentIds(first.id)), ...(await annotationGarmentIds(second.id))];
  expect(reviewedGarments).toContain(addGarment.id);
  const { backbone, ...model } = TINY_MODEL;
  const { startTraining } = await admin.data(
    `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id params { labels } } }`,
    {
      input: {
        name: 'reviewed',
        backbone,
        model: { ...model, min_size: SIZE, max_size: SIZE },
        labels: 'REVIEWED',
        attributeKinds: ['color'],
        epochs: 1,
        batchSize: 2,
        warmupIterations: 1,
        evalMaxImages: 2,
      },
    },
  );
  expect(startTraining.params.labels).toBe('REVIEWED');
  const run = await eventually(
    async () => {
      const { trainingRun } = await admin.data(
        `query($id: ID!) { trainingRun(id: $id) { status error progress { trainImages }
           labelCounts { annotatedImages annotatedGarments reviewedImages reviewedGarments } } }`,
        { id: startTraining.id },
      );
      expect(trainingRun.error).toBeNull();
      return trainingRun.status === 'SUCCEEDED' ? trainingRun : undefined;
    },
    120_000,
    'the training run',
  );
  expect(run.labelCounts).toEqual({
    annotatedImages: 0,
    annotatedGarments: 0,
    reviewedImages: 2,
    reviewedGarments: reviewedGarments.length,
  });
  expect(run.progress.trainImages).toBe(2);
});
