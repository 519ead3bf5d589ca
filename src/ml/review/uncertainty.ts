/**
 * How unsure a model is about one image, and why: the score that orders the review queue.
 *
 * Every reason scores in [0, 1], 1 being "most worth a person's look":
 *
 * - ATTRIBUTE_MARGIN, per confident predicted garment (detection score ≥ threshold) and single-label
 *   attribute kind: 1 − (p₁ − p₂), p₁ and p₂ the two largest value probabilities (p₂ = 0 when only one
 *   value is given). Two values the model finds equally likely score 1; a certain value scores 0.
 * - DETECTION_SCORE, per predicted garment: 1 − |s − t| / max(t, 1 − t), s its detection score and t the
 *   threshold. A detection exactly at the threshold scores 1, one at 0 or 1 (the far end) scores 0.
 * - DISAGREEMENT, per annotated garment whose best-overlapping confident prediction (IoU ≥ 0.5) names
 *   another category: the prediction's detection score (a confident contradiction weighs more).
 * - MISSED_GARMENT, per annotated garment with no confident prediction at IoU ≥ 0.5: 1 − best IoU / 0.5
 *   (nothing overlapping scores 1); and, on an image that has annotations, per confident prediction
 *   with no annotation at IoU ≥ 0.5: its detection score (the annotators may have missed a garment).
 *
 * The image's score is the largest reason score. Not a sum or a noisy-OR: a garment has half a dozen
 * single-label kinds and an image several garments, so any combination that grows with the number of
 * reasons would rank busy images first and saturate near 1; the maximum says "the most doubtful thing
 * on this image is this doubtful", which is what a reviewer acts on. Reasons come sorted by decreasing
 * score (stable, in the order garments and kinds were given), so the first one explains the score.
 *
 * Pure: no tensors, no SQL. The database layer runs it when predictions are stored; the active-learning
 * bench runs it on model outputs.
 */
import { boxIou } from '../eval/coco';
import type { Box } from '../eval/types';

/** Detection score above which a prediction counts as a garment the model claims (default of the queue). */
export const REVIEW_SCORE_THRESHOLD = 0.5;
/** Overlap at which a prediction and an annotation are the same garment (as AP@0.5 matches them). */
export const MATCH_IOU = 0.5;

export interface RankedValue {
  value: string;
  probability: number;
}

/** One predicted garment: its detection and, per single-label attribute kind, value probabilities. */
export interface PredictedGarmentScores {
  /** the stored garment's id, when it is stored; reasons name it */
  garmentId?: string;
  box: Box;
  category: string;
  detectionScore: number;
  /**
   * Per single-label kind, the values with their probabilities (any order; only the two largest are
   * used, so the stored top two are enough). Multi-label kinds do not belong here: their values are
   * independent yes/no answers without a runner-up.
   */
  singleLabelAttributes: { kind: string; ranked: RankedValue[] }[];
}

/** One annotated garment (the dataset's or an editor's). */
export interface AnnotatedGarment {
  garmentId?: string;
  box: Box;
  /** vocabulary value of the category; null when the annotation has none */
  category: string | null;
}

export type UncertaintyReasonKind = 'ATTRIBUTE_MARGIN' | 'DETECTION_SCORE' | 'DISAGREEMENT' | 'MISSED_GARMENT';

export interface UncertaintyReason {
  kind: UncertaintyReasonKind;
  /** in [0, 1]; higher is more doubtful */
  score: number;
  /** the garment the reason is about (predicted, or annotated for DISAGREEMENT and a missed annotation) */
  garmentId: string | null;
  /** for ATTRIBUTE_MARGIN: the attribute kind */
  attributeKind: string | null;
  /** for people: what was compared, with the numbers */
  detail: string;
}

export interface UncertaintyInput {
  predictions: PredictedGarmentScores[];
  annotations: AnnotatedGarment[];
  scoreThreshold: number;
}

