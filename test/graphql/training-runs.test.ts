/**
 * A list of training runs with their per-run fields (log, attempts, metrics, loss curves) costs the
 * same number of SQL statements for 2 runs as for 12: each field is loaded for all runs of the page
 * at once, and each run still gets its own values. The trainingRunUpdated subscription reads those
 * fields anew for every event, and stops when its token is revoked.
 */
import { createApiToken, revokeApiToken } from '../../src/db/api-tokens';
import { TRAINING_CHANNEL } from '../../src/jobs/channels';
import { globalId } from '../../src/graphql/ids';
import { ApiClient, QueryCounter, startTestServer } from './support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let api: ApiClient;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  api = await startTestServer(db.dataSource);
  for (let run = 1; run <= 12; run++) {
    const [{ id }] = await db.dataSource.query(`INSERT INTO training_runs (params, log, attempt) VALUES ('{}', $1, $2) RETURNING id`, [
      `log of run ${run}`,
      run % 3,
    ]);
    for (let step = 1; step <= 3; step++) {
      await db.dataSource.query(
        `INSERT INTO training_metrics (training_run_id, step, epoch, name, value) VALUES ($1, $2, 0, 'loss', $3), ($1, $2, 0, 'lr', 0.01)`,
        [id, step, run + step / 10],
      );
    }
  }
});
afterAll(async () => {
  await api.server.stop();
  await db.drop();
});

const RUNS = `query($first: Int) { trainingRuns(first: $first) { edges { node { id log attempts metrics(name: "loss") { step value } lossCurves { name steps values } } } } }`;

async function statementsFor(first: number): Promise<{ statements: number; runs: any[] }> {
  const counter = new QueryCounter(db.dataSource);
  try {
    const { result, queries } = await counter.during(() => api.data(RUNS, { first }));
    return { statements: queries, runs: result.trainingRuns.edges.map((edge: any) => edge.node) };
  } finally {
    counter.detach();
  }
}

it('loads log, attempts, metrics and loss curves of a list of runs with a constant number of statements', async () => {
  const two = await statementsFor(2);
  const twelve = await statementsFor(12);
  expect(twelve.runs).toHaveLength(12);
  // The token lookup, the list, and one statement each for logs (and attempts), metrics and curves.
  expect(twelve.statements).toBe(two.statements);
  expect(twelve.statements).toBeLessThanOrEqual(5);
  // Newest first: the first run listed is run 12.
  const newest = twelve.runs[0];
  expect(newest.log).toBe('log of run 12');
  expect(newest.attempts).toBe(0);
  expect(newest.metrics.map((m: any) => [m.step, m.value])).toEqual([
    [1, 12.1],
    [2, 12.2],
    [3, 12.3],
  ]);
  expect(newest.lossCurves).toEqual([
    { name: 'loss', steps: [1, 2, 3], values: [12.1, 12.2, 12.3] },
    { name: 'lr', steps: [1, 2, 3], values: [0.01, 0.01, 0.01] },
  ]);
  const oldest = twelve.runs[11];
  expect(oldest.log).toBe('log of run 1');
  expect(oldest.attempts).toBe(1);
  expect(oldest.metrics.map((m: any) => m.value)).toEqual([1.1, 1.2, 1.3]);
});

/** The first answer to `query` on an open graphql-ws client: its data, or its errors. */
function answer(client: ReturnType<ApiClient['webSocket']>, query: string): Promise<unknown> {
  return new Promise((resolve) =>
    client.subscribe({ query }, { next: (value) => resolve(value.errors ?? value.data), error: resolve, complete: () => {} }),
  );
}

describe('trainingRunUpdated', () => {
  it('checks the token of every message on an open connection', async () => {
    const { id: tokenId, token } = await createApiToken(db.dataSource, { role: 'viewer', name: 'revoked between messages' });
    const client = api.as(token).webSocket();
    try {
      expect(await answer(client, '{ modelVersions(first: 1) { edges { node { id } } } }')).toEqual({ modelVersions: { edges: [] } });
      await revokeApiToken(db.dataSource, tokenId);
      expect(await answer(client, '{ modelVersions(first: 1) { edges { node { id } } } }')).toEqual([
        { message: 'the API token is invalid, revoked or expired', extensions: { code: 'UNAUTHENTICATED' } },
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('reads attempts anew for every event and stops sending once its token is revoked', async () => {
    const [run] = await db.dataSource.query(`INSERT INTO training_runs (params, status, attempt) VALUES ('{}', 'running', 1) RETURNING id`);
    const { id: tokenId, token } = await createApiToken(db.dataSource, { role: 'viewer', name: 'revoked mid-subscription' });
    const client = api.as(token).webSocket();
    const received: unknown[] = [];
    let wake: () => void = () => {};
    const arrival = () => new Promise<void>((resolve) => (wake = resolve));
    let next = arrival();
    const ended = new Promise<void>((resolve) => {
      client.subscribe(
        {
          query: `subscription($id: ID!) { trainingRunUpdated(id: $id) { id attempts } }`,
          variables: { id: globalId('TrainingRun', run.id) },
        },
        {
          next: (value) => {
            received.push(value.data?.trainingRunUpdated ?? value.errors);
            wake();
          },
          error: (error) => {
            received.push(error);
            wake();
            resolve();
          },
          complete: resolve,
        },
      );
    });
    const update = async (attempt: number) => {
      next = arrival();
      await db.dataSource.query(`UPDATE training_runs SET attempt = $2 WHERE id = $1`, [run.id, attempt]);
      await db.dataSource.query(`SELECT pg_notify('${TRAINING_CHANNEL}', $1)`, [String(run.id)]);
      await next;
    };
    try {
      await next;
      await update(2);
      await update(3);
      const id = globalId('TrainingRun', run.id);
      expect(received).toEqual([
        { id, attempts: 1 },
        { id, attempts: 2 },
        { id, attempts: 3 },
      ]);
      await revokeApiToken(db.dataSource, tokenId);
      await update(4);
      await ended;
      expect(received.slice(3)).toEqual([
        [{ message: 'the API token is invalid, revoked or expired', extensions: { code: 'UNAUTHENTICATED' } }],
      ]);
      // Later updates reach it no more.
      await db.dataSource.query(`SELECT pg_notify('${TRAINING_CHANNEL}', $1)`, [String(run.id)]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received).toHaveLength(4);
    } finally {
      await client.dispose();
    }
  });
});
