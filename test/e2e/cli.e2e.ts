/**
 * The CLI as a user runs it (the built CLI in child processes) with DATABASE_URL unset, on the embedded
 * PostgreSQL server of the data folder: train in the foreground (errors name the option; a step too big for the
 * wasm heap is refused before it starts); the API with
 * a model server and other commands sharing one server; `kill -9` of the process that started it,
 * after which the next command recovers it without losing data.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TINY_MODEL } from '../model-server/support';
import { Client } from 'pg';
import { assertBuilt, eventually, startCli } from './processes';

jest.setTimeout(600_000);

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-cli-e2e-'));
const env = { KFASHION_DATA_DIR: home, DATABASE_URL: '', KFASHION_TF_BACKEND: 'wasm' };

beforeAll(() => assertBuilt());
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number | string | null; output: string }> {
  const child = startCli(args, env);
  const code = await child.exited;
  return { code, output: child.output() };
}

it('trains in the foreground on the embedded server and records the run and its model version', async () => {
  expect((await run(['synth', path.join(home, 'data'), '--images', '24', '--seed', '3', '--size', '64x64'])).code).toBe(0);
  expect((await run(['import', path.join(home, 'data')])).code).toBe(0);
  fs.writeFileSync(path.join(home, 'model.json'), JSON.stringify({ ...TINY_MODEL, min_size: 64, max_size: 64 }));
  const bad = await run(['train', '--attribute-kinds', 'colour', '--epochs', '1']);
  expect(bad.code).toBe(1);
  expect(bad.output).toMatch(/--attribute-kinds: unknown value "colour"; known: color, /);
  // torchvision's sizes on wasm: refused before the first step (no Aborted()), within a minute.
  fs.writeFileSync(path.join(home, 'torchvision-sizes.json'), JSON.stringify({ min_size: 800, max_size: 1333 }));
  const started = Date.now();
  const tooBig = await run([
    'train',
    '--model-config',
    path.join(home, 'torchvision-sizes.json'),
    '--attribute-kinds',
    'color',
    '--epochs',
    '1',
  ]);
  expect(tooBig.code).toBe(1);
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(tooBig.output).toMatch(
    /model\.max_size: one training step needs about 13\.\d GiB .* the wasm backend's heap limit is 4\.0 GiB; use min_size \d+ and max_size \d+/,
  );
  expect(tooBig.output).not.toMatch(/Aborted\(\)|RuntimeError|memory access/);
  const trained = await run([
    'train',
    '--model-config',
    path.join(home, 'model.json'),
    '--attribute-kinds',
    'color,print',
    '--epochs',
    '1',
    '--batch-size',
    '2',
    '--max-images',
    '6',
    '--eval-max-images',
    '2',
    '--lr',
    '0.005',
    '--checkpoint-every',
    '2',
    '--json',
  ]);
  expect(trained.code).toBe(0);
  const summary = JSON.parse(trained.output.trim().split('\n').pop()!);
  expect(summary).toMatchObject({ status: 'succeeded' });
  expect(summary.modelVersionId).toBeGreaterThan(0);
  expect(fs.existsSync(path.join(home, 'models', `run-${summary.runId}`, 'model.safetensors'))).toBe(true);
  expect(fs.existsSync(path.join(home, 'checkpoints', `run-${summary.runId}`, 'latest'))).toBe(true);
  const config = JSON.parse(fs.readFileSync(path.join(home, 'models', `run-${summary.runId}`, 'config.json'), 'utf8'));
  expect(config.attributes.map((a: any) => a.kind)).toEqual(['color', 'print']);
});

async function count(url: string, sql: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query(sql)).rows[0].n);
  } finally {
    await client.end();
  }
}

it('shares one embedded server between processes and recovers it after kill -9 of the one that started it', async () => {
  const serve = startCli(['serve', '--model-server'], { ...env, PORT: '0' });
  try {
    const [, port] = await serve.waitFor(/GraphQL API at http:\/\/localhost:(\d+)\/graphql/);
    const [, modelServerUrl] = await serve.waitFor(/model server at (http:\/\/\S+)/);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    expect((await fetch(`${modelServerUrl}/health`)).status).toBe(200);
    // A third process joins the same server and sees the same data.
    const url = (await run(['db', 'url'])).output.trim();
    expect(url).toMatch(/^postgres:\/\/kfashion:[0-9a-f]+@127\.0\.0\.1:\d+\/kfashion$/);
    const images = await count(url, 'SELECT count(*) AS n FROM images');
    expect(images).toBe(24);
    const { data } = (await (
      await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ images(first: 1) { totalCount } trainingRuns { edges { node { status } } } }' }),
      })
    ).json()) as any;
    expect(data.images.totalCount).toBe(images);
    expect(data.trainingRuns.edges.map((edge: any) => edge.node.status)).toContain('SUCCEEDED');

    // kill -9 of every process using the server (the API and its model server): nobody leaves cleanly.
    const clients = fs.readdirSync(path.join(home, 'postgres', 'clients')).map(Number);
    expect(clients).toContain(serve.process.pid);
    expect(clients).toHaveLength(2);
    for (const pid of clients) process.kill(pid, 'SIGKILL');
    await serve.exited;
    await eventually(
      async () =>
        await fetch(`${modelServerUrl}/health`).then(
          () => undefined,
          () => true,
        ),
      15_000,
      'the model server to be gone',
    );
    // The database server outlives them (pg_ctl runs it in a session of its own).
    expect((await run(['db', 'status'])).output).toMatch(/^running/);
    // Any command recovers: it joins, forgets the dead processes, and being the last one stops the server cleanly.
    expect((await run(['migrate'])).code).toBe(0);
    expect((await run(['db', 'status'])).output).toMatch(/^not running/);
    const started = await run(['db', 'start']);
    expect(started.code).toBe(0);
    expect(await count(started.output.trim(), 'SELECT count(*) AS n FROM images')).toBe(images);
    expect(await count(started.output.trim(), `SELECT count(*) AS n FROM training_runs WHERE status = 'succeeded'`)).toBeGreaterThan(0);
  } finally {
    if (serve.process.exitCode === null) serve.process.kill('SIGKILL');
    await run(['db', 'stop']);
  }
  expect((await run(['db', 'status'])).output).toMatch(/^not running/);
});
