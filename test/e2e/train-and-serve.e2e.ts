/**
 * Issue 4, "Must show" 1, on the CPU: synthetic K-Fashion photos → importer → startTraining over GraphQL
 * with a small ResNet-18 configuration trained from scratch → progress pushed over graphql-ws → the run
 * succeeds → on the held-out split, box AP@0.5 and colour accuracy clear thresholds far above what a
 * detector that learnt nothing from the pixels scores (baseline.ts, evaluated alongside) → the model
 * version is activated → analyzeImage on a new synthetic photo through the model server → its garment is
 * found by searchGarments with source PREDICTION and the colour the model gave it.
 *
 * Calibration: see THRESHOLDS below and bench/RESULTS.md "Training". E2E_EPOCHS, E2E_IMAGES, E2E_LR, E2E_CLIP
 * and E2E_SEED train differently (the thresholds still apply); the metrics are printed either way.
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
import type { RunningModelServer } from '../../src/model-server/server';
import { startTestServer, type ApiClient } from '../graphql/support';
import { startWasmModelServer, syntheticDatabase, type SyntheticDatabase } from '../model-server/support';
import { priorBaseline } from './baseline';
import type { SingleKindMetrics } from '../../src/ml/eval';

jest.setTimeout(900_000);

const IMAGES = Number(process.env.E2E_IMAGES ?? 180);
const EPOCHS = Number(process.env.E2E_EPOCHS ?? 8);
const LR = Number(process.env.E2E_LR ?? 0.005);
const CLIP = Number(process.env.E2E_CLIP ?? 10);
const SEED = Number(process.env.E2E_SEED ?? 3);
const SIZE = 64;
// From scratch, so (the run's defaults, as torchvision's) every stage of the body trains, with nn.BatchNorm2d.
const MODEL = {
  min_size: SIZE,
  max_size: SIZE,
  representation_size: 128,
  fpn_out_channels: 64,
  rpn_pre_nms_top_n_train: 300,
  rpn_post_nms_top_n_train: 150,
  rpn_pre_nms_top_n_test: 150,
  rpn_post_nms_top_n_test: 50,
  rpn_batch_size_per_image: 64,
  box_batch_size_per_image: 64,
  box_detections_per_img: 10,
  // A model this briefly trained scores its boxes low: keep its best boxes rather than none.
  box_score_thresh: 0,
};

/**
 * Calibrated on this machine (2 cores, wasm; 8 epochs of 135 training images, about 5 minutes). Seed 3: box
 * AP@0.5 0.179, colour accuracy 0.90 on 71 of the 103 validation garments matched (0.198 and 0.92 on 65 before
 * the strided filter-gradient kernel changed the float rounding); seed 4 (before that change): 0.221 and 0.89 on
 * 70. The prior detector (baseline.ts) scores AP@0.5 0.025; always answering the commonest colour scores
 * 0.28 over all validation garments and 0.375 on the garments the prior detector matches. The thresholds sit at
 * about half the trained model's AP@0.5 and four times the prior's; colour accuracy at 0.7 and 1.8 times chance;
 * and at least 40% of the garments must be found (matched) for the colour accuracy to count.
 */
const THRESHOLDS = { ap50: 0.1, ap50OverBaseline: 4, colourEvaluatedShare: 0.4, colourAccuracy: 0.7, colourOverChance: 1.8 };

let db: SyntheticDatabase;
let api: ApiClient;
let modelServer: RunningModelServer;
const extra = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-e2e-photo-'));

beforeAll(async () => {
  db = await syntheticDatabase(IMAGES, 21, SIZE);
  modelServer = await startWasmModelServer(db);
  api = await startTestServer(db.dataSource, { modelServerUrl: modelServer.http.url, dataDir: db.dataDir });
});
afterAll(async () => {
  await api?.server.stop();
  await modelServer?.stop();
  await db.cleanup();
  fs.rmSync(extra, { recursive: true, force: true });
});

