/**
 * Attribute metrics over garment pairs (a ground-truth garment and the attribute prediction made for it).
 *
 * - Unlabelled ground truth (null or absent) takes no part: it is never counted as right or wrong.
 * - Single-label kinds: the prediction is the most probable value. Accuracy, and macro-F1 averaged over
 *   the values that occur in the ground truth or in the predictions of the evaluated garments (a value
 *   that occurs in neither has F1 0/0 and is left out, as sklearn's f1_score(average='macro') does with
 *   the labels it sees).
 * - Multi-label kinds: a value is predicted when its probability >= threshold. Micro-F1 pools the
 *   true/false positives and false negatives of every value; macro-F1 averages per-value F1 over the
 *   values that occur in ground truth or predictions. mAP: per value, the average precision of ranking
 *   the evaluated garments by that value's probability (sklearn's average_precision_score: sum over the
 *   distinct scores of (R_n - R_{n-1}) * P_n, ties taken together), averaged over the values with at least
 *   one positive. A value the model does not know scores 0 on every garment.
 * - F1 of a value is 2TP / (2TP + FP + FN).
 */
import { meanDefined } from './coco';
import type {
  AttributePrediction,
  AttributeTruth,
  EvaluationAttributeSpec,
  KindMetrics,
  Metric,
  MultiKindMetrics,
  SingleKindMetrics,
} from './types';

export interface AttributePair {
  truth: Record<string, AttributeTruth> | undefined;
  predicted: AttributePrediction;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

function f1(c: Counts): number {
  return (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
}

function countsFor(counts: Map<string, Counts>, value: string): Counts {
  let c = counts.get(value);
  if (!c) counts.set(value, (c = { tp: 0, fp: 0, fn: 0 }));
  return c;
}

function macroF1(counts: Map<string, Counts>): Metric {
  return meanDefined([...counts.values()].map(f1));
}

/** The most probable value (first one on equal probability). */
export function topValue(scores: { value: string; probability: number }[]): string | undefined {
  let best: { value: string; probability: number } | undefined;
  for (const s of scores) if (!best || s.probability > best.probability) best = s;
  return best?.value;
}

/** Values predicted for a multi-label kind: probability >= threshold. */
export function predictedSet(scores: { value: string; probability: number }[], threshold: number): Set<string> {
  return new Set(scores.filter((s) => s.probability >= threshold).map((s) => s.value));
}

function singleKind(kind: string, pairs: AttributePair[]): SingleKindMetrics {
  const counts = new Map<string, Counts>();
  let evaluated = 0;
  let correct = 0;
  for (const { truth, predicted } of pairs) {
    const expected = truth?.[kind];
    if (expected === null || expected === undefined) continue;
    const guess = topValue(predicted[kind]);
    evaluated++;
    if (guess === expected) {
      correct++;
      countsFor(counts, guess).tp++;
      continue;
    }
    countsFor(counts, expected as string).fn++;
    if (guess !== undefined) countsFor(counts, guess).fp++;
  }
  return {
    type: 'single',
    evaluated,
    accuracy: evaluated ? correct / evaluated : null,
    macroF1: macroF1(counts),
    macroValues: counts.size,
  };
}

/** sklearn.metrics.average_precision_score for one binary target; null without positives. */
export function rankingAveragePrecision(scores: number[], positive: boolean[]): Metric {
  const positives = positive.filter(Boolean).length;
  if (positives === 0) return null;
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let tp = 0;
  let seen = 0;
  let previousRecall = 0;
  let ap = 0;
  for (let i = 0; i < order.length; i++) {
    seen++;
    if (positive[order[i]]) tp++;
    const lastOfTie = i === order.length - 1 || scores[order[i + 1]] !== scores[order[i]];
    if (!lastOfTie) continue;
    const recall = tp / positives;
    ap += (recall - previousRecall) * (tp / seen);
    previousRecall = recall;
  }
  return ap;
}

function multiKind(spec: EvaluationAttributeSpec, pairs: AttributePair[], threshold: number): MultiKindMetrics {
  const counts = new Map<string, Counts>();
  const labelled = pairs.filter((p) => p.truth?.[spec.kind] !== null && p.truth?.[spec.kind] !== undefined);
  const truths = labelled.map((p) => new Set(p.truth?.[spec.kind] as string[]));
  labelled.forEach(({ predicted }, i) => {
    const guessed = predictedSet(predicted[spec.kind], threshold);
    for (const value of new Set([...truths[i], ...guessed])) {
      const c = countsFor(counts, value);
      if (truths[i].has(value) && guessed.has(value)) c.tp++;
      else if (guessed.has(value)) c.fp++;
      else c.fn++;
    }
  });
  const pooled = [...counts.values()].reduce((a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn }), { tp: 0, fp: 0, fn: 0 });
  const rankedValues = new Set([...spec.values, ...truths.flatMap((t) => [...t])]);
  const perValueAp = [...rankedValues].map((value) =>
    rankingAveragePrecision(
      labelled.map((p) => p.predicted[spec.kind].find((s) => s.value === value)?.probability ?? 0),
      truths.map((t) => t.has(value)),
    ),
  );
  return {
    type: 'multi',
    evaluated: labelled.length,
    threshold,
    microF1: counts.size ? f1(pooled) : null,
    macroF1: macroF1(counts),
    macroValues: counts.size,
    map: meanDefined(perValueAp),
    mapValues: perValueAp.filter((ap) => ap !== null).length,
  };
}

/** Metrics of every attribute kind of the config over the given pairs. */
export function attributeMetrics(specs: EvaluationAttributeSpec[], pairs: AttributePair[], threshold: number): Record<string, KindMetrics> {
  return Object.fromEntries(
    specs.map((spec) => [spec.kind, spec.type === 'single' ? singleKind(spec.kind, pairs) : multiKind(spec, pairs, threshold)]),
  );
}
