/**
 * `kfashion train` and `kfashion model-server` as a user runs them (the built CLI in child processes):
 * train in the foreground on the embedded PGlite database (no DATABASE_URL, no job queue), errors that
 * name the option, and the model server refusing to start without PostgreSQL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TINY_MODEL } from '../model-server/support';
import { assertBuilt, startCli } from './processes';

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

it('trains in the foreground on PGlite and records the run and its model version', async () => {
  expect((await run(['synth', path.join(home, 'data'), '--images', '24', '--seed', '3', '--size', '64x64'])).code).toBe(0);
  expect((await run(['import', path.join(home, 'data')])).code).toBe(0);
  fs.writeFileSync(path.join(home, 'model.json'), JSON.stringify({ ...TINY_MODEL, min_size: 64, max_size: 64 }));
  const bad = await run(['train', '--attribute-kinds', 'colour', '--epochs', '1']);
  expect(bad.code).toBe(1);
  expect(bad.output).toMatch(/data\.attributeKinds: unknown attribute kind "colour"/);
  const trained = await run([
    'train', '--model-config', path.join(home, 'model.json'), '--attribute-kinds', 'color,print', '--epochs', '1',
    '--batch-size', '2', '--max-images', '6', '--eval-max-images', '2', '--lr', '0.005', '--checkpoint-every', '2', '--json',
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

it('refuses to start the model server without PostgreSQL, saying what to set', async () => {
  const result = await run(['model-server']);
  expect(result.code).toBe(1);
  expect(result.output).toMatch(/needs PostgreSQL: set DATABASE_URL/);
});
