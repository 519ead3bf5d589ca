/**
 * `kfashion serve --model-server` (the built CLI) when its model server child is killed: the child
 * was bound to loopback behind a token only the API knows; a new child replaces it on the same URL,
 * and the run the dead child held goes back to the queue through the API process's own watchdog, the
 * one watchdog that survived.
 */
import * as os from 'node:os';
import { claim } from '../../src/db/leases';
import { JobQueue, TRAINING_QUEUE } from '../../src/jobs/queue';
import { assertBuilt, eventually, startCli, type Child } from '../e2e/processes';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

jest.setTimeout(240_000);

let db: TestDatabase;
let queue: JobQueue;
let serve: Child | undefined;

beforeAll(async () => {
  assertBuilt(['src/cli', 'src/jobs', 'src/model-server', 'src/graphql', 'src/graphql/services']);
  db = await createPostgresTestDatabase();
  queue = await JobQueue.open(db.url);
});
afterAll(async () => {
  serve?.process.kill('SIGTERM');
  await serve?.exited;
  await queue.stop();
  await db.drop();
});

it('replaces a killed child on the same URL, and the API returns the run the child held to the queue', async () => {
  serve = startCli(['serve', '--model-server'], {
    DATABASE_URL: db.url,
    PORT: '0',
    KFASHION_TF_BACKEND: 'wasm',
    KFASHION_LEASE_TIMEOUT: '3',
    MODEL_SERVER_TOKEN: '',
  });
  const [, url] = await serve.waitFor(/model server at (http:\/\/\S+)/, 120_000);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const [, firstPid] = await serve.waitFor(/\[model-server\] child (\d+) ready at/);
  expect(serve.output()).toMatch(/model server on http:\/\/127\.0\.0\.1:\d+ \(bound to 127\.0\.0\.1:\d+, token required;/);
  // Loopback and a token: nobody but the API may predict.
  expect((await fetch(`${url}/ready`)).status).toBe(401);

  // A run the child works on (as its worker would have claimed it), with its pg-boss job active.
  const [run] = await db.dataSource.query(`INSERT INTO training_runs (params) VALUES ('{}') RETURNING id`);
  const jobId = await queue.sendTraining({ runId: run.id });
  expect((await queue.fetchOne<{ runId: number }>(TRAINING_QUEUE))?.id).toBe(jobId);
  const worker = `${os.hostname()}:${firstPid}`;
  await claim(db.dataSource, { table: 'training_runs', id: run.id, worker }, jobId, 3);

  process.kill(Number(firstPid), 'SIGKILL');
  // Its last heartbeat long past: the API's watchdog (a pass a second at this lease timeout) hands the run
  // back before the replacement child, started after a second's backoff, runs a watchdog of its own.
  await db.dataSource.query(`UPDATE training_runs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [run.id]);
  await serve.waitFor(new RegExp(`child ${firstPid} exited \\(SIGKILL\\); starting another in 1 s`), 10_000);
  const [, secondPid, secondUrl] = await serve.waitFor(
    new RegExp(`\\[model-server\\] child (?!${firstPid}\\b)(\\d+) ready at (\\S+)`),
    120_000,
  );
  expect(secondPid).not.toBe(firstPid);
  expect(secondUrl).toBe(url);
  expect((await fetch(`${url}/health`)).status).toBe(200);

  // Returned by the API's watchdog (its log lines carry "lease watchdog:"), not left running.
  await serve.waitFor(
    new RegExp(`lease watchdog: training_runs ${run.id}: worker ${worker.replace(/[.]/g, '\\.')} sent no heartbeat for 3 s`),
    30_000,
  );
  const row = await eventually(
    async () => {
      const [current] = await db.dataSource.query(`SELECT status, worker, log FROM training_runs WHERE id = $1`, [run.id]);
      return current.worker !== worker ? current : undefined;
    },
    10_000,
    'the run to leave the dead worker',
  );
  expect(row.log).toMatch(new RegExp(`worker ${worker.replace(/[.]/g, '\\.')} sent no heartbeat for 3 s; the job is retried`));
  expect(['queued', 'running', 'failed']).toContain(row.status);
});
