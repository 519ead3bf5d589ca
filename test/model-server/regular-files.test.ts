/**
 * Weights and model configs are opened as regular files only: a FIFO (which would block the opening
 * thread until a writer came, freezing the model server) or a directory is refused at once with an
 * error naming the file. The readers run in a child process of the built code with a deadline, so a
 * reader that blocks fails this test instead of hanging it; and `startTraining(initWeights:)` refuses
 * a FIFO in the weights folder with BAD_USER_INPUT on initWeights.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertBuilt, REPO } from '../e2e/processes';
import { startTestServer, type ApiClient } from '../graphql/support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let dir: string;
let fifo: string;

beforeAll(() => {
  assertBuilt(['src/ml/weights', 'src/ml/model', 'src/util']);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-regular-'));
  fifo = path.join(dir, 'pipe.safetensors');
  execFileSync('mkfifo', [fifo]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `call` (an expression over `m`, the built module) on `file` in a child; returns its error message. */
function errorInChild(module: string, call: string, file: string): { message: string; ms: number } {
  const script = `const m = require(${JSON.stringify(path.join(REPO, 'dist', module))});
    try { ${call}(${JSON.stringify(file)}); console.log('no error'); } catch (error) { console.log(error.message); }`;
  const started = Date.now();
  const result = spawnSync(process.execPath, ['-e', script], { timeout: 20_000, encoding: 'utf8' });
  if (result.error) throw new Error(`the reader did not return within 20 s (${result.error.message})`);
  return { message: result.stdout.trim(), ms: Date.now() - started };
}

it.each([
  ['a weights file (safetensors or PyTorch)', 'src/ml/weights/weights-file.js', 'm.readWeightsFile'],
  ['a safetensors file', 'src/ml/weights/safetensors.js', 'm.readSafetensors'],
  ['a model config', 'src/ml/model/config.js', 'm.readConfigFile'],
])('refuses a FIFO as %s at once, naming it', (_, module, call) => {
  const { message, ms } = errorInChild(module, call, fifo);
  expect(message).toContain(fifo);
  expect(message).toMatch(/a FIFO, not a regular file/);
  expect(ms).toBeLessThan(15_000);
});

it('refuses a directory the same way', () => {
  expect(errorInChild('src/ml/weights/weights-file.js', 'm.readWeightsFile', dir).message).toMatch(/a directory, not a regular file/);
});

describe('startTraining(initWeights:)', () => {
  let db: TestDatabase;
  let api: ApiClient;
  beforeAll(async () => {
    db = await createPostgresTestDatabase();
    api = await startTestServer(db.dataSource, { dataDir: dir, weightsDir: dir });
  });
  afterAll(async () => {
    await api.server.stop();
    await db.drop();
  });

  it('refuses a FIFO in the weights folder, naming the argument and not the server path', async () => {
    const result = await api.query(`mutation($w: String) { startTraining(input: { initWeights: $w }) { id } }`, { w: 'pipe.safetensors' });
    expect(result.errors?.[0]).toMatchObject({
      message: 'initWeights: "pipe.safetensors" is a FIFO, not a regular file',
      extensions: { code: 'BAD_USER_INPUT', field: 'initWeights' },
    });
    expect(JSON.stringify(result)).not.toContain(dir);
  });
});