function followRun(id: string): Promise<any[]> {
  const client = createClient({ url: `ws://127.0.0.1:${api.server.port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const updates: any[] = [];
  return new Promise<any[]>((resolve, reject) => {
    client.subscribe(
      { query: `subscription($id: ID!) { trainingRunUpdated(id: $id) { id status progress { step phase } error } }`, variables: { id } },
      { next: (value) => updates.push(value.data?.trainingRunUpdated), error: reject, complete: () => resolve(updates) },
    );
  }).finally(() => client.dispose());
}

it('trains over GraphQL, evaluates, and makes a new photo searchable by its predicted colour', async () => {
  const started = Date.now();
  const { startTraining } = await api.data(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status } }`, {
    input: {
      name: 'e2e',
      backbone: 'resnet18',
      model: MODEL,
      attributeKinds: ['color'],
      epochs: EPOCHS,
      batchSize: 4,
      lr: LR,
      clipGradNorm: CLIP,
      warmupIterations: 20,
      lrMilestones: [Math.ceil(EPOCHS * 0.75)],
      checkpointEvery: 50,
      seed: SEED,
    },
  });
  expect(startTraining.status).toBe('QUEUED');
  const updates = await followRun(startTraining.id);
  const last = updates[updates.length - 1];
  expect(last.error).toBeNull();
  expect(last.status).toBe('SUCCEEDED');
  const steps = updates.map((u) => u.progress?.step).filter((s) => typeof s === 'number');
  expect(steps.length).toBeGreaterThan(10);
  const trainingSeconds = (Date.now() - started) / 1000;

  const { trainingRun } = await api.data(
    `query($id: ID!) { trainingRun(id: $id) { status progress { step totalSteps epoch epochs imagesPerSecond trainImages } lossCurves { name steps values } modelVersion { id metrics config } } }`,
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
  const baseline = await priorBaseline(db.dataSource, { attributeKinds: ['color'] }, trainingRun.modelVersion.config);
  const baselineColour = baseline.attributes.matched.kinds.color as SingleKindMetrics;
  // Always answering the commonest validation colour: the chance level of colour accuracy.
  const [commonest] = await db.dataSource.query(
    `SELECT max(n)::float / sum(n) AS share FROM (SELECT count(*) AS n FROM garments g JOIN garment_attributes ga ON ga.garment_id = g.id
       JOIN vocabulary v ON v.id = ga.vocabulary_id WHERE g.split = 'validation' AND v.kind = 'color' GROUP BY v.value) t`,
  );
  const colourChance = Math.max(commonest.share, baselineColour.accuracy ?? 0);
  console.log(
    JSON.stringify({
      trainingSeconds,
      imagesPerSecond: trainingRun.progress.imagesPerSecond,
      lossHead: head,
      lossTail: tail,
      model: { ap50: metrics.box.ap50, map: metrics.box.map, colourAccuracy: colour.accuracy, colourEvaluated: colour.evaluated },
      baseline: {
        ap50: baseline.box.ap50,
        map: baseline.box.map,
        colourAccuracy: baselineColour.accuracy,
        colourEvaluated: baselineColour.evaluated,
      },
      commonestColourShare: commonest.share,
      groundTruthGarments: metrics.groundTruthGarments,
    }),
  );
  // The evaluation on the held-out split is stored with the model version, over the same images as the baseline's.
  expect(metrics.images).toBe(baseline.images);
  expect(metrics.images).toBeGreaterThan(20);
  expect(colour.type).toBe('single');
  expect(metrics.box.ap50).toBeGreaterThanOrEqual(THRESHOLDS.ap50);
  expect(metrics.box.ap50).toBeGreaterThanOrEqual(THRESHOLDS.ap50OverBaseline * baseline.box.ap50!);
  expect(colour.evaluated).toBeGreaterThanOrEqual(THRESHOLDS.colourEvaluatedShare * metrics.groundTruthGarments);
  expect(colour.accuracy).toBeGreaterThanOrEqual(THRESHOLDS.colourAccuracy);
  expect(colour.accuracy).toBeGreaterThanOrEqual(THRESHOLDS.colourOverChance * colourChance);

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
    `mutation($u: ID) { analyzeImage(uploadId: $u, fileName: "new.jpg") { image { id width height } garments { id source score category attributes { kind value valueEn score } } modelVersion { id } } }`,
    { u: await api.uploadId(fs.readFileSync(photo.jpg)) },
  );
  expect(analyzeImage.modelVersion.id).toBe(trainingRun.modelVersion.id);
  expect(analyzeImage.garments.length).toBeGreaterThan(0);
  const best = [...analyzeImage.garments].sort((a: any, b: any) => b.score - a.score)[0];
  expect(best.source).toBe('PREDICTION');
  const predictedColour = best.attributes.find((a: any) => a.kind === 'COLOR');
  console.log(
    JSON.stringify({ truthColour, predictedColour, category: best.category, truthCategory: photo.annotation.garments[0].category }),
  );

  const { searchGarments } = await api.data(
    `query($where: GarmentWhere!) { searchGarments(where: $where, first: 50) { edges { node { id source image { id } } } } }`,
    { where: { source: 'PREDICTION', color: [englishLabel('color', predictedColour.value)] } },
  );
  const found = searchGarments.edges.map((e: any) => e.node);
  expect(found.map((n: any) => n.id)).toContain(best.id);
  expect(found.every((n: any) => n.source === 'PREDICTION')).toBe(true);
  expect(found.find((n: any) => n.id === best.id).image.id).toBe(analyzeImage.image.id);
});
