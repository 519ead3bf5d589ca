/**
 * Fault test with real model-server processes sharing one database: the server working a training run
 * is killed (SIGKILL) after a checkpoint; a second server's watchdog sees the stale lease, pg-boss retries
 * the job, the second server resumes from the checkpoint and finishes; every (step, metric) is recorded
 * once, the steps before the checkpoint are not recomputed and the ones after it are.
 */
import { normaliseTrainingParams } from '../../src/jobs/training-params';
import { JobQueue, TRAINING_QUEUE } from '../../src/jobs/queue';
import { checkpointDir, readLatestCheckpoint } from '../../src/model-server/training/checkpoint';
import { syntheticDatabase, TINY_MODEL, type SyntheticDatabase } from '../model-server/support';
import { assertBuilt, eventually, startCli, type Child } from './processes';

jest.setTimeout(600_000);

let db: SyntheticDatabase;
let queue: JobQueue;
const children: Child[] = [];

beforeAll(async () => {
  assertBuilt();
  db = await syntheticDatabase(20, 9, 64);
  queue = await JobQueue.open(db.url, { retryDelaySeconds: 1 });
});
afterAll(async () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  await queue.stop();
  await db.cleanup();
});

function modelServer(): Child {
  const child = startCli(['model-server', '--lease-timeout', '8'], {
    DATABASE_URL: db.url,
    KFASHION_DATA_DIR: db.dataDir,
    MODEL_SERVER_PORT: '0',
    KFASHION_TF_BACKEND: 'wasm',
  });
  children.push(child);
  return child;
}

it("a killed model server's run is resumed by another from its checkpoint, with no duplicate metrics", async () => {
  const params = normaliseTrainingParams({
    model: { ...TINY_MODEL, min_size: 64, max_size: 64 },
    data: { attributeKinds: ['color'], maxImages: 8, evalMaxImages: 2 },
    epochs: 3,
    batchSize: 2,
    lr: 0.005,
    warmupIterations: 2,
    checkpointEvery: 2,
    seed: 4,
  });
  const [run] = await db.dataSource.query(`INSERT INTO training_runs (params) VALUES ($1::jsonb) RETURNING id`, [JSON.stringify(params)]);
  const jobId = await queue.sendTraining({ runId: run.id });

  const first = modelServer();
  await first.waitFor(/model server on http:\/\/127\.0\.0\.1:\d+/);
  // Let the first server pass a checkpoint and record a step after it, then kill it.
  const killedAfter = await eventually(
    async () => {
      const [row] = await db.dataSource.query(`SELECT progress FROM training_runs WHERE id = $1`, [run.id]);
      const checkpoint = readLatestCheckpoint(checkpointDir(db.dataDir, run.id));
      return checkpoint && checkpoint.state.step >= 4 && row.progress?.step > checkpoint.state.step ? checkpoint.state.step : undefined;
    },
    240_000,
    'a checkpoint and a step after it',
    100,
  );
  first.process.kill('SIGKILL');
  expect(await first.exited).toBe('SIGKILL');
  const killedAt = new Date();
  const checkpointStep = readLatestCheckpoint(checkpointDir(db.dataDir, run.id))!.state.step;
  expect(checkpointStep).toBeGreaterThanOrEqual(killedAfter);
  const before = await db.dataSource.query(
    `SELECT step, recorded_at FROM training_metrics WHERE training_run_id = $1 AND name = 'loss' ORDER BY step`,
    [run.id],
  );

  const second = modelServer();
  const finished = await eventually(
    async () => {
      const [row] = await db.dataSource.query(`SELECT status, attempt, log, progress, model_version_id FROM training_runs WHERE id = $1`, [
        run.id,
      ]);
      return ['succeeded', 'failed', 'cancelled'].includes(row.status) ? row : undefined;
    },
    420_000,
    'the run to finish on the second server',
    500,
  );
  expect(finished.status).toBe('succeeded');
  expect(finished.attempt).toBe(2);
  expect(finished.log).toMatch(/sent no heartbeat for 8 s; the job is retried/);
  expect(finished.log).toContain(`resumed from the checkpoint at step ${checkpointStep}`);
  expect(finished.progress).toMatchObject({ step: 12, totalSteps: 12, resumedFromStep: checkpointStep });
  expect(finished.model_version_id).not.toBeNull();

  const after = await db.dataSource.query(
    `SELECT step, recorded_at FROM training_metrics WHERE training_run_id = $1 AND name = 'loss' ORDER BY step`,
    [run.id],
  );
  expect(after.map((r: any) => r.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  const total = await db.dataSource.query(
    `SELECT count(*)::int AS n, count(DISTINCT (step, name))::int AS d FROM training_metrics WHERE training_run_id = $1`,
    [run.id],
  );
  expect(total[0].n).toBe(total[0].d);
  for (const row of after) {
    const earlier = before.find((b: any) => b.step === row.step);
    if (row.step <= checkpointStep) expect(row.recorded_at).toEqual(earlier.recorded_at);
    else expect(row.recorded_at.getTime()).toBeGreaterThan(killedAt.getTime());
  }
  expect((await queue.job(TRAINING_QUEUE, jobId))?.state).toBe('completed');
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
});
