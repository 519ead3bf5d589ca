/**
 * Garment embeddings end to end, on a real PostgreSQL database and an in-process model server (wasm) with a stored
 * tiny untrained model version: analyzeImage and predictImages store each detected garment's embedding with it;
 * embedGarments (a batch job of kind EMBED over N model servers' chunks) embeds every stored garment by its box,
 * annotations included; Garment.hasEmbedding reports them; and each stored vector is the one the model gives for
 * that garment's box (checked against AttributeRCNN.embedBoxes on the decoded file).
 */
import 'reflect-metadata';
import * as path from 'node:path';
import type { RunningModelServer } from '../../src/model-server/server';
import { startTestServer, type ApiClient } from '../graphql/support';
import { startWasmModelServer, storeTinyModelVersion, syntheticDatabase, type SyntheticDatabase } from './support';
import { globalId } from '../../src/graphql/ids';
import { createApiToken } from '../../src/db/api-tokens';
import { AttributeRCNN } from '../../src/ml/model/attribute-rcnn';
import { readConfigFile } from '../../src/ml/model/config';
import { readImageFile } from '../../src/images/image-input';
import { cosineSimilarity, dequantizeInt8 } from '../../src/ml/embedding/int8';
import { readGarmentEmbeddings } from '../../src/db/garment-embeddings';
import { toStoredPixels } from '../../src/images/stored-pixels';

jest.setTimeout(180_000);

let db: SyntheticDatabase;
let api: ApiClient;
let server: RunningModelServer;
let versionId: string;
let versionKey: number;
let model: AttributeRCNN;

beforeAll(async () => {
  db = await syntheticDatabase(10, 17, 64);
  server = await startWasmModelServer(db, { maxBatch: 3 });
  api = await startTestServer(db.dataSource, { modelServerUrl: server.http.url, dataDir: db.dataDir });
  versionKey = Number(await storeTinyModelVersion(db));
  versionId = globalId('ModelVersion', versionKey);
  await api.data(`mutation($id: ID!) { activateModelVersion(id: $id) { id } }`, { id: versionId });
  model = AttributeRCNN.withWeights(readConfigFile(path.join(db.dataDir, 'tiny.json')), path.join(db.dataDir, 'tiny.safetensors'));
});
afterAll(async () => {
  model?.dispose();
  await api?.server.stop();
  await server?.stop();
  await db.cleanup();
});

/** Checks each garment's stored embedding against the model's embedding of its box on the image's decoded file. */
async function expectStoredEmbeddingsOfBoxes(garmentIds: string[]): Promise<void> {
  const stored = await readGarmentEmbeddings(db.dataSource, versionKey, garmentIds);
  expect([...stored.keys()].sort()).toEqual([...garmentIds].sort());
  const rows: { id: string; image_path: string; width: number; height: number; x1: number; y1: number; x2: number; y2: number }[] =
    await db.dataSource.query(
      `SELECT g.id::text AS id, i.image_path, i.width, i.height, g.x1, g.y1, g.x2, g.y2
         FROM garments g JOIN images i ON i.id = g.image_id WHERE g.id = ANY($1::bigint[])`,
      [garmentIds],
    );
  for (const row of rows) {
    const image = await readImageFile(path.join(db.root, row.image_path));
    const [box] = toStoredPixels([{ box: [row.x1, row.y1, row.x2, row.y2] as [number, number, number, number] }], row, image);
    const [[expected]] = await model.embedBoxes([{ image, boxes: Float32Array.from(box.box) }]);
    const actual = stored.get(row.id)!;
    expect(actual.vector.length).toBe(64);
    expect(cosineSimilarity(dequantizeInt8(actual), dequantizeInt8(expected!))).toBeGreaterThan(0.999);
  }
}

