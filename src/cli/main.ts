/**
 * The `kfashion` command. Each sub-command lives in its own module and registers itself here.
 */
import 'reflect-metadata';
import { Command } from 'commander';
import { registerMigrate } from './migrate';
import { registerServe } from './serve';
import { registerImport } from './import';
import { registerSynth } from './synth';
import { registerPredict } from './predict';
import { registerTrain } from './train';
import { registerModelServer } from './model-server';
import { registerEval } from './eval';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kfashion')
    .description('K-Fashion platform: import, search, train and serve the Attribute R-CNN')
    .showHelpAfterError();
  registerMigrate(program);
  registerServe(program);
  registerImport(program);
  registerSynth(program);
  registerPredict(program);
  registerTrain(program);
  registerModelServer(program);
  registerEval(program);
  await program.parseAsync(argv);
}
