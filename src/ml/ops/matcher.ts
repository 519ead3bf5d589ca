/**
 * torchvision.models.detection._utils.Matcher and BalancedPositiveNegativeSampler (0.14), on host arrays.
 */

export const BELOW_LOW_THRESHOLD = -1;
export const BETWEEN_THRESHOLDS = -2;

/**
 * Assigns each prediction the ground truth it overlaps most (first one on ties, as torch.max), or
 * −1 when that quality is below `low`, −2 when it is in [low, high). With allowLowQualityMatches, every
 * prediction that achieves some ground truth's highest quality (ties included) keeps its match anyway.
 */
export class Matcher {
  constructor(
    readonly highThreshold: number,
    readonly lowThreshold: number,
    readonly allowLowQualityMatches: boolean,
  ) {
    if (lowThreshold > highThreshold) throw new Error(`Matcher: low threshold ${lowThreshold} is above high threshold ${highThreshold}`);
  }

  /** `iou` is the [numGt, numPred] quality matrix, row-major. */
  match(iou: Float32Array, numGt: number, numPred: number): Int32Array {
    if (iou.length !== numGt * numPred) throw new Error(`Matcher.match: iou has ${iou.length} values, expected ${numGt}×${numPred}`);
    // torchvision raises here; its callers handle images without ground truth before matching.
    if (numGt === 0) throw new Error('Matcher.match: no ground-truth boxes available for one of the images during training');
    if (numPred === 0) throw new Error('Matcher.match: no proposal boxes available for one of the images during training');
    const matches = new Int32Array(numPred);
    const bestForPred = new Float32Array(numPred);
    for (let p = 0; p < numPred; p++) {
      let best = iou[p];
      let bestGt = 0;
      for (let g = 1; g < numGt; g++) {
        const v = iou[g * numPred + p];
        if (v > best) {
          best = v;
          bestGt = g;
        }
      }
      bestForPred[p] = best;
      matches[p] = bestGt;
    }
    const allMatches = this.allowLowQualityMatches ? Int32Array.from(matches) : undefined;
    // torch compares a float32 tensor with a Python float in float32: 0.7 vs an IoU of float32(0.7) is "equal".
    const low = Math.fround(this.lowThreshold);
    const high = Math.fround(this.highThreshold);
    for (let p = 0; p < numPred; p++) {
      if (bestForPred[p] < low) matches[p] = BELOW_LOW_THRESHOLD;
      else if (bestForPred[p] < high) matches[p] = BETWEEN_THRESHOLDS;
    }
    if (allMatches) {
      for (let g = 0; g < numGt; g++) {
        let highest = -Infinity;
        for (let p = 0; p < numPred; p++) highest = Math.max(highest, iou[g * numPred + p]);
        for (let p = 0; p < numPred; p++) if (iou[g * numPred + p] === highest) matches[p] = allMatches[p];
      }
    }
    return matches;
  }
}

/**
 * Samples up to batchSizePerImage entries: positives (label ≥ 1) up to floor(batch·fraction), negatives
 * (label 0) fill the rest; ignored (−1) never. Each subset is a uniform random draw using `random`
 * (values in [0, 1)); the result lists indices in increasing order, as torchvision's masks yield them.
 */
export class BalancedPositiveNegativeSampler {
  constructor(
    readonly batchSizePerImage: number,
    readonly positiveFraction: number,
    private readonly random: () => number,
  ) {}

  sample(labels: Int32Array): { positive: Int32Array; negative: Int32Array } {
    const positives: number[] = [];
    const negatives: number[] = [];
    labels.forEach((label, i) => {
      if (label >= 1) positives.push(i);
      else if (label === 0) negatives.push(i);
    });
    const numPos = Math.min(positives.length, Math.floor(this.batchSizePerImage * this.positiveFraction));
    const numNeg = Math.min(negatives.length, this.batchSizePerImage - numPos);
    return { positive: this.draw(positives, numPos), negative: this.draw(negatives, numNeg) };
  }

  /** The first `count` entries of a Fisher–Yates shuffle of `pool`, sorted. */
  private draw(pool: number[], count: number): Int32Array {
    const items = pool.slice();
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.random() * (items.length - i));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return Int32Array.from(items.slice(0, count)).sort();
  }
}
