/**
 * Training that cannot fit, and backends that fail, on a real model server (in-process, wasm) and the API
 * pointed at it: startTraining refuses a step larger than the model server's wasm heap (BAD_USER_INPUT naming
 * the field, nothing queued), as `kfashion train` does, and the model server itself before a run's first step; unbounded model settings and
 * keys that are no config key are refused by name (also in a stored model version's config: not ready); a wasm trap in the middle of a run (injected into the
 * Conv2D kernel: a real out-of-bounds access of the module) fails the run with a readable error, the backend
 * is replaced, and the same server answers /health, /ready and runs the next job; a trap during /predict
 * answers 503 and the retry is served by the reloaded model.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { startModelServer, type RunningModelServer } from '../../src/model-server/server';
import { WASM_HEAP_LIMIT_BYTES } from '../../src/ml/train/step-memory';
import { normaliseTrainingParams } from '../../src/jobs/training-params';
import { JobQueue } from '../../src/jobs/queue';
import { insertQueuedRun, setRunJob } from '../../src/db/training-runs';
import { startTestServer, type ApiClient } from '../graphql/support';
import { runCli } from '../ml/run-cli';
import { storeTinyModelVersion, syntheticDatabase, TINY_MODEL, type SyntheticDatabase } from './support';
import { globalId } from '../../src/graphql/ids';

let db: SyntheticDatabase;
let server: RunningModelServer;
let api: ApiClient;
const savedEnv = { ...process.env };

beforeAll(async () => {
  db = await syntheticDatabase(12, 5, 64);
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
  process.env.DATABASE_URL = db.url;
  process.env.KFASHION_DATA_DIR = db.dataDir;
});
afterAll(async () => {
  process.env = savedEnv;
  await api?.server.stop();
  await server?.stop();
  await db.cleanup();
});

const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) { status error } }`;
/** torchvision's image sizes, the project's defaults outside `kfashion train` on a CPU backend. */
const TORCHVISION_SIZES = { min_size: 800, max_size: 1333 };

async function expectBadInput(input: Record<string, unknown>, field: string, message: RegExp): Promise<void> {
  const result = await api.query(START, { input });
  expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect(result.errors?.[0]?.message).toMatch(message);
}

async function runCount(): Promise<number> {
  return (await db.dataSource.query(`SELECT count(*)::int AS n FROM training_runs`))[0].n;
}

async function finished(id: string): Promise<{ status: string; error: string | null }> {
  for (const deadline = Date.now() + 240_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
    const { trainingRun } = await api.data(RUN, { id });
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(trainingRun.status)) return trainingRun;
  }
  throw new Error(`training run ${id} did not finish`);
}

it("startTraining refuses a step larger than the model server's wasm heap, naming the field, and queues nothing", async () => {
  const health = (await (await fetch(`${server.http.url}/health`)).json()) as { trainingMemory: unknown };
  expect(health.trainingMemory).toEqual({ bytes: WASM_HEAP_LIMIT_BYTES, of: "the wasm backend's heap limit" });
  const tooBig =
    /one training step needs about 13\.\d GiB \(2 image\(s\) of up to 800×1344 px, resnet18\) but the wasm backend's heap limit is 4\.0 GiB; use min_size \d+ and max_size \d+, or a native backend/;
  await expectBadInput({ attributeKinds: ['color'] }, 'model.max_size', tooBig);
  await expectBadInput({ attributeKinds: ['color'], model: TORCHVISION_SIZES }, 'model.max_size', tooBig);
  // One image of 384×640 fits, four do not.
  await expectBadInput(
    { attributeKinds: ['color'], batchSize: 4, model: { min_size: 384, max_size: 640 } },
    'batchSize',
    /use a batch size of 1, or min_size/,
  );
  expect(await runCount()).toBe(0);
});

