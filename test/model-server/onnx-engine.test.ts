/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * The model server on the onnx engine: a stored model version (the trained fixture model) is exported once, cached
 * beside its weights, and /predict answers what the tfjs engine predicts for the decoded image (labels, boxes
 * within 0.5 px, scores within 1e-3).
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
  const body = (await response.json()) as { detections: Detection[] };
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
    });
  } finally {
    tfjs.dispose();
  }
});
