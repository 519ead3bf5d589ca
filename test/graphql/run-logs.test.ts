/**
 * Training run logs: bounded in size in the database (head and tail kept, the cut said), and, for
 * readers below admin, free of absolute paths, worker names (host:pid), raw detail and Node's system
 * errors; admins read them as stored. Real database, real API over HTTP with real tokens.
 */
import { appendRunLog, RUN_LOG_DETAIL, RUN_LOG_LIMITS } from '../../src/db/training-progress';
import { createApiToken } from '../../src/db/api-tokens';
import { globalId } from '../../src/graphql/ids';
import { startTestServer, type ApiClient } from './support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let api: ApiClient;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  api = await startTestServer(db.dataSource, { publicRead: false });
});
afterAll(async () => {
  await api.server.stop();
  await db.drop();
});

async function newRun(): Promise<number> {
  const [run] = await db.dataSource.query(`INSERT INTO training_runs (params) VALUES ('{}') RETURNING id`);
  return Number(run.id);
}

it('keeps a long log within its bound: the head, the newest lines, and how much was cut', async () => {
  const runId = await newRun();
  const lines = Array.from({ length: 400 }, (_, i) => `line ${String(i).padStart(3, '0')} ${'x'.repeat(900)}`);
  let appended = 0;
  for (const line of lines) {
    await appendRunLog(db.dataSource, runId, line);
    appended += `${new Date().toISOString()} ${line}\n`.length;
  }
  const [{ log }] = await db.dataSource.query(`SELECT log FROM training_runs WHERE id = $1`, [runId]);
  expect(appended).toBeGreaterThan(5 * RUN_LOG_LIMITS.max);
  expect(log.length).toBeLessThanOrEqual(RUN_LOG_LIMITS.max);
  expect(log.length).toBeGreaterThan(RUN_LOG_LIMITS.max - 2_000);
  const stored = log.split('\n').slice(0, -1);
  // The first lines whole, then one cut line, then whole lines up to the newest.
  expect(stored[0]).toMatch(/ line 000 x+$/);
  const cutAt = stored.findIndex((line: string) => line.startsWith('[…'));
  expect(stored[cutAt - 1]).toMatch(new RegExp(`line ${String(cutAt - 1).padStart(3, '0')} x{900}$`));
  expect(stored.filter((line: string) => line.startsWith('[…'))).toHaveLength(1);
  expect(stored[stored.length - 1]).toMatch(/ line 399 x{900}$/);
  const firstKept = Number(/ line (\d+) /.exec(stored[cutAt + 1])![1]);
  expect(stored.slice(cutAt + 1).map((line: string) => Number(/ line (\d+) /.exec(line)![1]))).toEqual(
    Array.from({ length: 400 - firstKept }, (_, i) => firstKept + i),
  );
  // The cut line counts exactly the characters left out.
  const cut = Number(/^\[… (\d+) characters cut …\]$/.exec(stored[cutAt])![1]);
  expect(cut).toBe(appended - (log.length - stored[cutAt].length - 1));
});

it('shows viewers a log without paths, worker names, raw detail or Node errors; admins the log as stored', async () => {
  const runId = await newRun();
  const stored = [
    'resumed from the checkpoint at step 500 (/srv/kfashion/checkpoints/run-7/step-500) by gpu-node-7.internal:48213',
    `skipped image 42: it cannot be used${RUN_LOG_DETAIL}/data/kfashion/Training/원천데이터/x.jpg: VipsJpeg: Premature end of JPEG file`,
    "initWeights: ENOENT: no such file or directory, open '/var/lib/kfashion/weights/r50.pth'",
    'worker gpu-node-7:48213 sent no heartbeat for 120 s; the job is retried',
  ];
  for (const line of stored) await appendRunLog(db.dataSource, runId, line);
  await db.dataSource.query(`UPDATE training_runs SET status = 'failed', error = $2 WHERE id = $1`, [
    runId,
    "EACCES: permission denied, open '/srv/models/run-7/model.safetensors'",
  ]);
  const query = `query($id: ID!) { trainingRun(id: $id) { log error } }`;

  const { token: viewer } = await createApiToken(db.dataSource, { role: 'viewer', name: 'viewer' });
  const seen = (await api.as(viewer).data(query, { id: globalId('TrainingRun', runId) })).trainingRun;
  const lines = seen.log
    .trim()
    .split('\n')
    .map((line: string) => line.replace(/^\S+ /, ''));
  expect(lines).toEqual([
    'resumed from the checkpoint at step 500 (…/step-500) by a model server',
    'skipped image 42: it cannot be used',
    'initWeights: no such file or directory',
    'worker a model server sent no heartbeat for 120 s; the job is retried',
  ]);
  expect(seen.error).toBe('permission denied');
  expect(JSON.stringify(seen)).not.toMatch(/\/srv|\/data|\/var|gpu-node|48213|Vips|ENOENT|EACCES/);
  // Timestamps survive untouched.
  expect(seen.log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z resumed/);

  const asAdmin = (await api.data(query, { id: globalId('TrainingRun', runId) })).trainingRun;
  expect(
    asAdmin.log
      .trim()
      .split('\n')
      .map((line: string) => line.replace(/^\S+ /, '')),
  ).toEqual(stored);
  expect(asAdmin.error).toBe("EACCES: permission denied, open '/srv/models/run-7/model.safetensors'");
});