async function finishedJob(id: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const { predictionJob } = await api.data(`query($id: ID!) { predictionJob(id: $id) { kind status total done error } }`, { id });
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(predictionJob.status)) return predictionJob;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${id} did not finish`);
}

it('analyzeImage stores the embedding of every garment it detects, the model’s vector of its box', async () => {
  const [image] = await db.dataSource.query(`SELECT id FROM images ORDER BY id LIMIT 1`);
  const { analyzeImage } = await api.data(`mutation($id: ID) { analyzeImage(imageId: $id) { garments { id databaseId hasEmbedding } } }`, {
    id: globalId('Image', image.id),
  });
  expect(analyzeImage.garments.length).toBeGreaterThan(0);
  expect(analyzeImage.garments.map((g: any) => g.hasEmbedding)).toEqual(analyzeImage.garments.map(() => true));
  await expectStoredEmbeddingsOfBoxes(analyzeImage.garments.map((g: any) => g.databaseId));
});

it('predictImages stores the embeddings with the predicted garments', async () => {
  const { predictImages } = await api.data(
    `mutation($id: ID!) { predictImages(where: { split: VALIDATION }, modelVersionId: $id, chunkSize: 2) { id kind } }`,
    { id: versionId },
  );
  expect(predictImages.kind).toBe('PREDICT');
  expect(await finishedJob(predictImages.id)).toMatchObject({ status: 'SUCCEEDED', error: null });
  const [counts] = await db.dataSource.query(
    `SELECT count(*)::int AS garments, count(e.garment_id)::int AS embedded
       FROM garments g JOIN images i ON i.id = g.image_id
       LEFT JOIN garment_embeddings e ON e.garment_id = g.id AND e.model_version_id = $1
      WHERE g.source = 'prediction' AND g.model_version_id = $1 AND i.split = 'validation'`,
    [versionKey],
  );
  expect(counts.garments).toBeGreaterThan(0);
  expect(counts.embedded).toBe(counts.garments);
});

it('embedGarments embeds every stored garment of the matching images by its box; hasEmbedding follows', async () => {
  const annotations = `query($v: ID!) { searchGarments(where: { source: ANNOTATION, split: TRAIN }, first: 100) {
      edges { node { databaseId hasEmbedding(modelVersionId: $v) } } } }`;
  const before = (await api.data(annotations, { v: versionId })).searchGarments.edges.map((e: any) => e.node);
  expect(before.length).toBeGreaterThan(2);
  expect(before.every((g: any) => g.hasEmbedding === false)).toBe(true);

  const { embedGarments } = await api.data(
    `mutation($v: ID!) { embedGarments(modelVersionId: $v, where: { split: TRAIN }, chunkSize: 3) { id kind status total chunks } }`,
    { v: versionId },
  );
  const [train] = await db.dataSource.query(`SELECT count(*)::int AS n FROM images WHERE split = 'train'`);
  expect(embedGarments).toMatchObject({ kind: 'EMBED', total: train.n, chunks: Math.ceil(train.n / 3) });
  expect(await finishedJob(embedGarments.id)).toMatchObject({ kind: 'EMBED', status: 'SUCCEEDED', done: train.n, error: null });

  const after = (await api.data(annotations, { v: versionId })).searchGarments.edges.map((e: any) => e.node);
  expect(after.map((g: any) => g.hasEmbedding)).toEqual(after.map(() => true));
  await expectStoredEmbeddingsOfBoxes(after.map((g: any) => g.databaseId));
  // Another version has none; the validation images were not asked for.
  const [other] = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path) SELECT 'other', backbone, config, weights_path FROM model_versions WHERE id = $1 RETURNING id`,
    [versionKey],
  );
  const { searchGarments } = await api.data(
    `query($v: ID!) { searchGarments(where: { source: ANNOTATION, split: VALIDATION }, first: 100) { edges { node { hasEmbedding other: hasEmbedding(modelVersionId: $v) } } } }`,
    { v: globalId('ModelVersion', other.id) },
  );
  expect(searchGarments.edges.length).toBeGreaterThan(0);
  expect(searchGarments.edges.every((e: any) => !e.node.hasEmbedding && !e.node.other)).toBe(true);
});

it('embedGarments is for analysts: a viewer is refused, a bad chunk size is named', async () => {
  const { token } = await createApiToken(db.dataSource, { role: 'viewer', name: 'viewer' });
  const refused = await api.as(token).query(`mutation($v: ID!) { embedGarments(modelVersionId: $v) { id } }`, { v: versionId });
  expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  const bad = await api.query(`mutation($v: ID!) { embedGarments(modelVersionId: $v, chunkSize: 0) { id } }`, { v: versionId });
  expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'chunkSize' });
  const missing = await api.query(`mutation($v: ID!) { embedGarments(modelVersionId: $v) { id } }`, {
    v: globalId('ModelVersion', 99_999),
  });
  expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
});
