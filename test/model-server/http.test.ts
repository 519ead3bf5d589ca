/**
 * The model server's HTTP side on a real (tiny, randomly initialised) Attribute R-CNN stored as a
 * model version: health and readiness, /predict answers what the model itself predicts for the
 * decoded image, bad bodies are refused before decoding, and concurrent requests are batched; /embed gives the
 * model's embedding of each given box and names a bad box.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { WASM_HEAP_LIMIT_BYTES } from '../../src/ml/train/step-memory';
import { initBackend, type BackendInfo } from '../../src/ml/backend';
import { AttributeRCNN } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../src/ml/model/config';
import { startModelHttp, type RunningModelHttp } from '../../src/model-server/http';
import { ModelRegistry } from '../../src/model-server/models';
import { decodeImage } from '../../src/images/image-input';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { TINY_MODEL } from './support';
import { probeGpus } from '../../src/ml/doctor/gpu';
import { samplePath } from '../support/samples';

const SAMPLE = samplePath('100026.jpg');
let db: TestDatabase;
let dir: string;
let backend: BackendInfo;
let registry: ModelRegistry;
let server: RunningModelHttp;
let versionId: number;

beforeAll(async () => {
  backend = await initBackend('wasm');
  db = await createPostgresTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-http-'));
  const config = resolveConfig(
    {
      ...TINY_MODEL,
      box_score_thresh: 0,
      class_names: ['__background__', '블라우스', '스커트'],
      attributes: [
        { kind: 'color', type: 'single', values: ['블랙', '화이트', '레드'] },
        { kind: 'print', type: 'multi', values: ['체크', '도트'] },
      ],
    },
    'test',
  );
  const model = AttributeRCNN.create(config, 3);
  model.save(path.join(dir, 'm.safetensors'), path.join(dir, 'm.json'));
  model.dispose();
  const rows = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path, is_active) VALUES ('tiny', 'resnet18', $1::jsonb, $2, true) RETURNING id`,
    [JSON.stringify(config), path.join(dir, 'm.safetensors')],
  );
  versionId = Number(rows[0].id);
  registry = new ModelRegistry(db.dataSource, { maxBatch: 4, maxWaitMs: 20 });
  server = await startModelHttp({ registry, backend, port: 0, host: '127.0.0.1', maxBodyBytes: 200_000 });
});
afterAll(async () => {
  await server?.close();
  await registry?.dispose();
  await db.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const post = (body: Buffer | string, query = '') => fetch(`${server.url}/predict${query}`, { method: 'POST', body });

it('reports health, and readiness once the active model is loaded', async () => {
  const health = await fetch(`${server.url}/health`);
  expect(health.status).toBe(200);
  const host = await probeGpus();
  expect(await health.json()).toEqual({
    status: 'ok',
    backend: 'wasm',
    device: 'cpu',
    notUsed: ['requested wasm (--backend or KFASHION_TF_BACKEND)'],
    gpus: host.gpus.map((g) => g.name),
    gpuProblem: host.problem,
    tensorflowUsesGpu: null,
    trainingMemory: { bytes: WASM_HEAP_LIMIT_BYTES, of: "the wasm backend's heap limit" },
  });
  const ready = await fetch(`${server.url}/ready`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ status: 'ready', modelVersion: versionId });
});

it('predicts exactly what the model predicts for the decoded image', async () => {
  const jpeg = await sharp(SAMPLE).resize(120, 160).jpeg().toBuffer();
  const response = await post(jpeg);
  expect(response.status).toBe(200);
  const body = (await response.json()) as any;
  expect([body.width, body.height, body.modelVersion.id]).toEqual([120, 160, versionId]);
  const loaded = await registry.get(versionId);
  const [expected] = await loaded.model.predict([await decodeImage(jpeg)]);
  expect(body.detections.length).toBe(expected.length);
  expect(body.detections.length).toBeGreaterThan(0);
  body.detections.forEach((d: any, i: number) => {
    expect(d.className).toBe(expected[i].className);
    d.box.forEach((v: number, j: number) => expect(v).toBeCloseTo(expected[i].box[j], 3));
    expect(d.box[0]).toBeGreaterThanOrEqual(0);
    expect(d.box[2]).toBeLessThanOrEqual(120);
    expect(d.attributes.color.map((a: any) => a.value).sort()).toEqual(['레드', '블랙', '화이트']);
    const probabilities = d.attributes.color.map((a: any) => a.probability);
    expect(probabilities).toEqual([...probabilities].sort((a: number, b: number) => b - a));
    expect(probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 4);
  });
});

it('embeds given boxes as the model does, and names a bad box', async () => {
  const jpeg = await sharp(SAMPLE).resize(120, 160).jpeg().toBuffer();
  const embedAt = (query: string) => fetch(`${server.url}/embed${query}`, { method: 'POST', body: jpeg });
  const response = await embedAt(`?boxes=10,20,90,150,0,0,60,60&modelVersionId=${versionId}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as any;
  expect(body.modelVersion.id).toBe(versionId);
  const loaded = await registry.get(versionId);
  const [expected] = await loaded.model.embedBoxes([
    { image: await decodeImage(jpeg), boxes: Float32Array.of(10, 20, 90, 150, 0, 0, 60, 60) },
  ]);
  expect(body.embeddings).toHaveLength(2);
  body.embeddings.forEach((e: unknown, k: number) => expect(e).toEqual(JSON.parse(JSON.stringify(expected[k]))));
  for (const [query, message] of [
    ['', /^boxes: give x1,y1,x2,y2/],
    ['?boxes=1,2,3', /^boxes: expected 4 numbers per box/],
    ['?boxes=0,0,10,10,50,50,40,60', /^boxes\[1\]: expected x1 < x2 and y1 < y2 inside the 120×160 image/],
    ['?boxes=0,0,121,10', /^boxes\[0\]:/],
    [`?boxes=${Array.from({ length: 65 }, () => '0,0,1,1').join(',')}`, /at most 64 boxes/],
  ] as const) {
    const refused = await embedAt(query);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).error).toMatch(message);
  }
  expect((await fetch(`${server.url}/embed`)).status).toBe(405);
});

it('refuses non-images, oversized bodies, wrong methods and unknown versions with clear errors', async () => {
  const gif = await sharp(SAMPLE).resize(20, 20).gif().toBuffer();
  const notImage = await post(gif);
  expect(notImage.status).toBe(415);
  expect(((await notImage.json()) as any).error).toMatch(/not a JPEG, PNG or WebP/);
  const big = await post(Buffer.alloc(300_000, 0xff));
  expect(big.status).toBe(413);
  expect((await fetch(`${server.url}/predict`)).status).toBe(405);
  const jpeg = await sharp(SAMPLE).resize(40, 40).jpeg().toBuffer();
  const missing = await post(jpeg, '?modelVersionId=99999');
  expect(missing.status).toBe(404);
  expect(((await missing.json()) as any).error).toMatch(/model version 99999 does not exist/);
  expect((await post(jpeg, '?modelVersionId=abc')).status).toBe(400);
  expect((await post(Buffer.alloc(0))).status).toBe(400);
});

it('batches concurrent requests into fewer model calls', async () => {
  const loaded = await registry.get(versionId);
  const before = { ...loaded.batcher.stats };
  const images = await Promise.all(
    [0, 1, 2, 3, 4, 5].map((i) =>
      sharp(SAMPLE)
        .resize(64 + i * 8, 64)
        .jpeg()
        .toBuffer(),
    ),
  );
  const responses = await Promise.all(images.map((b) => post(b)));
  expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  const widths = await Promise.all(responses.map(async (r) => ((await r.json()) as any).width));
  expect(widths).toEqual([64, 72, 80, 88, 96, 104]);
  const batches = loaded.batcher.stats.batches - before.batches;
  expect(loaded.batcher.stats.items - before.items).toBe(6);
  expect(batches).toBeLessThan(6);
  expect(loaded.batcher.stats.largestBatch).toBeGreaterThan(1);
});

it('is not ready without an active model version', async () => {
  await db.dataSource.query(`UPDATE model_versions SET is_active = false`);
  try {
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any).reason).toMatch(/no model version is active/);
  } finally {
    await db.dataSource.query(`UPDATE model_versions SET is_active = true WHERE id = $1`, [versionId]);
  }
});

describe('who may call it', () => {
  const TOKEN = 'a-test-token-of-32-characters-xx';
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('binds to loopback when no host is given, and says where it is', async () => {
    const local = await startModelHttp({ registry, backend, port: 0 });
    try {
      expect((local.server.address() as { address: string }).address).toBe('127.0.0.1');
      expect([local.host, local.url, local.requiresToken]).toEqual(['127.0.0.1', `http://127.0.0.1:${local.port}`, false]);
    } finally {
      await local.close();
    }
  });

  it('refuses to bind anywhere but loopback without a token, and refuses a short token', async () => {
    await expect(startModelHttp({ registry, backend, port: 0, host: '0.0.0.0' })).rejects.toThrow(
      /MODEL_SERVER_HOST: "0.0.0.0" is not a loopback address.*set MODEL_SERVER_TOKEN/,
    );
    await expect(startModelHttp({ registry, backend, port: 0, host: '::' })).rejects.toThrow(/MODEL_SERVER_HOST/);
    await expect(startModelHttp({ registry, backend, port: 0, host: '0.0.0.0', token: 'short' })).rejects.toThrow(
      /MODEL_SERVER_TOKEN: expected at least 16 characters, got 5/,
    );
  });

  it('with a token, answers /predict and /ready only to callers that send it; /health stays open', async () => {
    const open = await startModelHttp({ registry, backend, port: 0, host: '0.0.0.0', token: TOKEN });
    try {
      expect((open.server.address() as { address: string }).address).toBe('0.0.0.0');
      expect([open.host, open.url, open.requiresToken]).toEqual(['0.0.0.0', `http://127.0.0.1:${open.port}`, true]);
      const jpeg = await sharp(SAMPLE).resize(48, 48).jpeg().toBuffer();
      const predict = (headers: Record<string, string>) => fetch(`${open.url}/predict`, { method: 'POST', body: jpeg, headers });
      for (const headers of [{}, bearer('wrong-token-of-the-same-length-x'), bearer(`${TOKEN}x`), { authorization: TOKEN }]) {
        const refused = await predict(headers);
        expect(refused.status).toBe(401);
        expect(await refused.json()).toEqual({ error: 'send the model server token as "Authorization: Bearer <token>"' });
      }
      expect((await fetch(`${open.url}/ready`)).status).toBe(401);
      expect((await fetch(`${open.url}/health`)).status).toBe(200);
      expect((await fetch(`${open.url}/ready`, { headers: bearer(TOKEN) })).status).toBe(200);
      const answered = await predict(bearer(TOKEN));
      expect(answered.status).toBe(200);
      expect(((await answered.json()) as any).modelVersion.id).toBe(versionId);
    } finally {
      await open.close();
    }
  });
});
