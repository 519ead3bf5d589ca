/**
 * What an import leaves behind: planner statistics of the tables it wrote (issue 11, item 6:
 * without ANALYZE the label-space query of startTraining took 14.5 s at 21k images), and no run
 * `running` forever after its process died (item 9); and an annotation file too big to parse safely
 * is rejected by its size, unread, while the rest is imported (item 3).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { importDataset } from '../../src/db/import';
import { IMPORT_RUN_LOCK } from '../../src/db/import/run-owner';
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

it('marks runs whose importing session died `interrupted`, and leaves a live one running', async () => {
  const [dataset] = await db.dataSource.query(`SELECT id FROM datasets LIMIT 1`);
  const insertRunning = async () =>
    (await db.dataSource.query(`INSERT INTO import_runs (dataset_id, root_path) VALUES ($1, '/x') RETURNING id`, [dataset.id]))[0]
      .id as number;
  const dead = await insertRunning(); // as a kill -9 leaves it: running, nobody holding its lock
  const live = await insertRunning();
  const owner = new Client({ connectionString: db.url });
  await owner.connect();
  try {
    await owner.query(`SELECT pg_advisory_lock($1, $2)`, [IMPORT_RUN_LOCK, live]);
    await importDataset(db.dataSource, { root });
    const runs = await db.dataSource.query(`SELECT id, status, finished_at IS NOT NULL AS finished FROM import_runs ORDER BY id`);
    const byId = new Map(runs.map((run: { id: number }) => [run.id, run]));
    expect(byId.get(dead)).toMatchObject({ status: 'interrupted', finished: true });
    expect(byId.get(live)).toMatchObject({ status: 'running', finished: false });
    expect(runs[runs.length - 1]).toMatchObject({ status: 'finished' });
    // The import gave its lock back with its session.
    expect(
      await db.dataSource.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2`, [
        IMPORT_RUN_LOCK,
        runs[runs.length - 1].id,
      ]),
    ).toEqual([]);
  } finally {
    await owner.end();
  }
});

it('rejects an annotation file over the size limit (default 10 MB) unread, naming it, and imports the rest', async () => {
  const big = 'Training/라벨링데이터/로맨틱/999999.json';
  // Not even valid JSON: were it read, it would be rejected for its content, not its size.
  fs.writeFileSync(path.join(root, big), Buffer.alloc(11 * 1024 * 1024, 0x20));
  const reportPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kf-report-')), 'report.jsonl');
  try {
    const stats = await importDataset(db.dataSource, { root, reportPath, datasetName: 'with-a-big-file' });
    expect(stats).toMatchObject({ filesRejected: 1, imagesImported: 3 });
    const report = fs.readFileSync(reportPath, 'utf8');
    expect(report).toContain('999999.json');
    expect(report).toContain(`the file is ${11 * 1024 * 1024} bytes, more than the limit of ${10 * 1024 * 1024} (--max-file-bytes)`);
    // A lower limit set by the caller rejects the real samples too (a few kB each).
    const strict = await importDataset(db.dataSource, { root, datasetName: 'strict', maxFileBytes: 1_000 });
    expect(strict).toMatchObject({ filesRejected: 4, imagesImported: 0 });
  } finally {
    fs.rmSync(path.join(root, big));
    fs.rmSync(path.dirname(reportPath), { recursive: true, force: true });
  }
});

it('reports and skips a folder whose name is not valid UTF-8, and imports everything else', async () => {
  // "로맨틱" in EUC-KR, as unzip leaves a Korean archive's names on Linux (not valid UTF-8).
  const badName = Buffer.concat([
    Buffer.from(path.join(root, 'Training/라벨링데이터/')),
    Buffer.from([0xb7, 0xce, 0xb8, 0xc7, 0xc6, 0xbd]),
  ]);
  fs.mkdirSync(badName);
  fs.writeFileSync(Buffer.concat([badName, Buffer.from('/123456.json')]), '{}');
  const reportPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kf-report-')), 'report.jsonl');
  try {
    const stats = await importDataset(db.dataSource, { root, reportPath, datasetName: 'with-a-cp949-folder' });
    expect(stats).toMatchObject({ entriesSkipped: 1, imagesImported: 3, filesRejected: 0 });
    const [line] = fs
      .readFileSync(reportPath, 'utf8')
      .trim()
      .split('\n')
      .map((text) => JSON.parse(text));
    expect(line).toMatchObject({ file: expect.stringMatching(/^Training\/라벨링데이터\/.*\uFFFD/), action: 'rejected' });
    expect(line.reason).toMatch(/^name is not valid UTF-8/);
  } finally {
    fs.rmSync(badName, { recursive: true });
    fs.rmSync(path.dirname(reportPath), { recursive: true, force: true });
  }
});

it('rejects a truncated JPEG with --verify-images (the whole photo is decoded, not only its header)', async () => {
  const photo = path.join(root, 'Training/원천데이터/로맨틱/100026.jpg');
  const whole = fs.readFileSync(photo);
  // Header and half the scan: its header still says the annotation's width and height.
  fs.writeFileSync(photo, whole.subarray(0, Math.floor(whole.length / 2)));
  const reportPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kf-report-')), 'report.jsonl');
  try {
    const stats = await importDataset(db.dataSource, { root, reportPath, datasetName: 'truncated-photo', verifyImages: true });
    expect(stats).toMatchObject({ filesRejected: 1, imagesImported: 2 });
    expect(fs.readFileSync(reportPath, 'utf8')).toContain(
      'image Training/원천데이터/로맨틱/100026.jpg is damaged or truncated: it cannot be decoded whole',
    );
  } finally {
    fs.writeFileSync(photo, whole);
    fs.rmSync(path.dirname(reportPath), { recursive: true, force: true });
  }
});
