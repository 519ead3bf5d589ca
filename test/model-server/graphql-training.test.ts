/**
 * The training/prediction API over real HTTP and WebSocket, without a model: validation of
 * startTraining (field named in BAD_USER_INPUT), queued runs handed to pg-boss, cancelling,
 * activation, analyzeImage's argument checks and its failure without a model server, predictImages
 * validation, and trainingRunUpdated pushing NOTIFY'd progress over graphql-ws.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Client as PgClient } from 'pg';
import { RECONNECT_BACKOFF } from '../../src/graphql/training/run-updates';
import { globalId } from '../../src/graphql/ids';
import { TRAINING_CHANNEL } from '../../src/jobs/channels';
import { JobQueue, TRAINING_QUEUE } from '../../src/jobs/queue';
import { normaliseTrainingParams } from '../../src/jobs/training-params';
import { startTestServer, type ApiClient } from '../graphql/support';
import { syntheticDatabase, type SyntheticDatabase } from './support';

let db: SyntheticDatabase;
let api: ApiClient;
let queue: JobQueue;

beforeAll(async () => {
  db = await syntheticDatabase(12, 5, 64);
  api = await startTestServer(db.dataSource, { dataDir: db.dataDir });
  queue = await JobQueue.open(db.url);
});
afterAll(async () => {
  await api.server.stop();
  await queue.stop();
  await db.cleanup();
});

const START = `mutation($input: StartTrainingInput!) {
  startTraining(input: $input) { id databaseId status params { epochs batchSize momentum weightDecay lr lrGamma warmupFactor backbone model superCategories attributeKinds } }
}`;

async function expectBadInput(input: Record<string, unknown>, field: string, message: RegExp): Promise<void> {
  const result = await api.query(START, { input });
  expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect(result.errors?.[0]?.message).toMatch(message);
}

it('refuses unknown kinds, empty datasets and absurd hyperparameters, naming the field', async () => {
  await expectBadInput({ attributeKinds: ['colour'] }, 'attributeKinds', /^attributeKinds: unknown value "colour"; known: color,/);
  await expectBadInput({ momentum: 1 }, 'momentum', /^momentum: must be between 0 and 0.999, got 1$/);
  await expectBadInput({ warmupFactor: 0 }, 'warmupFactor', /between/);
  await expectBadInput({ lr: 5 }, 'lr', /between/);
  await expectBadInput({ epochs: 0 }, 'epochs', /between 1 and 1000/);
  await expectBadInput({ batchSize: 100000 }, 'batchSize', /between 1 and 256/);
  await expectBadInput({ backbone: 'vgg16' }, 'backbone', /expected one of resnet18/);
  await expectBadInput({ model: { min_sise: 100 } }, 'model.min_sise', /unknown config key/);
  await expectBadInput({ model: { num_classes: 5 } }, 'model.num_classes', /comes from the training data/);
  await expectBadInput({ model: { norm_layer: 'group_norm' } }, 'model.norm_layer', /expected one of frozen_batch_norm, batch_norm/);
  await expectBadInput({ lrMilestones: [5, 3], epochs: 10 }, 'lrMilestones', /increasing/);
  await expectBadInput({ minValueCount: 100000 }, 'input', /dataset is empty/);
  const runs = await db.dataSource.query(`SELECT count(*)::int AS n FROM training_runs`);
  expect(runs[0].n).toBe(0);
});

it('queues a valid run on pg-boss with the torchvision defaults filled in, and cancels it', async () => {
  const { startTraining } = await api.data(START, {
    input: { attributeKinds: ['color'], epochs: 2, batchSize: 4, superCategories: ['TOP', 'BOTTOM'] },
  });
  expect(startTraining.status).toBe('QUEUED');
  expect(startTraining.id).toBe(globalId('TrainingRun', startTraining.databaseId));
  expect(startTraining.params).toEqual({
    epochs: 2,
    batchSize: 4,
    momentum: 0.9,
    weightDecay: 1e-4,
    lr: 0.005,
    lrGamma: 0.1,
    warmupFactor: 0.001,
    backbone: 'resnet18',
    // From scratch (no initWeights): the whole body trains with nn.BatchNorm2d, as torchvision's builders do.
    model: { trainable_backbone_layers: 5, norm_layer: 'batch_norm' },
    superCategories: ['TOP', 'BOTTOM'],
    attributeKinds: ['color'],
  });
  const [stored] = await db.dataSource.query(`SELECT params FROM training_runs WHERE id = $1`, [startTraining.databaseId]);
  expect(stored.params).toMatchObject({
    model: { backbone: 'resnet18' },
    data: { superCategories: ['TOP', 'BOTTOM'], attributeKinds: ['color'] },
  });
  const [row] = await db.dataSource.query(`SELECT job_id FROM training_runs WHERE id = $1`, [startTraining.databaseId]);
  const job = await queue.job(TRAINING_QUEUE, row.job_id);
  expect(job?.data).toEqual({ runId: Number(startTraining.databaseId) });
  expect(job?.state).toBe('created');

  const cancelled = await api.data(`mutation($id: ID!) { cancelTraining(id: $id) { id status finishedAt } }`, { id: startTraining.id });
  expect(cancelled.cancelTraining.status).toBe('CANCELLED');
  expect((await queue.job(TRAINING_QUEUE, row.job_id))?.state).toBe('cancelled');
  const missing = await api.query(`mutation { cancelTraining(id: "${globalId('TrainingRun', 9999)}") { id } }`);
  expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
});

it('takes momentum, weight decay and the learning-rate factors from the API and stores them', async () => {
  const input = { attributeKinds: ['color'], epochs: 2, momentum: 0.5, weightDecay: 0.01, lrGamma: 0.5, warmupFactor: 0.1 };
  const { startTraining } = await api.data(START, { input });
  expect(startTraining.params).toMatchObject({ momentum: 0.5, weightDecay: 0.01, lrGamma: 0.5, warmupFactor: 0.1 });
  const [stored] = await db.dataSource.query(`SELECT params FROM training_runs WHERE id = $1`, [startTraining.databaseId]);
  expect(stored.params).toMatchObject({ momentum: 0.5, weightDecay: 0.01, lrGamma: 0.5, warmupFactor: 0.1 });
  await api.data(`mutation($id: ID!) { cancelTraining(id: $id) { id } }`, { id: startTraining.id });
});

it("starts from weights with torchvision's pretrained-backbone defaults; explicit model keys win", () => {
  // No norm_layer or trainable_backbone_layers key: the config defaults, FrozenBatchNorm2d and 3 stages.
  expect(normaliseTrainingParams({ initWeights: '/models/fasterrcnn.safetensors' }).model).toEqual({ backbone: 'resnet18' });
  expect(normaliseTrainingParams({ model: { norm_layer: 'frozen_batch_norm' } }).model).toEqual({
    backbone: 'resnet18',
    trainable_backbone_layers: 5,
    norm_layer: 'frozen_batch_norm',
  });
});

it('activates one model version at a time', async () => {
  const ids = [];
  for (const name of ['a', 'b']) {
    const [row] = await db.dataSource.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ($1, 'resnet18', '{}', '/x') RETURNING id`,
      [name],
    );
    ids.push(globalId('ModelVersion', row.id));
  }
  for (const id of [ids[0], ids[1]]) {
    const { activateModelVersion } = await api.data(`mutation($id: ID!) { activateModelVersion(id: $id) { id isActive } }`, { id });
    expect(activateModelVersion).toEqual({ id, isActive: true });
  }
  const active = await db.dataSource.query(`SELECT id FROM model_versions WHERE is_active`);
  expect(active.map((r: any) => globalId('ModelVersion', r.id))).toEqual([ids[1]]);
});

it('needs exactly one photo and a model server to analyse, and keeps nothing of a failed analysis', async () => {
  const analyze = `mutation($u: ID, $id: ID) { analyzeImage(uploadId: $u, imageId: $id) { garments { id } } }`;
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: 'blue' } })
    .jpeg()
    .toBuffer();
  const uploadId = await api.uploadId(jpeg);
  const both = await api.query(analyze, { u: uploadId, id: globalId('Image', 1) });
  expect(both.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'uploadId' });
  expect(both.errors?.[0]?.message).toMatch(/exactly one of uploadId and imageId/);
  const unknown = await api.query(analyze, { u: 'f'.repeat(32) });
  expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  const imagesBefore = await db.dataSource.query(`SELECT count(*)::int AS n FROM images`);
  const noServer = await api.query(analyze, { u: uploadId });
  expect(noServer.errors?.[0]?.extensions?.code).toBe('MODEL_SERVER_UNAVAILABLE');
  // Nothing of the refused analysis is kept: no image row, no file, not even the staged upload.
  expect(await db.dataSource.query(`SELECT count(*)::int AS n FROM images`)).toEqual(imagesBefore);
  expect(fs.readdirSync(path.join(db.dataDir, 'uploads')).filter((name) => name !== '.staging')).toEqual([]);
  expect(fs.readdirSync(path.join(db.dataDir, 'uploads', '.staging'))).toEqual([]);
  expect((await api.query(analyze, { u: uploadId })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
});

it('validates predictImages before queueing', async () => {
  const predict = `mutation($where: ImageWhere, $id: ID!) { predictImages(where: $where, modelVersionId: $id) { id databaseId status total done } }`;
  expect((await api.query(predict, { id: globalId('ModelVersion', 424242) })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  const [version] = await db.dataSource.query(`SELECT id FROM model_versions ORDER BY id LIMIT 1`);
  const bad = await api.query(predict, { id: globalId('ModelVersion', version.id), where: { styles: ['no-such-style'] } });
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const { predictImages } = await api.data(predict, { id: globalId('ModelVersion', version.id), where: { split: 'VALIDATION' } });
  expect(predictImages).toMatchObject({ status: 'QUEUED', done: 0 });
  const [row] = await db.dataSource.query(`SELECT filter FROM prediction_jobs WHERE id = $1`, [predictImages.databaseId]);
  expect(row.filter).toEqual({ split: 'validation' });
});

it('answers subscribers with the same error codes as HTTP clients, no internals', async () => {
  const client = createClient({ url: `ws://127.0.0.1:${api.server.port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    const refused = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: `subscription { trainingRunUpdated(id: "${globalId('TrainingRun', '9223372036854775808')}") { id } }` },
        {
          next: (value) => resolve(value.errors),
          error: resolve,
          complete: () => resolve('complete'),
        },
      );
    });
    expect((refused as any[])[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'id' } });
  } finally {
    await client.dispose();
  }
});

it('pushes run updates over graphql-ws until the run finishes', async () => {
  const [run] = await db.dataSource.query(`INSERT INTO training_runs (params, status) VALUES ('{}', 'running') RETURNING id`);
  const client = createClient({ url: `ws://127.0.0.1:${api.server.port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const updates: any[] = [];
  const done = new Promise<void>((resolve, reject) => {
    client.subscribe(
      {
        query: `subscription($id: ID!) { trainingRunUpdated(id: $id) { id status progress { step } } }`,
        variables: { id: globalId('TrainingRun', run.id) },
      },
      {
        next: (value) => {
          updates.push(value.data?.trainingRunUpdated ?? value.errors);
        },
        error: reject,
        complete: resolve,
      },
    );
  });
  try {
    await new Promise((r) => setTimeout(r, 500));
    for (const step of [1, 2]) {
      await db.dataSource.query(`UPDATE training_runs SET progress = $2::jsonb WHERE id = $1`, [run.id, JSON.stringify({ step })]);
      await db.dataSource.query(`SELECT pg_notify('kfashion_training_run', $1)`, [String(run.id)]);
      await new Promise((r) => setTimeout(r, 300));
    }
    await db.dataSource.query(`UPDATE training_runs SET status = 'succeeded' WHERE id = $1`, [run.id]);
    await db.dataSource.query(`SELECT pg_notify('kfashion_training_run', $1)`, [String(run.id)]);
    await done;
  } finally {
    await client.dispose();
  }
  expect(updates[0]).toMatchObject({ id: globalId('TrainingRun', run.id), status: 'RUNNING', progress: null });
  expect(updates.map((u) => u.progress?.step ?? null)).toEqual([null, 1, 2, 2]);
  expect(updates[updates.length - 1].status).toBe('SUCCEEDED');
});

describe('when the LISTEN connection drops', () => {
  const backoff = { ...RECONNECT_BACKOFF };
  beforeAll(() => Object.assign(RECONNECT_BACKOFF, { firstMs: 50, maxMs: 200, attempts: 4 }));
  afterAll(() => Object.assign(RECONNECT_BACKOFF, backoff));

  // The training runs' LISTEN connection only: the API keeps others (the similarity indexes' one).
  const terminateListener = () =>
    db.dataSource.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = $1`, [
      `LISTEN ${TRAINING_CHANNEL}`,
    ]);

  /** Subscribes to a new running run; its updates (or errors) as they come, and how it ended. */
  async function follow() {
    const [run] = await db.dataSource.query(`INSERT INTO training_runs (params, status) VALUES ('{}', 'running') RETURNING id`);
    const client = createClient({ url: `ws://127.0.0.1:${api.server.port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const updates: any[] = [];
    const ended = new Promise<unknown>((resolve) => {
      client.subscribe(
        {
          query: `subscription($id: ID!) { trainingRunUpdated(id: $id) { progress { step } } }`,
          variables: { id: globalId('TrainingRun', run.id) },
        },
        {
          next: (value) => updates.push(value.data?.trainingRunUpdated ?? value.errors),
          error: resolve,
          complete: () => resolve('complete'),
        },
      );
    });
    const step = async (n: number) => {
      await db.dataSource.query(`UPDATE training_runs SET progress = $2::jsonb WHERE id = $1`, [run.id, JSON.stringify({ step: n })]);
      await db.dataSource.query(`SELECT pg_notify('kfashion_training_run', $1)`, [String(run.id)]);
    };
    const until = async (check: () => boolean) => {
      for (let waited = 0; !check() && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    };
    return { run, client, updates, ended, step, until };
  }

  it('reconnects, LISTENs again and goes on pushing updates', async () => {
    const { client, updates, step, until } = await follow();
    try {
      await until(() => updates.length === 1);
      await step(1);
      await until(() => updates.length === 2);
      expect((await terminateListener()).length).toBe(1);
      // Waking after the reconnection re-reads the run: step 1 again, then every new step.
      await until(() => updates.length === 3);
      await step(2);
      await until(() => updates.length === 4);
      expect(updates.map((u) => u.progress?.step ?? null)).toEqual([null, 1, 1, 2]);
    } finally {
      await client.dispose();
    }
  });

  it('tells subscribers with UPDATES_UNAVAILABLE when it cannot reconnect', async () => {
    const { client, updates, ended, until } = await follow();
    const name = (await db.dataSource.query(`SELECT current_database() AS name`))[0].name;
    // A database cannot refuse connections to itself from its own session: ask from the server's default database.
    const server = new PgClient({ connectionString: Object.assign(new URL(db.url), { pathname: '/postgres' }).toString() });
    await server.connect();
    try {
      await until(() => updates.length === 1);
      await server.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await terminateListener();
      const error = (await ended) as { message?: string; extensions?: { code?: string } }[];
      expect(error[0].extensions?.code).toBe('UPDATES_UNAVAILABLE');
    } finally {
      await server.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await server.end();
      await client.dispose();
    }
  });
});
