/**
 * COCO box evaluation as pycocotools' COCOeval (iouType 'bbox', areaRng 'all', useCats 1) computes it:
 *
 * - evaluateImg: per image and category, detections sorted by decreasing score (stable) and cut to maxDets;
 *   each detection in turn takes the still unmatched ground truth with the highest IoU >= t (IoU bar starts
 *   at min(t, 1 - 1e-10); on equal IoU the later ground truth wins, as `if iou < best: continue` does).
 * - accumulate: per category, the detections of all images (image order, then per-image order) sorted
 *   stably by decreasing score; precision = tp / (tp + fp + eps), made monotone from the right, and read at
 *   the 101 recall points 0:.01:1 with searchsorted(side='left') (0 past the last recall reached).
 * - A category with no ground truth has no AP (pycocotools stores -1 and leaves it out of the mean).
 *
 * Not implemented: crowd regions (iscrowd=1 ground truth that detections may match many times without
 * counting) and the small/medium/large area ranges; K-Fashion has neither crowds nor a use for them.
 *
 * The matching takes an optional extra condition per (detection, ground truth) pair: Fashionpedia's
 * AP^{IoU+F1} (fashionpedia.ts) is the same machinery with "attribute F1 >= t_F1" added.
 */
import type { Box, Metric } from './types';

/** numpy.linspace(start, stop, num) value for value: i * step + start, the last one exactly stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

/** COCOeval.Params: iouThrs = linspace(.5, .95, 10), recThrs = linspace(0, 1, 101). */
export const IOU_THRESHOLDS = linspace(0.5, 0.95, 10);
export const RECALL_THRESHOLDS = linspace(0, 1, 101);

/**
 * IoU of two boxes as pycocotools' maskApi bbIou computes it from [x, y, w, h] (boxes arrive as
 * x1, y1, x2, y2 and are converted the way a COCO results file would carry them).
 */
export function boxIou(a: Box, b: Box): number {
  const [ax, ay, aw, ah] = [a[0], a[1], a[2] - a[0], a[3] - a[1]];
  const [bx, by, bw, bh] = [b[0], b[1], b[2] - b[0], b[3] - b[1]];
  const w = Math.min(ax + aw, bx + bw) - Math.max(ax, bx);
  if (w <= 0) return 0;
  const h = Math.min(ay + ah, by + bh) - Math.max(ay, by);
  if (h <= 0) return 0;
  const intersection = w * h;
  return intersection / (aw * ah + bw * bh - intersection);
}

export interface Scored {
  box: Box;
  score: number;
}

export interface Boxed {
  box: Box;
}

/** One category's detections and ground truth, per image, ready for matching at any threshold. */
export interface PreparedCategory<D extends Scored, G extends Boxed> {
  /** per image: detections sorted by decreasing score (stable), at most maxDets */
  detections: D[][];
  groundTruth: G[][];
  /** per image: ious[d][g] */
  ious: Float64Array[][];
  gtCount: number;
  /** all kept detections as [image, index in its image], stably sorted by decreasing score */
  order: [number, number][];
}

/** Stable sort by decreasing score (Array.prototype.sort is stable, like numpy's mergesort). */
function byScore<D extends Scored>(detections: D[]): D[] {
  return [...detections].sort((a, b) => b.score - a.score);
}

export function prepareCategory<D extends Scored, G extends Boxed>(
  images: { detections: D[]; groundTruth: G[] }[],
  maxDetections: number,
): PreparedCategory<D, G> {
  const detections = images.map((image) => byScore(image.detections).slice(0, maxDetections));
  const groundTruth = images.map((image) => image.groundTruth);
  const ious = detections.map((dets, i) => dets.map((d) => Float64Array.from(groundTruth[i], (g) => boxIou(d.box, g.box))));
  const flat: [number, number][] = detections.flatMap((dets, i) => dets.map((_, j): [number, number] => [i, j]));
  const order = flat.sort((a, b) => detections[b[0]][b[1]].score - detections[a[0]][a[1]].score);
  return { detections, groundTruth, ious, gtCount: groundTruth.reduce((n, g) => n + g.length, 0), order };
}

/**
 * COCOeval.evaluateImg's greedy matching for one image: per detection (already in score order) the
 * index of the ground truth it matched, or -1. `eligible` can forbid pairs (Fashionpedia's F1 condition).
 */
export function greedyMatch(
  ious: ArrayLike<number>[],
  gtCount: number,
  threshold: number,
  eligible?: (d: number, g: number) => boolean,
): Int32Array {
  const taken = new Uint8Array(gtCount);
  const matches = new Int32Array(ious.length).fill(-1);
  ious.forEach((row, d) => {
    let best = Math.min(threshold, 1 - 1e-10);
    let match = -1;
    for (let g = 0; g < gtCount; g++) {
      if (taken[g] || row[g] < best) continue;
      if (eligible && !eligible(d, g)) continue;
      best = row[g];
      match = g;
    }
    if (match >= 0) {
      taken[match] = 1;
      matches[d] = match;
    }
  });
  return matches;
}

/** Matches of every image of a category at one IoU threshold (and optional extra condition). */
export function matchCategory<D extends Scored, G extends Boxed>(
  prepared: PreparedCategory<D, G>,
  threshold: number,
  eligible?: (detection: D, truth: G) => boolean,
): Int32Array[] {
  return prepared.ious.map((rows, i) => {
    const condition = eligible && ((d: number, g: number) => eligible(prepared.detections[i][d], prepared.groundTruth[i][g]));
    return greedyMatch(rows, prepared.groundTruth[i].length, threshold, condition);
  });
}

export interface ApRecall {
  /** mean of the 101 interpolated precisions; null without ground truth */
  ap: Metric;
  recall: Metric;
}

/** COCOeval.accumulate for one category and one threshold. */
export function averagePrecisionAt<D extends Scored, G extends Boxed>(prepared: PreparedCategory<D, G>, matches: Int32Array[]): ApRecall {
  const { gtCount, order } = prepared;
  if (gtCount === 0) return { ap: null, recall: null };
  const precision = new Float64Array(order.length);
  const recall = new Float64Array(order.length);
  let tp = 0;
  let fp = 0;
  order.forEach(([image, index], i) => {
    if (matches[image][index] >= 0) tp++;
    else fp++;
    recall[i] = tp / gtCount;
    precision[i] = tp / (fp + tp + Number.EPSILON);
  });
  for (let i = precision.length - 1; i > 0; i--) if (precision[i] > precision[i - 1]) precision[i - 1] = precision[i];
  let sum = 0;
  let position = 0;
  for (const threshold of RECALL_THRESHOLDS) {
    while (position < recall.length && recall[position] < threshold) position++;
    if (position === recall.length) break;
    sum += precision[position];
  }
  return { ap: sum / RECALL_THRESHOLDS.length, recall: recall.length ? recall[recall.length - 1] : 0 };
}

/** Mean of the defined values (pycocotools' mean over s > -1), null when none is defined. */
export function meanDefined(values: Metric[]): Metric {
  const defined = values.filter((v): v is number => v !== null);
  return defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : null;
}
