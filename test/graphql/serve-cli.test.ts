/**
 * `kfashion serve` as users run it: the built CLI (bin/kfashion.js → dist/, built by `npm ci` or
 * `npm run build`) in a child process on a fresh PostgreSQL database. SIGTERM lets an in-flight
 * request finish, then the process exits 0.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';

const REPO = path.resolve(__dirname, '../..');
const BIN = path.join(REPO, 'bin/kfashion.js');

function assertBuilt(): void {
  for (const source of ['src/cli/serve.ts', 'src/graphql/server.ts', 'src/db/search.ts']) {
    const compiled = path.join(REPO, 'dist', source.replace(/\.ts$/, '.js'));
    if (!fs.existsSync(compiled) || fs.statSync(compiled).mtimeMs < fs.statSync(path.join(REPO, source)).mtimeMs) {
      throw new Error(`${compiled} is missing or older than ${source}: run \`npm run build\` first`);
    }
  }
}

let db: TestDatabase;

beforeAll(async () => {
  assertBuilt();
  db = await createPostgresTestDatabase();
});

afterAll(async () => db?.drop());

it('serves on PORT and drains an in-flight request on SIGTERM before exiting 0', async () => {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    // Public reads: the in-flight request below is an anonymous query.
    env: { ...process.env, DATABASE_URL: db.url, PORT: '0', NODE_ENV: 'production', KFASHION_PUBLIC_READ: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "GraphQL API at" line in: ${output}`)), 60_000);
    child.stdout.on('data', () => {
      const match = /GraphQL API at (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace('localhost', '127.0.0.1'));
      }
    });
  });
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
  expect((await fetch(url.replace('/graphql', '/health'))).status).toBe(200);
  // NODE_ENV=production: no explorer page, no introspection.
  const page = await fetch(url, { headers: { accept: 'text/html' } });
  expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);

  const locker = db.dataSource.createQueryRunner();
  await locker.startTransaction();
  await locker.query('LOCK TABLE vocabulary IN ACCESS EXCLUSIVE MODE');
  const inFlight = fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ vocabulary { value } }' }),
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(child.exitCode).toBeNull(); // still draining
  await locker.rollbackTransaction();
  await locker.release();
  const response = await inFlight;
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ data: { vocabulary: [] } });
  expect(await exited).toBe(0);
  expect(output).toMatch(/SIGTERM: draining requests and closing/);
});
