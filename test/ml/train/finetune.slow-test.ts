/**
 * Learning test: fine-tuning from a checkpoint of another label space reaches a box AP@0.5 in fewer steps than the
 * same run from scratch (the experiment: finetune-experiment.ts). A class-agnostic source detector is trained on
 * drawn shapes and saved; the target (the shapes' colours as classes, with a pattern attribute) is trained once from
 * that checkpoint through the `--init-weights` loader and once from scratch, same seed, batches and schedule.
 * `npm run test:learning` (jest.learning.config.js); a few minutes on wasm. bench:finetune runs more seeds and
 * bench/RESULTS.md has their curves.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { runFinetuneExperiment, stepsToReach } from './finetune-experiment';
import { FINETUNE_SETTINGS, FINETUNE_STEPS_RATIO, FINETUNE_TARGET_AP50 } from './finetune-settings';

test(`fine-tuning from a checkpoint of another label space reaches box AP@0.5 ${FINETUNE_TARGET_AP50} sooner than from scratch`, async () => {
  await initBackend('wasm', { log: () => undefined });
  const result = await runFinetuneExperiment({
    ...FINETUNE_SETTINGS,
    seed: 1,
    log: process.env.KFASHION_LEARNING_LOG ? (line) => console.log(line) : undefined,
  });
  const reached = {
    fromCheckpoint: stepsToReach(result.fromCheckpoint, FINETUNE_TARGET_AP50),
    fromScratch: stepsToReach(result.fromScratch, FINETUNE_TARGET_AP50),
  };
  console.log(
    `fine-tuning test: source AP@0.5 ${result.sourceAp50.toFixed(3)}; AP@0.5 ${FINETUNE_TARGET_AP50} reached at step ${reached.fromCheckpoint} from the checkpoint, ${reached.fromScratch} from scratch; ` +
      `curves ${JSON.stringify({ fromCheckpoint: result.fromCheckpoint.curve, fromScratch: result.fromScratch.curve })}; ` +
      `CPU s: source ${result.sourceCpuSeconds.toFixed(0)}, runs ${result.fromCheckpoint.cpuSeconds.toFixed(0)} + ${result.fromScratch.cpuSeconds.toFixed(0)}`,
  );

  // The checkpoint filled everything but the class-specific predictor and the new attribute head.
  expect(result.reinitialised.map((r) => r.split(' ')[0])).toEqual([
    'roi_heads.box_predictor.cls_score.weight',
    'roi_heads.box_predictor.cls_score.bias',
    'roi_heads.box_predictor.bbox_pred.weight',
    'roi_heads.box_predictor.bbox_pred.bias',
    'roi_heads.box_predictor.pattern_score.weight',
    'roi_heads.box_predictor.pattern_score.bias',
  ]);
  expect(reached.fromCheckpoint).not.toBeNull();
  // From scratch either never gets there within the run or needs at least FINETUNE_STEPS_RATIO times the steps.
  const scratch = reached.fromScratch ?? Number.POSITIVE_INFINITY;
  expect(scratch).toBeGreaterThanOrEqual(FINETUNE_STEPS_RATIO * (reached.fromCheckpoint as number));
  expect(tf.memory().numTensors).toBeLessThan(10);
}, 1_800_000);