export interface ImageUncertainty {
  /** the largest reason score, 0 when there is no reason */
  score: number;
  reasons: UncertaintyReason[];
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const fixed = (x: number) => x.toFixed(3);

/** The two largest probabilities (the second is 0 when there is one value), with their values. */
export function topTwo(ranked: RankedValue[]): [RankedValue, RankedValue | null] | null {
  let first: RankedValue | null = null;
  let second: RankedValue | null = null;
  for (const entry of ranked) {
    if (first === null || entry.probability > first.probability) {
      second = first;
      first = entry;
    } else if (second === null || entry.probability > second.probability) second = entry;
  }
  return first === null ? null : [first, second];
}

function attributeMarginReasons(prediction: PredictedGarmentScores): UncertaintyReason[] {
  return prediction.singleLabelAttributes.flatMap(({ kind, ranked }) => {
    const top = topTwo(ranked);
    if (top === null) return [];
    const [first, second] = top;
    const margin = first.probability - (second?.probability ?? 0);
    return [
      {
        kind: 'ATTRIBUTE_MARGIN' as const,
        score: clamp01(1 - margin),
        garmentId: prediction.garmentId ?? null,
        attributeKind: kind,
        detail:
          second === null
            ? `${kind}: ${first.value} ${fixed(first.probability)}, no runner-up`
            : `${kind}: ${first.value} ${fixed(first.probability)} vs ${second.value} ${fixed(second.probability)} (margin ${fixed(margin)})`,
      },
    ];
  });
}

function detectionScoreReason(prediction: PredictedGarmentScores, threshold: number): UncertaintyReason {
  const span = Math.max(threshold, 1 - threshold);
  return {
    kind: 'DETECTION_SCORE',
    score: clamp01(1 - Math.abs(prediction.detectionScore - threshold) / span),
    garmentId: prediction.garmentId ?? null,
    attributeKind: null,
    detail: `${prediction.category} detected with score ${fixed(prediction.detectionScore)} (threshold ${fixed(threshold)})`,
  };
}

/** Index and IoU of the box in `candidates` overlapping `box` most (the first on ties), or null when none overlaps. */
function bestOverlap(box: Box, candidates: { box: Box }[]): { index: number; iou: number } | null {
  let best: { index: number; iou: number } | null = null;
  for (let index = 0; index < candidates.length; index++) {
    const iou = boxIou(box, candidates[index].box);
    if (iou > 0 && (best === null || iou > best.iou)) best = { index, iou };
  }
  return best;
}

function agreementReasons(confident: PredictedGarmentScores[], annotations: AnnotatedGarment[]): UncertaintyReason[] {
  const reasons: UncertaintyReason[] = [];
  for (const annotation of annotations) {
    const best = bestOverlap(annotation.box, confident);
    const label = annotation.category ?? 'garment without category';
    if (best === null || best.iou < MATCH_IOU) {
      const iou = best?.iou ?? 0;
      reasons.push({
        kind: 'MISSED_GARMENT',
        score: clamp01(1 - iou / MATCH_IOU),
        garmentId: annotation.garmentId ?? null,
        attributeKind: null,
        detail: `annotated ${label} has no confident prediction at IoU ≥ ${MATCH_IOU} (best IoU ${fixed(iou)})`,
      });
      continue;
    }
    const match = confident[best.index];
    if (match.category !== annotation.category) {
      reasons.push({
        kind: 'DISAGREEMENT',
        score: clamp01(match.detectionScore),
        garmentId: annotation.garmentId ?? null,
        attributeKind: null,
        detail: `annotated ${label}, predicted ${match.category} with score ${fixed(match.detectionScore)} (IoU ${fixed(best.iou)})`,
      });
    }
  }
  if (annotations.length === 0) return reasons;
  for (const prediction of confident) {
    const best = bestOverlap(prediction.box, annotations);
    if (best !== null && best.iou >= MATCH_IOU) continue;
    reasons.push({
      kind: 'MISSED_GARMENT',
      score: clamp01(prediction.detectionScore),
      garmentId: prediction.garmentId ?? null,
      attributeKind: null,
      detail: `predicted ${prediction.category} with score ${fixed(prediction.detectionScore)} matches no annotation at IoU ≥ ${MATCH_IOU} (best IoU ${fixed(best?.iou ?? 0)})`,
    });
  }
  return reasons;
}

/** The image's uncertainty score and its reasons, most doubtful first (see the module comment). */
export function scoreImageUncertainty(input: UncertaintyInput): ImageUncertainty {
  const { predictions, annotations, scoreThreshold } = input;
  if (!(scoreThreshold > 0 && scoreThreshold < 1)) throw new RangeError(`scoreThreshold must be in (0, 1), got ${scoreThreshold}`);
  const confident = predictions.filter((p) => p.detectionScore >= scoreThreshold);
  const reasons = [
    ...predictions.map((p) => detectionScoreReason(p, scoreThreshold)),
    ...confident.flatMap(attributeMarginReasons),
    ...agreementReasons(confident, annotations),
  ];
  reasons.sort((a, b) => b.score - a.score); // stable: equal scores keep the order above
  return { score: reasons.length === 0 ? 0 : reasons[0].score, reasons };
}