it('a model server refuses, before the first step, a queued run that does not fit its heap (the API had no model server to ask)', async () => {
  const params = normaliseTrainingParams({ attributeKinds: ['color'], model: TORCHVISION_SIZES, epochs: 1 });
  const runId = await insertQueuedRun(db.dataSource, params);
  const queue = await JobQueue.open(db.url);
  try {
    await setRunJob(db.dataSource, runId, await queue.sendTraining({ runId }));
  } finally {
    await queue.stop();
  }
  const run = await finished(globalId('TrainingRun', runId));
  expect(run.status).toBe('FAILED');
  expect(run.error).toMatch(/^model\.max_size: one training step needs about 13\.\d GiB .* but the wasm backend's heap limit is 4\.0 GiB/);
  const [{ progress }] = await db.dataSource.query(`SELECT progress FROM training_runs WHERE id = $1`, [runId]);
  expect(progress?.step ?? 0).toBe(0);
  await db.dataSource.query(`DELETE FROM training_runs WHERE id = $1`, [runId]);
});

it('refuses unbounded model settings and keys that are no config key, naming the key', async () => {
  await expectBadInput(
    { model: { rpn_pre_nms_top_n_train: 2147483647 } },
    'model.rpn_pre_nms_top_n_train',
    /expected an integer in \[1, 20000\], got 2147483647/,
  );
  await expectBadInput(
    { model: { fpn_out_channels: 1000000 } },
    'model.fpn_out_channels',
    /expected an integer in \[1, 1024\], got 1000000/,
  );
  await expectBadInput({ model: { constructor: 1 } }, 'model.constructor', /unknown config key "constructor"/);
  await expectBadInput({ model: JSON.parse('{"__proto__": {"min_size": 64}}') }, 'model.__proto__', /unknown config key "__proto__"/);
  expect(await runCount()).toBe(0);
});

it("kfashion train with torchvision's sizes on wasm stops before the first step with the estimate, the limit and what to change", async () => {
  const config = path.join(db.dataDir, 'torchvision-sizes.json');
  fs.writeFileSync(config, JSON.stringify(TORCHVISION_SIZES));
  const started = Date.now();
  await expect(runCli(['train', '--backend', 'wasm', '--attribute-kinds', 'color', '--model-config', config, '--json'])).rejects.toThrow(
    /^kfashion train: model\.max_size: one training step needs about 13\.\d GiB .* but the wasm backend's heap limit is 4\.0 GiB; use min_size \d+ and max_size \d+/,
  );
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(await runCount()).toBe(0);
});

it('kfashion train refuses unbounded settings and non-config keys of --model-config by name', async () => {
  const cases: [string, RegExp][] = [
    ['{"rpn_pre_nms_top_n_train": 2147483647}', /model\.rpn_pre_nms_top_n_train: expected an integer in \[1, 20000\]/],
    ['{"fpn_out_channels": 1000000}', /model\.fpn_out_channels: expected an integer in \[1, 1024\]/],
    ['{"constructor": 1}', /model\.constructor: unknown config key "constructor"/],
    ['{"__proto__": {"min_size": 64}}', /model\.__proto__: unknown config key "__proto__"/],
  ];
  for (const [i, [json, message]] of cases.entries()) {
    const file = path.join(db.dataDir, `bad-${i}.json`);
    fs.writeFileSync(file, json);
    await expect(runCli(['train', '--backend', 'wasm', '--model-config', file, '--json'])).rejects.toThrow(message);
  }
  expect(await runCount()).toBe(0);
});

it('a stored model version whose config has a key outside the allow-list is not loaded: /ready is 503 naming it until the config is fixed', async () => {
  const versionId = await storeTinyModelVersion(db);
  await api.data(`mutation($id: ID!) { activateModelVersion(id: $id) { id } }`, { id: globalId('ModelVersion', versionId) });
  await db.dataSource.query(`UPDATE model_versions SET config = config || '{"constructor": 1}'::jsonb WHERE id = $1`, [versionId]);
  const refused = await fetch(`${server.http.url}/ready`);
  expect(refused.status).toBe(503);
  expect(((await refused.json()) as { reason: string }).reason).toMatch(
    `model version ${versionId} config: unknown config key "constructor"`,
  );
  await db.dataSource.query(`UPDATE model_versions SET config = config - 'constructor' WHERE id = $1`, [versionId]);
  expect((await fetch(`${server.http.url}/ready`)).status).toBe(200);
});

/**
 * Wraps a wasm kernel: its `callNumber`-th call makes the module read outside its memory (a genuine
 * RuntimeError trap of the module, as an out-of-memory abort is), and the kernel is restored at once.
 */
function injectWasmTrap(kernelName: string, callNumber: number): { fired: () => boolean; backend: tf.KernelBackend } {
  const original = tf.getKernel(kernelName, 'wasm');
  const backend = tf.findBackend('wasm');
  let calls = 0;
  let fired = false;
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      if (++calls === callNumber) {
        tf.unregisterKernel(kernelName, 'wasm');
        tf.registerKernel(original);
        fired = true;
        const wasm = (args.backend as unknown as { wasm: { HEAPU8: Uint8Array; _free(pointer: number): void } }).wasm;
        wasm._free(wasm.HEAPU8.length + 64);
      }
      return original.kernelFunc(args);
    },
  });
  return { fired: () => fired, backend };
}

