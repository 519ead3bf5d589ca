/**
 * What an import leaves behind for the next queries: planner statistics of the tables it wrote
 * (issue 11, item 6: without ANALYZE the label-space query of startTraining took 14.5 s at 21k images).
 */
import * as fs from 'node:fs';
import { importDataset } from '../../src/db/import';
import { makeSampleTree } from '../graphql/support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let root: string;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
});
afterAll(async () => {
  await db.drop();
  fs.rmSync(root, { recursive: true, force: true });
});

it('ANALYZEs the tables it wrote, so the planner knows their sizes', async () => {
  // Far below autovacuum's thresholds: only the import's own ANALYZE can set these estimates.
  await importDataset(db.dataSource, { root });
  const estimates = await db.dataSource.query(
    `SELECT relname, reltuples::int AS estimate FROM pg_class WHERE relname IN ('images', 'garments', 'garment_attributes') ORDER BY relname`,
  );
  const counts = await db.dataSource.query(
    `SELECT 'garment_attributes' AS relname, count(*)::int AS n FROM garment_attributes
     UNION ALL SELECT 'garments', count(*)::int FROM garments UNION ALL SELECT 'images', count(*)::int FROM images ORDER BY relname`,
  );
  expect(estimates.map((row: { estimate: number }) => row.estimate)).toEqual(counts.map((row: { n: number }) => row.n));
  expect(counts.find((row: { relname: string }) => row.relname === 'images').n).toBe(3);
});
