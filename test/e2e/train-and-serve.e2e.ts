/**
 * Issue 4, "Must show" 1, on the CPU, as far as this machine allows: synthetic K-Fashion photos →
 * importer → startTraining over GraphQL with a small ResNet-18 configuration → progress pushed over
 * graphql-ws → the run succeeds and its loss falls → the model version (with its evaluation on the
 * held-out split) is activated → analyzeImage on a new synthetic photo through the model server → its
 * garment is found by searchGarments with source PREDICTION and the colour the model gave it.
 *
 * Not asserted here: box AP@0.5 and colour accuracy thresholds. Calibration on this machine (2 shared
 * cores, wasm, 1.3–2.6 training images/s for this configuration) gave box AP@0.5 0.006 after 2 epochs
 * of 267 images (5 minutes); a from-scratch detector (FrozenBatchNorm ResNet, no pretrained weights
 * here) needs far more steps than a test can afford, so the learning thresholds are reported, not
 * asserted (bench/RESULTS.md "Training"; E2E_EPOCHS trains longer and prints the metrics).
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { synthesize } from '../../src/kfashion/synth';
import { parseAnnotation } from '../../src/kfashion/parse';
import { englishLabel } from '../../src/kfashion/vocabulary';
import { configureTrainingApi, closeTrainingApi } from '../../src/graphql/training/services';
import { startModelServer, type RunningModelServer } from '../../src/model-server/server';
import { startTestServer, type ApiClient } from '../graphql/support';
import { syntheticDatabase, type SyntheticDatabase } from '../model-server/support';

jest.setTimeout(900_000);

const IMAGES = Number(process.env.E2E_IMAGES ?? 180);
const EPOCHS = Number(process.env.E2E_EPOCHS ?? 2);
const LR = Number(process.env.E2E_LR ?? 0.006);
const CLIP = process.env.E2E_CLIP ? Number(process.env.E2E_CLIP) : null;
const SIZE = 64;
const MODEL = {
  min_size: SIZE, max_size: SIZE, representation_size: 128, fpn_out_channels: 64,
  rpn_pre_nms_top_n_train: 300, rpn_post_nms_top_n_train: 150, rpn_pre_nms_top_n_test: 150, rpn_post_nms_top_n_test: 50,
  rpn_batch_size_per_image: 64, box_batch_size_per_image: 64, box_detections_per_img: 10, trainable_backbone_layers: 0,
  // A model this briefly trained scores its boxes low: keep its best boxes rather than none.
  box_score_thresh: 0,
};

let db: SyntheticDatabase;
let api: ApiClient;
let modelServer: RunningModelServer;
const extra = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-e2e-photo-'));

beforeAll(async () => {
  db = await syntheticDatabase(IMAGES, 21, SIZE);
  modelServer = await startModelServer({
    dataSource: db.dataSource, databaseUrl: db.url, dataDir: db.dataDir, port: 0, host: '127.0.0.1',
    backend: 'wasm', leaseTimeoutSeconds: 120, pollIntervalMs: 200, log: () => undefined,
  });
  configureTrainingApi({ databaseUrl: db.url, modelServerUrl: modelServer.http.url, dataDir: db.dataDir });
  api = await startTestServer(db.dataSource);
});
afterAll(async () => {
  await api?.server.stop();
  await closeTrainingApi();
  await modelServer?.stop();
  await db.cleanup();
  fs.rmSync(extra, { recursive: true, force: true });
});

function followRun(id: string): Promise<any[]> {
  const client = createClient({ url: `ws://127.0.0.1:${api.server.port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const updates: any[] = [];
  return new Promise<any[]>((resolve, reject) => {
    client.subscribe(
      { query: `subscription($id: ID!) { trainingRunUpdated(id: $id) { id status progress error } }`, variables: { id } },
      { next: (value) => updates.push(value.data?.trainingRunUpdated), error: reject, complete: () => resolve(updates) },
    );
  }).finally(() => client.dispose());
}

it('trains over GraphQL, evaluates, and makes a new photo searchable by its predicted colour', async () => {
  const started = Date.now();
  const { startTraining } = await api.data(
    `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status } }`,
    { input: { name: 'e2e', backbone: 'resnet18', model: MODEL, attributeKinds: ['color'], epochs: EPOCHS, batchSize: 4, lr: LR, clipGradNorm: CLIP, warmupIterations: 20, lrMilestones: [EPOCHS], checkpointEvery: 50, seed: 3 } },
  );
  expect(startTraining.status).toBe('queued');
  const updates = await followRun(startTraining.id);
  const last = updates[updates.length - 1];
  expect(last.error).toBeNull();
  expect(last.status).toBe('succeeded');
  const steps = updates.map((u) => u.progress?.step).filter((s) => typeof s === 'number');
  expect(steps.length).toBeGreaterThan(10);
  const trainingSeconds = (Date.now() - started) / 1000;

  const { trainingRun } = await api.data(
    `query($id: ID!) { trainingRun(id: $id) { status progress lossCurves { name steps values } modelVersion { id metrics config } } }`,
    { id: startTraining.id },
  );
  const loss = trainingRun.lossCurves.find((c: any) => c.name === 'loss');
  expect(loss.steps.length).toBe(trainingRun.progress.totalSteps);
  const head = loss.values.slice(0, 10).reduce((a: number, b: number) => a + b, 0) / 10;
  const tail = loss.values.slice(-10).reduce((a: number, b: number) => a + b, 0) / 10;
  // The loss falls by a fifth or more between the first and the last ten steps.
  expect(tail).toBeLessThan(0.8 * head);
  const metrics = trainingRun.modelVersion.metrics;
  const colour = metrics.attributes.matched.kinds.color;
  const [commonest] = await db.dataSource.query(
    `SELECT max(n)::float / sum(n) AS share FROM (SELECT count(*) AS n FROM garments g JOIN garment_attributes ga ON ga.garment_id = g.id
       JOIN vocabulary v ON v.id = ga.vocabulary_id WHERE g.split = 'validation' AND v.kind = 'color' GROUP BY v.value) t`,
  );
  console.log(JSON.stringify({
    trainingSeconds, imagesPerSecond: trainingRun.progress.imagesPerSecond, lossHead: head, lossTail: tail, ap50: metrics.box.ap50, map: metrics.box.map,
    colourAccuracy: colour.accuracy, colourEvaluated: colour.evaluated, commonestColourShare: commonest.share,
  }));
  // The evaluation on the held-out split is stored with the model version.
  const [validationImages] = await db.dataSource.query(
    `SELECT count(DISTINCT g.image_id)::int AS n FROM garments g JOIN vocabulary c ON c.id = g.category_id
      WHERE g.split = 'validation' AND c.value = ANY($1::text[])`, [trainingRun.modelVersion.config.class_names.slice(1)]);
  expect(metrics.images).toBe(validationImages.n);
  expect(metrics.box.ap50).toBeGreaterThanOrEqual(0);
  expect(colour.type).toBe('single');

  await api.data(`mutation($id: ID!) { activateModelVersion(id: $id) { id } }`, { id: trainingRun.modelVersion.id });

  // A new photo the model never saw, with its truth from its own annotation.
  await synthesize({ outDir: extra, images: 6, seed: 999, width: SIZE, height: SIZE });
  const files = (fs.readdirSync(extra, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
  const candidates = files.map((f) => {
    const parsed = parseAnnotation(fs.readFileSync(path.join(extra, f)), f);
    if (!parsed.ok) throw new Error(`${f} rejected`);
    const jpg = (fs.readdirSync(extra, { recursive: true }) as string[]).find((j) => j.endsWith(`${parsed.annotation.externalId}.jpg`))!;
    return { annotation: parsed.annotation, jpg: path.join(extra, jpg) };
  });
  // One garment alone makes the check unambiguous.
  const photo = candidates.find((c) => c.annotation.garments.length === 1) ?? candidates[0];
  const truthColour = photo.annotation.garments[0].attributes.find((a) => a.kind === 'color')!.value;
  const { analyzeImage } = await api.data(
    `mutation($b: String) { analyzeImage(imageBase64: $b, fileName: "new.jpg") { image { id width height } garments { id source score category attributes { kind value valueEn score } } modelVersion { id } } }`,
    { b: fs.readFileSync(photo.jpg).toString('base64') },
  );
  expect(analyzeImage.modelVersion.id).toBe(trainingRun.modelVersion.id);
  expect(analyzeImage.garments.length).toBeGreaterThan(0);
  const best = [...analyzeImage.garments].sort((a: any, b: any) => b.score - a.score)[0];
  expect(best.source).toBe('PREDICTION');
  const predictedColour = best.attributes.find((a: any) => a.kind === 'color');
  console.log(JSON.stringify({ truthColour, predictedColour, category: best.category, truthCategory: photo.annotation.garments[0].category }));

  const { searchGarments } = await api.data(
    `query($where: GarmentWhere!) { searchGarments(where: $where, first: 50) { edges { node { id source image { id } } } } }`,
    { where: { source: 'PREDICTION', color: [englishLabel('color', predictedColour.value)] } },
  );
  const found = searchGarments.edges.map((e: any) => e.node);
  expect(found.map((n: any) => n.id)).toContain(best.id);
  expect(found.every((n: any) => n.source === 'PREDICTION')).toBe(true);
  expect(found.find((n: any) => n.id === best.id).image.id).toBe(analyzeImage.image.id);
});
