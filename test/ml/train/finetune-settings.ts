/** The fine-tuning learning test's sizes and threshold (bench:finetune starts from the same). */
export const FINETUNE_SETTINGS = {
  imageSize: 128,
  sourceSteps: 120,
  targetSteps: 80,
  evalEvery: 10,
  trainImages: 16,
  heldOutImages: 8,
};

/** Box AP@0.5 on the held-out images that a run has to reach. */
export const FINETUNE_TARGET_AP50 = 0.3;

/**
 * From scratch has to need at least this many times the steps (or not get there at all). Measured over seeds 1–3
 * (bench/RESULTS.md): 20 vs 50, 10 vs 30, 10 vs 40 steps.
 */
export const FINETUNE_STEPS_RATIO = 2;