it('a wasm trap in the middle of a run fails it with a readable error; the server stays up, reloads its model and runs the next job', async () => {
  const versionId = await storeTinyModelVersion(db);
  await api.data(`mutation($id: ID!) { activateModelVersion(id: $id) { id } }`, { id: globalId('ModelVersion', versionId) });
  expect((await fetch(`${server.http.url}/ready`)).status).toBe(200);
  const input = {
    attributeKinds: ['color'],
    maxImages: 4,
    evalMaxImages: 2,
    epochs: 1,
    batchSize: 2,
    lr: 0.005,
    warmupIterations: 1,
    model: { ...TINY_MODEL, min_size: 64, max_size: 64 },
  };

  // The first forward pass has about 30 convolutions: the trap hits the first step.
  const trap = injectWasmTrap('Conv2D', 12);
  const first = (await api.data(START, { input })).startTraining;
  const failed = await finished(first.id);
  expect(trap.fired()).toBe(true);
  expect(failed.status).toBe('FAILED');
  expect(failed.error).toMatch(
    /^the wasm backend aborted during the step, most likely out of memory, and was restarted; lower min_size\/max_size or the batch size/,
  );
  expect(failed.error).not.toMatch(/RuntimeError|memory access|Aborted\(\)/);

  // A fresh wasm module, and the server on it.
  expect(tf.findBackend('wasm')).not.toBe(trap.backend);
  const health = await fetch(`${server.http.url}/health`);
  expect(health.status).toBe(200);
  expect(((await health.json()) as { status: string }).status).toBe('ok');
  const ready = await fetch(`${server.http.url}/ready`);
  expect(ready.status).toBe(200);
  expect(((await ready.json()) as { modelVersion: number }).modelVersion).toBe(Number(versionId));

  const second = (await api.data(START, { input })).startTraining;
  expect(await finished(second.id)).toEqual({ status: 'SUCCEEDED', error: null });
}, 600_000);

it('a wasm trap during /predict answers 503 (retry) without internals; the server reloads the model and the retry succeeds', async () => {
  const photo = (fs.readdirSync(db.root, { recursive: true }) as string[]).find((f) => f.endsWith('.jpg'))!;
  const body = fs.readFileSync(path.join(db.root, photo));
  const predict = () => fetch(`${server.http.url}/predict`, { method: 'POST', body });
  expect((await predict()).status).toBe(200);
  // Inference folds the frozen batch norms into fused convolutions.
  const trap = injectWasmTrap('FusedConv2D', 1);
  const failed = await predict();
  expect(trap.fired()).toBe(true);
  expect(failed.status).toBe(503);
  expect(await failed.json()).toEqual({ error: "the model server's backend failed and was restarted; retry the request" });
  expect(tf.findBackend('wasm')).not.toBe(trap.backend);
  const retried = await predict();
  expect(retried.status).toBe(200);
  expect(((await retried.json()) as { detections: unknown[] }).detections.length).toBeGreaterThan(0);
});
