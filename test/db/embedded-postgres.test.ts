/**
 * The embedded PostgreSQL server of a data folder (what every `kfashion` command uses when
 * DATABASE_URL is unset): started on first use with a random password, shared with the other
 * processes of the folder (client files), stopped by the last one to leave, and recovered after a
 * crash of the server itself without losing committed rows. The end-to-end suite (test/e2e/cli.e2e.ts)
 * runs the same with real `kfashion` processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres } from '../../src/db/embedded-postgres';

let baseDir: string;
let other: ChildProcess;

beforeAll(() => {
  baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-embedded-'));
  // A live process standing for another kfashion process of the same data folder.
  other = spawn('sleep', ['600'], { stdio: 'ignore' });
});
afterAll(() => {
  other.kill('SIGKILL');
  const server = new EmbeddedPostgres(baseDir);
  if (server.running()) process.kill(server.running()!.pid, 'SIGINT');
  fs.rmSync(baseDir, { recursive: true, force: true });
});

async function query<Row>(url: string, sql: string): Promise<Row[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Row[];
  } finally {
    await client.end();
  }
}

it('starts on first use, with a password, on 127.0.0.1 only', async () => {
  const server = new EmbeddedPostgres(baseDir);
  const url = await server.join();
  expect(url).toMatch(/^postgres:\/\/kfashion:[0-9a-f]{48}@127\.0\.0\.1:\d+\/kfashion$/);
  const [row] = await query<{ listen: string; version: string }>(
    url,
    `SELECT current_setting('listen_addresses') AS listen, current_setting('server_version_num') AS version`,
  );
  expect(row.listen).toBe('127.0.0.1');
  expect(Number(row.version)).toBeGreaterThanOrEqual(180000);
  const wrong = new URL(url);
  wrong.password = 'not-the-password';
  await expect(query(wrong.toString(), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  expect(fs.statSync(path.join(baseDir, 'server.json')).mode & 0o077).toBe(0);
  expect(fs.readdirSync(path.join(baseDir, 'clients'))).toEqual([String(process.pid)]);
  server.leaveSync();
  expect(server.running()).toBeNull();
});

it('keeps running while another process uses it; the last one to leave stops it', async () => {
  const server = new EmbeddedPostgres(baseDir);
  const url = await server.join();
  fs.writeFileSync(path.join(baseDir, 'clients', String(other.pid)), '');
  // A client whose process died (kill -9) is forgotten.
  fs.writeFileSync(path.join(baseDir, 'clients', '999999999'), '');
  server.leaveSync();
  expect(server.running()).not.toBeNull();
  expect(fs.readdirSync(path.join(baseDir, 'clients'))).toEqual([String(other.pid)]);
  await expect(query(url, 'SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
  fs.rmSync(path.join(baseDir, 'clients', String(other.pid)));
  const again = new EmbeddedPostgres(baseDir);
  expect(await again.join()).toBe(url);
  again.leaveSync();
  expect(again.running()).toBeNull();
});

it('forgets a client that was killed but not reaped (a zombie still answers signal 0)', async () => {
  // A parent that never waits for its child, with SIGCHLD at its default (an ignored SIGCHLD, which
  // a parent can inherit, makes the kernel reap at once): the killed child stays a zombie.
  const script = [
    'import os, signal, sys, time',
    'signal.signal(signal.SIGCHLD, signal.SIG_DFL)',
    'pid = os.fork()',
    'if pid == 0: time.sleep(600); os._exit(0)',
    'print(pid, flush=True); time.sleep(1000)',
  ].join('\n');
  const parent = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk) => resolve(String(chunk)))));
  try {
    process.kill(zombie, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect(fs.readFileSync(`/proc/${zombie}/stat`, 'utf8')).toMatch(/\) Z /);
    const server = new EmbeddedPostgres(baseDir);
    await server.join();
    fs.writeFileSync(path.join(baseDir, 'clients', String(zombie)), '');
    server.leaveSync();
    expect(server.running()).toBeNull();
  } finally {
    parent.kill('SIGKILL');
  }
});

it('takes over the lock of a process that died holding it', async () => {
  fs.mkdirSync(path.join(baseDir, 'lock'));
  fs.writeFileSync(path.join(baseDir, 'lock', 'pid'), '999999999');
  const server = new EmbeddedPostgres(baseDir);
  await server.join();
  expect(fs.existsSync(path.join(baseDir, 'lock'))).toBe(false);
  server.leaveSync();
});

it('recovers after the server was killed, keeping committed rows', async () => {
  const server = new EmbeddedPostgres(baseDir);
  const url = await server.join();
  await query(url, `CREATE TABLE kept (n int); INSERT INTO kept SELECT generate_series(1, 1000)`);
  const { pid } = server.running()!;
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && server.running(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(server.running()).toBeNull();
  // postmaster.pid is left behind by the killed server: the next start must see it is stale.
  expect(fs.existsSync(path.join(server.dataDir, 'postmaster.pid'))).toBe(true);
  server.leaveSync();
  const next = new EmbeddedPostgres(baseDir);
  const nextUrl = await next.join();
  await expect(query(nextUrl, 'SELECT count(*)::int AS n FROM kept')).resolves.toEqual([{ n: 1000 }]);
  next.leaveSync();
});
