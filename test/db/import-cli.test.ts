/**
 * `kfashion import` as a user runs it: the built CLI (bin/kfashion.js → dist/, built by `npm ci`
 * or `npm run build`) in a child process against a fresh PostgreSQL database.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { copySamples, LABELS, makeTree, readReport, readSample, removeTree, writeFile, writeJson } from './import/fixtures';

const REPO = path.resolve(__dirname, '../..');
const BIN = path.join(REPO, 'bin/kfashion.js');
/** Sources of the import command; the compiled copy must not be older than any of them. */
const SOURCES = [
  'src/cli/import.ts',
  'src/kfashion/parse.ts',
  'src/util/regular-file.ts',
  'src/images/image-input.ts',
  ...fs.readdirSync(path.join(REPO, 'src/db/import')).map((f) => `src/db/import/${f}`),
];

function assertBuilt(): void {
  for (const source of SOURCES.filter((file) => file.endsWith('.ts'))) {
    const compiled = path.join(REPO, 'dist', source.replace(/\.ts$/, '.js'));
    if (!fs.existsSync(compiled) || fs.statSync(compiled).mtimeMs < fs.statSync(path.join(REPO, source)).mtimeMs) {
      throw new Error(`${compiled} is missing or older than ${source}: run \`npm run build\` first`);
    }
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], url: string): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: url, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('kfashion import (built CLI, PostgreSQL)', () => {
  let db: TestDatabase;
  const trees: string[] = [];
  beforeAll(async () => {
    assertBuilt();
    db = await createPostgresTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    trees.forEach(removeTree);
  });

  it('rejects a 50 MB annotation file by its size in the parse workers and imports the rest (--max-file-bytes)', async () => {
    const root = makeTree();
    trees.push(root);
    copySamples(root);
    // Issue 11: parsing this killed the parse worker (heap limit, exit 134) and with it every rerun.
    writeFile(root, `${LABELS}/huge.json`, `[${'0,'.repeat(25 * 1024 * 1024)}0]`);
    const report = path.join(root, 'report.jsonl');
    const run = await finished(start(['import', root, '--json', '--report', report, '--dataset', 'cli-huge'], db.url));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ imagesImported: 3, filesRejected: 1 });
    expect(fs.readFileSync(report, 'utf8')).toMatch(/huge\.json.*more than the limit of 10485760 \(--max-file-bytes\)/);
    const strict = await finished(start(['import', root, '--json', '--dataset', 'cli-strict', '--max-file-bytes', '100'], db.url));
    expect(JSON.parse(strict.stdout)).toMatchObject({ imagesImported: 0, filesRejected: 4 });
  });

  it('rejects a file that kills its parse worker, names it in the report, and imports the rest of its chunk', async () => {
    const root = makeTree();
    trees.push(root);
    copySamples(root);
    // 9 MB, under the size limit, but three million empty arrays exhaust the worker's 64 MB heap.
    writeFile(root, `${LABELS}/heap-bomb.json`, `[${'[],'.repeat(3_000_000)}[]]`);
    const report = path.join(root, 'report.jsonl');
    const run = await finished(start(['import', root, '--json', '--report', report, '--dataset', 'cli-heap-bomb'], db.url));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ imagesImported: 3, filesRejected: 1 });
    expect(fs.readFileSync(report, 'utf8')).toMatch(/heap-bomb\.json.*the parse worker died on this file: it ran out of memory/);
    const runs = await db.dataSource.query(
      `SELECT r.status FROM import_runs r JOIN datasets d ON d.id = r.dataset_id WHERE d.name = 'cli-heap-bomb'`,
    );
    expect(runs).toEqual([{ status: 'finished' }]);
  });

  it('imports a tree, prints the stats as JSON, writes the report and exits 0 despite a rejected file', async () => {
    const root = makeTree();
    trees.push(root);
    copySamples(root);
    const truncated = writeFile(root, `${LABELS}/truncated.json`, JSON.stringify(readSample('100026')).slice(0, 100));
    const report = path.join(root, 'report.jsonl');
    const run = await finished(
      start(['import', root, '--json', '--report', report, '--verify-images', '--dataset', 'cli-samples'], db.url),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const stats = JSON.parse(run.stdout);
    expect(stats).toMatchObject({
      imagesImported: 3,
      imagesUpdated: 0,
      imagesUnchanged: 0,
      garmentsImported: 6,
      filesRejected: 1,
      garmentsRejected: 0,
    });
    expect(readReport(report)).toEqual([
      expect.objectContaining({ file: truncated, action: 'rejected', reason: expect.stringMatching(/^invalid JSON/) }),
    ]);
    const [row] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM garments g JOIN images i ON i.id = g.image_id
         JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'cli-samples' AND d.root_path = $1`,
      [root],
    );
    expect(row.n).toBe(6);
  });

  it('finishes with FIFOs, a symlink to one and a huge width in the tree, and reports each (parse workers never open a FIFO)', async () => {
    const root = makeTree();
    trees.push(root);
    copySamples(root);
    // Before: a parse worker blocked for ever in readFileSync of the FIFO, and SIGTERM did not end the process.
    execFileSync('mkfifo', [path.join(root, `${LABELS}/fifo.json`)]);
    execFileSync('mkfifo', [path.join(root, 'pipe')]);
    fs.symlinkSync(path.join(root, 'pipe'), path.join(root, `${LABELS}/link.json`));
    const huge = readSample('100026');
    huge['이미지 정보']['이미지 식별자'] = 940001;
    huge['이미지 정보']['이미지 너비'] = 4294967296;
    writeJson(root, `${LABELS}/940001.json`, huge);
    const report = path.join(root, 'report.jsonl');
    const child = start(['import', root, '--json', '--report', report, '--dataset', 'cli-fifo', '--allow-missing-images'], db.url);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const run = await finished(child).finally(() => clearTimeout(timer));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ imagesImported: 3, filesRejected: 1, entriesSkipped: 3 });
    expect(readReport(report).map(({ file, reason }) => ({ file, reason }))).toEqual(
      expect.arrayContaining([
        { file: `${LABELS}/fifo.json`, reason: 'a FIFO, not a regular file; skipped' },
        { file: 'pipe', reason: 'a FIFO, not a regular file; skipped' },
        { file: `${LABELS}/link.json`, reason: 'symbolic link to a FIFO, not a regular file; not followed' },
        { file: `${LABELS}/940001.json`, reason: '4294967296 is outside the integer range -2147483648 to 2147483647' },
      ]),
    );
  }, 40_000);

  it('exits non-zero with a message naming a missing root', async () => {
    const run = await finished(start(['import', '/nonexistent/kfashion-tree', '--json'], db.url));
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('import root not found: /nonexistent/kfashion-tree');
  });

  it('stops cleanly on Ctrl-C (exit 130, whole batches kept) and a re-run completes without duplicates', async () => {
    const root = makeTree();
    trees.push(root);
    const sample = readSample('1092253');
    const total = 1000;
    for (let i = 0; i < total; i++) {
      sample['이미지 정보']['이미지 식별자'] = 500000 + i;
      writeJson(root, `Validation/${i % 10}/${500000 + i}.json`, sample);
    }
    const args = ['import', root, '--json', '--allow-missing-images', '--batch-size', '5'];
    const child = start(args, db.url);
    const result = finished(child);
    const count = async () => (await db.dataSource.query(`SELECT count(*)::int AS n FROM images WHERE external_id LIKE '5%'`))[0].n;
    // Interrupt once the first batches are in (and give up waiting if the child ended on its own).
    while (child.exitCode === null && (await count()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGINT');
    const interrupted = await result;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(/import interrupted after \d+ files .* run the same command again to resume/);
    const partial = await count();
    expect(partial % 5).toBe(0); // whole batches only
    expect(partial).toBeLessThan(total);

    // Resuming does not depend on the batch size: larger batches finish sooner.
    const resumed = await finished(start([...args.slice(0, -1), '500'], db.url));
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ imagesImported: total - partial, imagesUnchanged: partial });
    expect(await count()).toBe(total);
    const [garments] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM garments g JOIN images i ON i.id = g.image_id WHERE i.external_id LIKE '5%'`,
    );
    expect(garments.n).toBe(2 * total);
  });
});
