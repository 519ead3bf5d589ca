/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * The model server on the onnx engine: a stored model version (the trained fixture model) is exported once, cached
 * beside its weights, and /predict answers what the tfjs engine predicts for the decoded image (labels, boxes
 * within 0.5 px, scores within 1e-3, embeddings through their JSON form at cosine ≥ 0.999); the embedding graph is
 * exported and cached only when boxes are first embedded.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../src/ml/backend';
import { AttributeRCNN, type Detection } from '../../src/ml/model/attribute-rcnn';
import { readConfigFile } from '../../src/ml/model/config';
import { startModelHttp, type RunningModelHttp } from '../../src/model-server/http';
import { ModelRegistry } from '../../src/model-server/models';
import { decodeImage } from '../../src/images/image-input';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { GarmentEmbedding } from '../../src/ml/embedding/garment-embedding';
import { cosineSimilarity, dequantizeInt8 } from '../../src/ml/embedding/int8';
import { fixtureImages, writeTrainedModel } from '../ml/model/heads-trained';

let db: TestDatabase;
let dir: string;
let registry: ModelRegistry;
let server: RunningModelHttp;
let files: { weights: string; config: string };

beforeAll(async () => {
  const backend = await initBackend('wasm', { log: () => undefined });
  db = await createPostgresTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-onnx-http-'));
  files = writeTrainedModel(dir);
  await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path, is_active) VALUES ('shapes', 'resnet18', $1::jsonb, $2, true)`,
    [fs.readFileSync(files.config, 'utf8'), files.weights],
  );
  registry = new ModelRegistry(db.dataSource, { maxBatch: 4, maxWaitMs: 20 }, 2, 'onnx');
  server = await startModelHttp({ registry, backend, port: 0, host: '127.0.0.1', maxBodyBytes: 200_000 });
});
afterAll(async () => {
  await server?.close();
  await registry?.dispose();
  await db?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it("serves the active version on ONNX Runtime with the tfjs engine's answer, the export cached beside the weights", async () => {
  const image = fixtureImages()[0];
  const png = await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  const response = await fetch(`${server.url}/predict`, { method: 'POST', body: png });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { detections: (Omit<Detection, 'embedding'> & { embedding: unknown })[] };
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.onnx'))).toHaveLength(1);
  const tfjs = AttributeRCNN.withWeights(readConfigFile(files.config), files.weights);
  try {
    const [expected] = await tfjs.predict([await decodeImage(png)]);
    expect(body.detections.length).toBeGreaterThan(0);
    expect(body.detections.map((d) => d.className)).toEqual(expected.map((d) => d.className));
    body.detections.forEach((d, i) => {
      d.box.forEach((v, j) => expect(Math.abs(v - expected[i].box[j])).toBeLessThan(0.5));
      expect(Math.abs(d.score - expected[i].score)).toBeLessThan(1e-3);
      for (const [kind, values] of Object.entries(expected[i].attributes)) {
        for (const { value, probability } of values) {
          expect(Math.abs((d.attributes[kind].find((a) => a.value === value)?.probability ?? NaN) - probability)).toBeLessThan(1e-3);
        }
      }
      const embedding = GarmentEmbedding.fromJson(d.embedding, `detections[${i}].embedding`);
      expect(cosineSimilarity(dequantizeInt8(embedding), dequantizeInt8(expected[i].embedding!))).toBeGreaterThan(0.999);
    });
    // Given boxes (annotated garments) go through the embedding graph, exported on first use and cached too.
    const boxes = Float32Array.from(expected.flatMap((d) => d.box));
    const decoded = await decodeImage(png);
    const [embedded] = await registry.use(null, (loaded) => loaded.model.embedBoxes([{ image: decoded, boxes }]));
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.embed.onnx'))).toHaveLength(1);
    embedded.forEach((e, i) => expect(cosineSimilarity(dequantizeInt8(e!), dequantizeInt8(expected[i].embedding!))).toBeGreaterThan(0.999));
  } finally {
    tfjs.dispose();
  }
});
