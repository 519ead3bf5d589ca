/**
 * Configuration is read once, at the process edge: every environment variable is declared in
 * src/cli/environment.ts, checked there (a refusal names the variable and what it accepts), and handed
 * down typed; no module below src/cli reads process.env; README's Configuration table lists exactly
 * the declared variables, and the docs name no other.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENT, InvalidEnvironmentVariable, readEnvironment, type VariableSpec } from '../../src/cli/environment';
import { maxConcurrentDecodes, setThreadpoolSize } from '../../src/images/decode-concurrency';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

function sourceFiles(dir: string): string[] {
  return (fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.posix.join(dir, file.split(path.sep).join('/')));
}

/** The README table's rows as environment.ts declares them. */
export function configurationRows(): string[] {
  return (Object.entries(ENVIRONMENT) as [string, VariableSpec<unknown>][]).map(
    ([name, spec]) => `| \`${name}\` | ${spec.meaning} | ${spec.accepted} | ${spec.fallback} |`,
  );
}

describe('configuration at the process edge', () => {
  it('no module below src/cli reads process.env', () => {
    const readers = sourceFiles('src').filter((file) => !file.startsWith('src/cli/') && read(file).includes('process.env'));
    expect(readers).toEqual([]);
  });

  it('in src/cli, only environment.ts reads variables; the doctor and the model server child get the whole environment', () => {
    const users = sourceFiles('src/cli')
      .filter((file) => read(file).includes('process.env'))
      .sort();
    expect(users).toEqual(['src/cli/bench-gpu.ts', 'src/cli/doctor.ts', 'src/cli/environment.ts', 'src/cli/model-server-process.ts']);
    // They pass it on whole, reading no variable of it.
    for (const file of ['src/cli/bench-gpu.ts', 'src/cli/doctor.ts', 'src/cli/model-server-process.ts'])
      expect(read(file)).not.toMatch(/process\.env(\.|\[)/);
  });

  it('types every variable that is set, and leaves unset and empty ones absent', () => {
    const env = readEnvironment({
      PORT: '0',
      KFASHION_PUBLIC_READ: 'off',
      KFASHION_INTROSPECTION: 'YES',
      KFASHION_LEASE_TIMEOUT: '2.5',
      KFASHION_MAX_BATCH: '4',
      MODEL_SERVER_URL: 'http://127.0.0.1:4100',
      MODEL_SERVER_TOKEN: '',
      KFASHION_TF_BACKEND: 'wasm',
      UNRELATED: 'x',
      DATABASE_URL: 'postgres://db/kf',
    });
    expect(env).toEqual({
      PORT: 0,
      KFASHION_PUBLIC_READ: false,
      KFASHION_INTROSPECTION: true,
      KFASHION_LEASE_TIMEOUT: 2.5,
      KFASHION_MAX_BATCH: 4,
      MODEL_SERVER_URL: 'http://127.0.0.1:4100',
      KFASHION_TF_BACKEND: 'wasm',
      DATABASE_URL: 'postgres://db/kf',
    });
  });

  it.each([
    ['PORT', '65536', 'a port number from 0 to 65535 (0: any free port)'],
    ['KFASHION_STATEMENT_TIMEOUT_MS', 'ten', 'whole milliseconds from 1 to 600000'],
    ['MODEL_SERVER_TIMEOUT_MS', '0', 'whole milliseconds from 1 to 600000'],
    ['MODEL_SERVER_CONNECT_TIMEOUT_MS', 'soon', 'whole milliseconds from 1 to 60000'],
    ['KFASHION_PUBLIC_READ', 'maybe', 'on or off (1/true/yes/on, 0/false/no/off)'],
    ['KFASHION_PREDICTION_CHUNK', '12x', 'a whole number from 1 to 100000'],
    ['KFASHION_ONNX_THREADS', '0', 'a whole number from 1 to 1024'],
    ['KFASHION_TF_BACKEND', 'cuda', 'tensorflow, wasm or cpu'],
    ['KFASHION_ENGINE', 'tensorrt', 'tfjs or onnx'],
    ['DATABASE_URL', 'mysql://db', 'a postgres:// or postgresql:// URL'],
    ['MODEL_SERVER_URL', 'model-server:4100', 'an http:// or https:// URL'],
    ['KFASHION_LEASE_TIMEOUT', '-1', 'seconds, a number from 1 to 86400'],
  ])('refuses %s=%s naming the variable and what it accepts', (name, value, accepted) => {
    expect(() => readEnvironment({ [name]: value })).toThrow(new InvalidEnvironmentVariable(name, accepted, value));
    expect(() => readEnvironment({ [name]: value })).toThrow(`${name}: expected ${accepted}, got "${value}"`);
  });

  it("sets the image decoders' share of libuv's thread pool (UV_THREADPOOL_SIZE) for the whole process", () => {
    expect(readEnvironment({ UV_THREADPOOL_SIZE: '16' }).UV_THREADPOOL_SIZE).toBe(16);
    try {
      setThreadpoolSize(16);
      expect(maxConcurrentDecodes()).toBe(8);
    } finally {
      setThreadpoolSize(4);
    }
    expect(maxConcurrentDecodes()).toBe(2);
  });

  it("README's Configuration table lists exactly the declared variables, as declared", () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.filter((row) => !row.startsWith('| `TEST_DATABASE_URL`'))).toEqual(configurationRows());
  });

  it('the docs name no variable of kfashion that is not declared (others belong to compose, Vite, or are error codes)', () => {
    const docs = [
      'README.md',
      ...fs
        .readdirSync(path.join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const named = new Set(docs.flatMap((file) => [...read(file).matchAll(/\b(?:KFASHION|MODEL_SERVER)_[A-Z_]+[A-Z]\b/g)].map((m) => m[0])));
    // Each one is where it is said to be, so the list cannot hide a variable kfashion reads.
    const elsewhere: Record<string, [string, string]> = {
      KFASHION_API: ['web/vite.config.mts', 'KFASHION_API'],
      KFASHION_API_PORT: ['docker/compose.yaml', '${KFASHION_API_PORT'],
      KFASHION_DATASET_DIR: ['docker/compose.yaml', '${KFASHION_DATASET_DIR'],
      KFASHION_ONNX_GPU: ['docker/compose.onnx.yaml', '${KFASHION_ONNX_GPU'],
      KFASHION_TOKEN: ['docs/training-and-serving.md', '$KFASHION_TOKEN'],
      // A switch of one test (it rewrites the recorded kernel list), not of kfashion.
      KFASHION_UPDATE_KERNEL_LIST: ['test/ml/native-kernels.test.ts', 'KFASHION_UPDATE_KERNEL_LIST'],
      MODEL_SERVER_ERROR: ['src/graphql/errors.ts', "'MODEL_SERVER_ERROR'"],
      MODEL_SERVER_TIMEOUT: ['src/graphql/errors.ts', "'MODEL_SERVER_TIMEOUT'"],
      MODEL_SERVER_UNAVAILABLE: ['src/graphql/errors.ts', "'MODEL_SERVER_UNAVAILABLE'"],
    };
    for (const [file, text] of Object.values(elsewhere)) expect(read(file)).toContain(text);
    expect([...named].filter((name) => !Object.hasOwn(ENVIRONMENT, name) && !Object.hasOwn(elsewhere, name)).sort()).toEqual([]);
  });
});
