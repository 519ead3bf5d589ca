/**
 * Fashionpedia's AP with IoU and attribute-F1 thresholds (Jia et al., "Fashionpedia: Ontology,
 * Segmentation, and an Attribute Localization Dataset", ECCV 2020, AP^{box}_{IoU+F1}): a detection is a
 * true positive only if it overlaps an unmatched ground truth of its category with IoU >= t_IoU AND the
 * F1 score of its predicted attribute set against that ground truth's attribute set is >= t_F1. AP is the
 * COCO AP (coco.ts: greedy matching by score, 101-point interpolation) averaged over t_IoU in .50:.05:.95,
 * t_F1 in .50:.05:.95 and the categories with ground truth.
 *
 * What exactly is implemented here (K-Fashion has single- and multi-label kinds; Fashionpedia only multi):
 * - An attribute is a (kind, value) pair. The ground-truth set holds the labelled pairs of the garment;
 *   the predicted set holds, for each kind labelled on that ground truth, the most probable value of a
 *   single-label kind and the values with probability >= multiLabelThreshold of a multi-label kind. Kinds
 *   not labelled on the ground truth are left out of both sets (unlabelled is never wrong).
 * - F1 = 2|P ∩ G| / (|P| + |G|), the F1 of the positive attributes (the paper's "F1 score of attributes").
 *   When both sets are empty (nothing labelled) the F1 condition is met, as the paper and the official
 *   API do for categories without attributes (IoU alone decides).
 * - Among the eligible ground truths the detection takes the one with the highest IoU (COCO's rule).
 *
 * Known differences from the official fashionpedia-api FPEval: its default F1 ("binary_macro") is
 * sklearn's macro F1 over the whole 294-attribute multi-hot vector, i.e. the mean of the positive-class
 * and the negative-class F1, which counts every attribute absent from both sets as agreement; and while
 * matching it raises the bar for later candidates to the F1 of the best candidate so far, besides the IoU.
 * Neither follows from the paper's definition; both are left out here.
 */
import { averagePrecisionAt, IOU_THRESHOLDS, linspace, matchCategory, meanDefined, type PreparedCategory } from './coco';
import { predictedSet, topValue } from './attributes';
import type { AttributePrediction, AttributeTruth, DetectedGarment, EvaluationAttributeSpec, GroundTruthGarment, Metric } from './types';

/** Fashionpedia's f1Thrs (.50:.05:.95, numpy linspace as its FPParams). */
export const F1_THRESHOLDS = linspace(0.5, 0.95, 10);

/** F1 of the predicted attribute set against the labelled ground truth (1 when both are empty). */
export function attributeSetF1(
  specs: EvaluationAttributeSpec[],
  truth: Record<string, AttributeTruth> | undefined,
  predicted: AttributePrediction,
  threshold: number,
): number {
  let truthSize = 0;
  let predictedSize = 0;
  let common = 0;
  for (const spec of specs) {
    const expected = truth?.[spec.kind];
    if (expected === null || expected === undefined) continue;
    if (spec.type === 'single') {
      const guess = topValue(predicted[spec.kind]);
      truthSize++;
      if (guess !== undefined) predictedSize++;
      if (guess === expected) common++;
      continue;
    }
    const expectedSet = new Set(expected as string[]);
    const guessed = predictedSet(predicted[spec.kind], threshold);
    truthSize += expectedSet.size;
    predictedSize += guessed.size;
    for (const value of guessed) if (expectedSet.has(value)) common++;
  }
  return truthSize + predictedSize === 0 ? 1 : (2 * common) / (truthSize + predictedSize);
}

export interface FashionpediaCategory {
  /** grid[iou][f1]: this category's AP at each threshold pair (null without ground truth) */
  grid: Metric[][];
  ap: Metric;
}

/** AP^{IoU+F1} of one category; `f1Of` gives the attribute F1 of a (detection, ground truth) pair. */
export function fashionpediaCategory(
  prepared: PreparedCategory<DetectedGarment, GroundTruthGarment>,
  f1Of: (detection: DetectedGarment, truth: GroundTruthGarment) => number,
): FashionpediaCategory {
  const cache = new Map<DetectedGarment, Map<GroundTruthGarment, number>>();
  const cachedF1 = (d: DetectedGarment, g: GroundTruthGarment): number => {
    let row = cache.get(d);
    if (!row) cache.set(d, (row = new Map<GroundTruthGarment, number>()));
    let value = row.get(g);
    if (value === undefined) row.set(g, (value = f1Of(d, g)));
    return value;
  };
  const grid = IOU_THRESHOLDS.map((iou) =>
    F1_THRESHOLDS.map((f1Threshold) => {
      const bar = Math.min(f1Threshold, 1 - 1e-10);
      return averagePrecisionAt(
        prepared,
        matchCategory(prepared, iou, (d, g) => cachedF1(d, g) >= bar),
      ).ap;
    }),
  );
  return { grid, ap: meanDefined(grid.flat()) };
}
