/**
 * The `kfashion` command. Each sub-command lives in its own module and registers itself here.
 * Only the module of the command being run is loaded (all of them for help), so `kfashion import`
 * never pays for loading TensorFlow.js, and a problem in one command's code cannot break another.
 */
import 'reflect-metadata';
import { Command } from 'commander';

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

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kfashion')
    .description('K-Fashion platform: import, search, train and serve the Attribute R-CNN')
    .showHelpAfterError();
  const requested = argv[2];
  const names = requested !== undefined && requested in COMMANDS ? [requested] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]())(program);
  await program.parseAsync(argv);
}
