/**
 * The `kfashion` command. Each sub-command lives in its own module and registers itself here.
 * Only the module of the command being run is loaded (all of them for help), and a command module
 * holds only its definition (options, help): what its action needs (TensorFlow.js, TypeORM, sharp,
 * the API server, pg-boss, ONNX Runtime) is imported when the action runs. So `--help` and
 * `--version` answer at once, `kfashion import` never pays for TensorFlow.js, and a problem in one
 * command's code cannot break another.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { configureProcess } from './environment';

type Register = (program: Command) => void;

const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  import: async () => (await import('./import')).registerImport,
  synth: async () => (await import('./synth')).registerSynth,
  serve: async () => (await import('./serve')).registerServe,
  'model-server': async () => (await import('./model-server')).registerModelServer,
  train: async () => (await import('./train')).registerTrain,
  predict: async () => (await import('./predict')).registerPredict,
  eval: async () => (await import('./eval')).registerEval,
  doctor: async () => (await import('./doctor')).registerDoctor,
  'bench-gpu': async () => (await import('./bench-gpu')).registerBenchGpu,
  'export-onnx': async () => (await import('./export-onnx')).registerExportOnnx,
  migrate: async () => (await import('./migrate')).registerMigrate,
  db: async () => (await import('./db')).registerDb,
  demo: async () => (await import('./demo')).registerDemo,
  weights: async () => (await import('./weights')).registerWeights,
  token: async () => (await import('./token')).registerToken,
};

/** The version in the project's package.json: two folders up from src/cli, three from the built dist/src/cli. */
export function packageVersion(): string {
  const file = ['../../package.json', '../../../package.json']
    .map((relative) => path.resolve(__dirname, relative))
    .find((candidate) => fs.existsSync(candidate));
  if (file === undefined) throw new Error(`package.json: not found above ${__dirname}`);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kfashion')
    .description('K-Fashion platform: import, search, train and serve the Attribute R-CNN')
    .version(packageVersion(), '-V, --version', 'print the version of kfashion')
    .showHelpAfterError();
  const requested = argv[2];
  // Own keys only: `kfashion toString` is an unknown command, not Object.prototype's.
  const names = requested !== undefined && Object.hasOwn(COMMANDS, requested) ? [requested] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]())(program);
  // Before any command runs (not for --help): the environment is read and checked once, and what the
  // whole process shares is set from it.
  program.hook('preAction', configureProcess);
  await program.parseAsync(argv);
}
