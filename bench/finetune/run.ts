/**
 * Fine-tuning from a checkpoint of another label space against training from scratch, over several seeds
 * (the experiment: test/ml/train/finetune-experiment.ts; the learning test finetune.slow-test.ts asserts it).
 *
 *   npm run bench:finetune     # KFASHION_FINETUNE_SEEDS=1,2,3 _IMAGE_SIZE _SOURCE_STEPS _TARGET_STEPS _EVAL_EVERY _TARGET_AP50
 *
 * Prints, per seed, both AP@0.5 curves and the step at which each run first reaches the target AP, as JSON.
 */
import { cpus, loadavg } from 'node:os';
import { initBackend } from '../../src/ml/backend';
import { runFinetuneExperiment, stepsToReach } from '../../test/ml/train/finetune-experiment';
import { FINETUNE_SETTINGS, FINETUNE_TARGET_AP50 } from '../../test/ml/train/finetune-settings';

const env = process.env;
const number = (name: string, fallback: number) => Number(env[`KFASHION_FINETUNE_${name}`] ?? fallback);

async function main(): Promise<void> {
  const backend = await initBackend('wasm', { log: () => undefined });
  const seeds = (env.KFASHION_FINETUNE_SEEDS ?? '1,2,3').split(',').map(Number);
  const threshold = number('TARGET_AP50', FINETUNE_TARGET_AP50);
  const loadBefore = loadavg();
  for (const seed of seeds) {
    const started = Date.now();
    const result = await runFinetuneExperiment({
      ...FINETUNE_SETTINGS,
      seed,
      imageSize: number('IMAGE_SIZE', FINETUNE_SETTINGS.imageSize),
      sourceSteps: number('SOURCE_STEPS', FINETUNE_SETTINGS.sourceSteps),
      targetSteps: number('TARGET_STEPS', FINETUNE_SETTINGS.targetSteps),
      evalEvery: number('EVAL_EVERY', FINETUNE_SETTINGS.evalEvery),
      log: (line) => console.error(line),
    });
    const reached = {
      fromCheckpoint: stepsToReach(result.fromCheckpoint, threshold),
      fromScratch: stepsToReach(result.fromScratch, threshold),
    };
    const wallSeconds = (Date.now() - started) / 1000;
    console.log(
      JSON.stringify({
        backend: backend.name,
        cpu: cpus()[0]?.model,
        threshold,
        reached,
        wallSeconds,
        loadBefore,
        loadAfter: loadavg(),
        ...result,
      }),
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
