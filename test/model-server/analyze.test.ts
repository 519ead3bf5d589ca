/**
 * analyzeImage and predictImages through a real model server (in-process, wasm) on a stored model
 * version (a tiny untrained Attribute R-CNN that reports every box: box_score_thresh 0): the API sends
 * the photo to the server, stores the detections as PREDICTION garments, and searchGarments finds them
 * by the colour the model predicted; a batch job predicts every matching image and finishes.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { englishLabel } from '../../src/kfashion/vocabulary';
import { startModelServer, type RunningModelServer } from '../../src/model-server/server';
import { startTestServer, type ApiClient } from '../graphql/support';
import { storeTinyModelVersion, syntheticDatabase, type SyntheticDatabase } from './support';
import { globalId } from '../../src/graphql/ids';

let db: SyntheticDatabase;
let api: ApiClient;
let server: RunningModelServer;
/** The model version's global id (as the API takes it) and its database key. */
let versionId: string;
let versionKey: string;

beforeAll(async () => {
  db = await syntheticDatabase(10, 13, 64);
  server = await startModelServer({
    dataSource: db.dataSource,
    dataDir: db.dataDir,
    port: 0,
    host: '127.0.0.1',
    backend: 'wasm',
    pollIntervalMs: 200,
    log: () => undefined,
  });
  api = await startTestServer(db.dataSource, { modelServerUrl: server.http.url, dataDir: db.dataDir });
  versionKey = await storeTinyModelVersion(db);
  versionId = globalId('ModelVersion', versionKey);
  await api.data(`mutation($id: ID!) { activateModelVersion(id: $id) { id } }`, { id: versionId });
});
afterAll(async () => {
  await api?.server.stop();
  await server?.stop();
  await db.cleanup();
});

it('analyses an uploaded photo into searchable PREDICTION garments', async () => {
  const photo = (fs.readdirSync(db.root, { recursive: true }) as string[]).find((f) => f.endsWith('.jpg'))!;
  const uploadId = await api.uploadId(fs.readFileSync(path.join(db.root, photo)));
  const { analyzeImage } = await api.data(
    `mutation($u: ID) { analyzeImage(uploadId: $u, fileName: "mine.jpg") {
       image { id databaseId fileName width height split url } modelVersion { id }
       garments { id source score superCategory category attributes { kind value score } } } }`,
    { u: uploadId },
  );
  expect(analyzeImage.modelVersion.id).toBe(versionId);
  expect(analyzeImage.image).toMatchObject({ fileName: 'mine.jpg', width: 64, height: 64, split: null });
  // Kept under its content hash and served at once.
  const original = await api.get(analyzeImage.image.url);
  expect(original.status).toBe(200);
  expect(Buffer.from(await original.arrayBuffer())).toEqual(fs.readFileSync(path.join(db.root, photo)));
  expect(analyzeImage.garments.length).toBeGreaterThan(0);
  for (const garment of analyzeImage.garments) {
    expect(garment.source).toBe('PREDICTION');
    expect(['티셔츠', '팬츠']).toContain(garment.category);
    expect(garment.superCategory).toBe(garment.category === '티셔츠' ? 'TOP' : 'BOTTOM');
  }
  const best = analyzeImage.garments[0];
  const colour = best.attributes.find((a: any) => a.kind === 'COLOR');
  const { searchGarments } = await api.data(
    `query($where: GarmentWhere!) { searchGarments(where: $where, first: 100) { edges { node { id } } } }`,
    { where: { source: 'PREDICTION', modelVersionId: versionId, color: [englishLabel('color', colour.value)] } },
  );
  expect(searchGarments.edges.map((e: any) => e.node.id)).toContain(best.id);
  // The same photo again: the image is reused and its predictions replaced, not duplicated.
  const again = await api.data(`mutation($id: ID) { analyzeImage(imageId: $id) { image { id } garments { id } } }`, {
    id: analyzeImage.image.id,
  });
  expect(again.analyzeImage.image.id).toBe(analyzeImage.image.id);
  const [count] = await db.dataSource.query(`SELECT count(*)::int AS n FROM garments WHERE image_id = $1 AND source = 'prediction'`, [
    analyzeImage.image.databaseId,
  ]);
  expect(count.n).toBe(again.analyzeImage.garments.length);
});

it('analyses a sideways 6 MB phone photo upright, and boxes stay in the upright photo', async () => {
  const width = 2400;
  const height = 1600;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0, state = 99; i < pixels.length; i++) pixels[i] = (state = (state * 1103515245 + 12345) >>> 0) >>> 24;
  const photo = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  expect(photo.length).toBeGreaterThan(5 * 1024 * 1024);
  const uploadId = await api.uploadId(photo);
  const { analyzeImage } = await api.data(
    `mutation($u: ID) { analyzeImage(uploadId: $u) { image { id width height } garments { box { x1 y1 x2 y2 } } } }`,
    { u: uploadId },
  );
  expect(analyzeImage.image).toMatchObject({ width: height, height: width });
  expect(analyzeImage.garments.length).toBeGreaterThan(0);
  for (const { box } of analyzeImage.garments) {
    expect(box.x2).toBeLessThanOrEqual(height + 1e-3);
    expect(box.y2).toBeLessThanOrEqual(width + 1e-3);
  }
  const { searchGarments } = await api.data(
    `query($id: ID!) { searchGarments(where: { source: PREDICTION, modelVersionId: $id }, first: 100) { edges { node { image { id } } } } }`,
    { id: versionId },
  );
  expect(searchGarments.edges.map((e: any) => e.node.image.id)).toContain(analyzeImage.image.id);
});

it('predicts every matching image as a job on the model server, in chunks of chunkSize', async () => {
  const { predictImages } = await api.data(
    `mutation($id: ID!) { predictImages(where: { split: VALIDATION }, modelVersionId: $id, chunkSize: 2) { id status chunks chunkSize } }`,
    { id: versionId },
  );
  expect(predictImages.chunkSize).toBe(2);
  let job: any;
  for (let i = 0; i < 240; i++) {
    job = (
      await api.data(
        `query($id: ID!) { predictionJob(id: $id) { status total done error chunks startedAt finishedAt imagesPerSecond etaSeconds modelVersion { id } } }`,
        { id: predictImages.id },
      )
    ).predictionJob;
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(job.status).toBe('SUCCEEDED');
  const [validation] = await db.dataSource.query(`SELECT count(*)::int AS n FROM images WHERE split = 'validation'`);
  expect(job.total).toBe(validation.n);
  expect(job.done).toBe(validation.n);
  expect(job.chunks).toBe(Math.ceil(validation.n / 2));
  const seconds = (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000;
  expect(job.imagesPerSecond).toBeCloseTo(validation.n / seconds, 6);
  expect(job.etaSeconds).toBeNull();
  const [predicted] = await db.dataSource.query(
    `SELECT count(DISTINCT g.image_id)::int AS n FROM garments g JOIN images i ON i.id = g.image_id
      WHERE g.source = 'prediction' AND g.model_version_id = $1 AND i.split = 'validation'`,
    [versionKey],
  );
  expect(predicted.n).toBe(validation.n);
});

it('refuses a chunk size out of range, naming the argument', async () => {
  const result = await api.query(`mutation($id: ID!) { predictImages(modelVersionId: $id, chunkSize: 0) { id } }`, { id: versionId });
  expect(result.errors?.[0]).toMatchObject({
    message: 'chunkSize: the chunk size must be an integer from 1 to 100000, got 0',
    extensions: { code: 'BAD_USER_INPUT', field: 'chunkSize' },
  });
});
