/**
 * A list of training runs with their per-run fields (log, attempts, metrics, loss curves) costs the
 * same number of SQL statements for 2 runs as for 12: each field is loaded for all runs of the page
 * at once, and each run still gets its own values.
 */
import { ApiClient, QueryCounter, startTestServer } from './support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let api: ApiClient;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  api = await startTestServer(db.dataSource);
  for (let run = 1; run <= 12; run++) {
    const [{ id }] = await db.dataSource.query(`INSERT INTO training_runs (params, log, attempt) VALUES ('{}', $1, $2) RETURNING id`, [`log of run ${run}`, run % 3]);
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

const RUNS = `query($first: Int) { trainingRuns(first: $first) { id log attempts metrics(name: "loss") { step value } lossCurves { name steps values } } }`;

async function statementsFor(first: number): Promise<{ statements: number; runs: any[] }> {
  const counter = new QueryCounter(db.dataSource);
  try {
    const { result, queries } = await counter.during(() => api.data(RUNS, { first }));
    return { statements: queries, runs: result.trainingRuns };
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
  expect(newest.metrics.map((m: any) => [m.step, m.value])).toEqual([[1, 12.1], [2, 12.2], [3, 12.3]]);
  expect(newest.lossCurves).toEqual([
    { name: 'loss', steps: [1, 2, 3], values: [12.1, 12.2, 12.3] },
    { name: 'lr', steps: [1, 2, 3], values: [0.01, 0.01, 0.01] },
  ]);
  const oldest = twelve.runs[11];
  expect(oldest.log).toBe('log of run 1');
  expect(oldest.attempts).toBe(1);
  expect(oldest.metrics.map((m: any) => m.value)).toEqual([1.1, 1.2, 1.3]);
});
