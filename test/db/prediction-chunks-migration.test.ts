/**
 * Migration PredictionChunks on a database with batch prediction jobs from before it: an
 * unfinished one (whose queue job names no chunk, so no model server would take it) is failed
 * with a message saying why; a finished one is left as it was.
 */
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

it('fails the jobs that were queued or running before it and keeps the finished ones', async () => {
  // Back to just before PredictionChunks (and any migration after it), whichever is last today.
  while ((await db.dataSource.query(`SELECT to_regclass('prediction_chunks') IS NOT NULL AS present`))[0].present) {
    await db.dataSource.undoLastMigration();
  }
  const [version] = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('v', 'resnet18', '{}'::jsonb, '/nowhere') RETURNING id`,
  );
  const jobs = await db.dataSource.query(
    `INSERT INTO prediction_jobs (model_version_id, status) SELECT $1, s FROM unnest(ARRAY['queued', 'running', 'succeeded']) AS s RETURNING id, status`,
    [version.id],
  );
  await db.dataSource.runMigrations();
  const after = await db.dataSource.query(`SELECT id, status, error, finished_at IS NOT NULL AS finished FROM prediction_jobs ORDER BY id`);
  const message = 'stopped by the upgrade to chunked prediction (migration PredictionChunks): run predictImages again';
  expect(after).toEqual([
    { id: jobs[0].id, status: 'failed', error: message, finished: true },
    { id: jobs[1].id, status: 'failed', error: message, finished: true },
    { id: jobs[2].id, status: 'succeeded', error: null, finished: false },
  ]);
});
