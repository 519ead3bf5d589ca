/**
 * The job queue (pg-boss on the test database) and the leases on rows: each job is given to one
 * worker; a worker that stops sending heartbeats loses its row, its job is retried by pg-boss and
 * taken by another worker, and the old worker's writes are refused.
 */
import { claim, finish, heartbeat, LeaseLost } from '../../src/db/leases';
import { reapStale } from '../../src/jobs/lease-watchdog';
import { JobQueue, TRAINING_QUEUE } from '../../src/jobs/queue';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { startTestServer } from '../graphql/support';

let db: TestDatabase;
let queue: JobQueue;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  queue = await JobQueue.open(db.url, { retryDelaySeconds: 1 });
});
afterAll(async () => {
  await queue.stop();
  await db.drop();
});

it("gives a job to one worker; a dead worker's job is retried and resumed by another", async () => {
  const [run] = await db.dataSource.query(`INSERT INTO training_runs (params) VALUES ('{}') RETURNING id`);
  const jobId = await queue.sendTraining({ runId: run.id });
  const other = await JobQueue.open(db.url, { retryDelaySeconds: 1 });
  try {
    const [a, b] = await Promise.all([
      queue.fetchOne<{ runId: number }>(TRAINING_QUEUE),
      other.fetchOne<{ runId: number }>(TRAINING_QUEUE),
    ]);
    const taken = [a, b].filter((j) => j !== null);
    expect(taken).toHaveLength(1);
    expect(taken[0].id).toBe(jobId);
    expect(taken[0].data.runId).toBe(run.id);

    const leaseA = { table: 'training_runs' as const, id: run.id, worker: 'worker-a' };
    const leaseB = { ...leaseA, worker: 'worker-b' };
    expect(await claim(db.dataSource, leaseA, jobId, 30)).toEqual({ cancelRequested: false });
    expect(await claim(db.dataSource, leaseB, jobId, 30)).toBeNull();
    await heartbeat(db.dataSource, leaseA);

    // Worker A stops sending heartbeats: the watchdog gives the row back and fails the job for a retry.
    await db.dataSource.query(`UPDATE training_runs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [run.id]);
    const lines: string[] = [];
    const reaped = await reapStale(db.dataSource, other, 'training_runs', TRAINING_QUEUE, 30, (l) => lines.push(l));
    expect(reaped.map((r) => [r.id, r.jobId, r.worker])).toEqual([[run.id, jobId, 'worker-a']]);
    expect(lines[0]).toMatch(/worker worker-a sent no heartbeat/);
    const [row] = await db.dataSource.query(`SELECT status, worker, log FROM training_runs WHERE id = $1`, [run.id]);
    expect([row.status, row.worker]).toEqual(['queued', null]);
    expect(row.log).toMatch(/worker-a sent no heartbeat/);

    let retried = null;
    for (let i = 0; i < 40 && !retried; i++) {
      retried = await other.fetchOne<{ runId: number }>(TRAINING_QUEUE);
      if (!retried) await new Promise((r) => setTimeout(r, 250));
    }
    expect(retried?.id).toBe(jobId);
    expect(await claim(db.dataSource, leaseB, jobId, 30)).toEqual({ cancelRequested: false });
    const [attempts] = await db.dataSource.query(`SELECT attempt FROM training_runs WHERE id = $1`, [run.id]);
    expect(attempts.attempt).toBe(2);
    // The old worker's writes are fenced off.
    await expect(heartbeat(db.dataSource, leaseA)).rejects.toThrow(LeaseLost);
    await expect(finish(db.dataSource, leaseA, 'succeeded')).rejects.toThrow(LeaseLost);
    await finish(db.dataSource, leaseB, 'succeeded');
    await other.complete(TRAINING_QUEUE, jobId);
    expect((await other.job(TRAINING_QUEUE, jobId))?.state).toBe('completed');
  } finally {
    await other.stop();
  }
});

it('gives up after the retry limit and fails the row', async () => {
  const limited = await JobQueue.open(db.url, { retryDelaySeconds: 1 });
  try {
    const [run] = await db.dataSource.query(`INSERT INTO training_runs (params) VALUES ('{}') RETURNING id`);
    const jobId = await limited.boss.send(TRAINING_QUEUE, { runId: run.id }, { retryLimit: 0 });
    const job = await limited.fetchOne<{ runId: number }>(TRAINING_QUEUE);
    expect(job?.id).toBe(jobId);
    await claim(db.dataSource, { table: 'training_runs', id: run.id, worker: 'w' }, jobId!, 30);
    await db.dataSource.query(`UPDATE training_runs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [run.id]);
    await reapStale(db.dataSource, limited, 'training_runs', TRAINING_QUEUE, 30, () => undefined);
    const [row] = await db.dataSource.query(`SELECT status, error FROM training_runs WHERE id = $1`, [run.id]);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/no retries left/);
  } finally {
    await limited.stop();
  }
});

it("the API's own watchdog hands back a run whose only model server died", async () => {
  const [run] = await db.dataSource.query(`INSERT INTO training_runs (params) VALUES ('{}') RETURNING id`);
  const jobId = await queue.sendTraining({ runId: run.id });
  expect((await queue.fetchOne<{ runId: number }>(TRAINING_QUEUE))?.id).toBe(jobId);
  // The model server that took it is gone: no model server is left whose watchdog could notice.
  await claim(db.dataSource, { table: 'training_runs', id: run.id, worker: 'gpu-host:4242' }, jobId, 30);
  await db.dataSource.query(`UPDATE training_runs SET heartbeat_at = now() - interval '10 seconds' WHERE id = $1`, [run.id]);
  const logged: string[] = [];
  const api = await startTestServer(db.dataSource, { leaseTimeoutSeconds: 3, log: (message) => logged.push(message) });
  try {
    let row: { status: string; worker: string | null; log: string } | undefined;
    for (let i = 0; i < 40 && row?.status !== 'queued'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      [row] = await db.dataSource.query(`SELECT status, worker, log FROM training_runs WHERE id = $1`, [run.id]);
    }
    expect([row?.status, row?.worker]).toEqual(['queued', null]);
    expect(row?.log).toMatch(/worker gpu-host:4242 sent no heartbeat for 3 s; the job is retried/);
    expect(logged.join('\n')).toMatch(new RegExp(`lease watchdog: training_runs ${run.id}: worker gpu-host:4242 sent no heartbeat`));
    expect((await queue.job(TRAINING_QUEUE, jobId))?.state).toMatch(/^(retry|created)$/);
  } finally {
    await api.server.stop();
  }
});
