/** AnchorGenerator, Matcher and BalancedPositiveNegativeSampler against torchvision 0.14 fixtures and invariants. */
import * as tf from '@tensorflow/tfjs-core';
import { AnchorGenerator } from '../../../src/ml/ops/anchors';
import { roundHalfToEven } from '../../../src/ml/ops/torch-round';
import { BalancedPositiveNegativeSampler, Matcher } from '../../../src/ml/ops/matcher';
import { seededRandom } from '../../../src/util/random';
import { loadFixture, useBackend } from './support';

interface AnchorCase {
  sizes: number[][];
  aspectRatios: number[][];
  imageSize: [number, number];
  featureSizes: [number, number][];
  numAnchorsPerLocation: number[];
  anchors: number[];
}
interface MatcherCase {
  numGt: number;
  numPred: number;
  high: number;
  low: number;
  allowLowQualityMatches: boolean;
  iou: number[];
  matches: number[];
}

describe('AnchorGenerator', () => {
  const { cases } = loadFixture<{ cases: AnchorCase[] }>('ops_anchors.json');

  test.each(cases.map((c) => [JSON.stringify(c.sizes), c] as const))('sizes %s: anchors equal torchvision exactly', async (_, c) => {
    await useBackend('cpu');
    const generator = new AnchorGenerator(c.sizes, c.aspectRatios);
    expect(generator.numAnchorsPerLocation()).toEqual(c.numAnchorsPerLocation);
    const before = tf.memory().numTensors;
    const anchors = generator.anchorsForImage(c.imageSize, c.featureSizes);
    expect(anchors.shape).toEqual([c.anchors.length / 4, 4]);
    expect(Array.from(anchors.dataSync())).toEqual(c.anchors);
    anchors.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rounds halves to even as torch.round', () => {
    expect([22.5, 23.5, -22.5, -23.5, 2.4, -2.6].map(roundHalfToEven)).toEqual([22, 24, -22, -24, 2, -3]);
  });

  it('rejects a level count mismatch', () => {
    expect(() => new AnchorGenerator([[32], [64]], [[1]])).toThrow(/2 levels but aspectRatios has 1/);
    expect(() =>
      new AnchorGenerator([[32]], [[1]]).anchorValues(
        [32, 32],
        [
          [8, 8],
          [4, 4],
        ],
      ),
    ).toThrow(/2 feature maps given for 1 anchor levels/);
  });
});

describe('Matcher', () => {
  const { cases } = loadFixture<{ cases: MatcherCase[] }>('ops_matcher.json');

  test.each(cases.map((c) => [c.high, c.low, c.allowLowQualityMatches, c] as const))(
    'high %f low %f lowQuality %s equals torchvision',
    (_, __, ___, c) => {
      const matcher = new Matcher(c.high, c.low, c.allowLowQualityMatches);
      expect(Array.from(matcher.match(Float32Array.from(c.iou), c.numGt, c.numPred))).toEqual(c.matches);
    },
  );

  it('the fixtures exercise every outcome', () => {
    const all = cases.flatMap((c) => c.matches);
    expect(all).toEqual(expect.arrayContaining([-1, -2, 0, 1, 2]));
  });

  it('raises as torchvision on empty inputs and bad sizes', () => {
    const matcher = new Matcher(0.7, 0.3, true);
    expect(() => matcher.match(new Float32Array(0), 0, 5)).toThrow(/no ground-truth boxes/);
    expect(() => matcher.match(new Float32Array(0), 2, 0)).toThrow(/no proposal boxes/);
    expect(() => matcher.match(new Float32Array(5), 2, 3)).toThrow(/expected 2×3/);
    expect(() => new Matcher(0.3, 0.7, false)).toThrow(/low threshold 0.7 is above high threshold 0.3/);
  });
});

describe('BalancedPositiveNegativeSampler', () => {
  // 10 positives (labels 1..3), 40 negatives, 5 ignored.
  const labels = Int32Array.from([
    ...Array(10)
      .fill(0)
      .map((_, i) => 1 + (i % 3)),
    ...Array(40).fill(0),
    ...Array(5).fill(-1),
  ]);

  it('takes min(#positive, floor(batch·fraction)) positives and fills the rest with negatives', () => {
    const sampler = new BalancedPositiveNegativeSampler(16, 0.25, seededRandom(1));
    const { positive, negative } = sampler.sample(labels);
    expect(positive.length).toBe(4);
    expect(negative.length).toBe(12);
    for (const i of positive) expect(labels[i]).toBeGreaterThanOrEqual(1);
    for (const i of negative) expect(labels[i]).toBe(0);
    expect(Array.from(positive)).toEqual(Array.from(positive).sort((a, b) => a - b));
    expect(new Set(negative).size).toBe(12);
  });

  it('uses every positive when there are too few and caps negatives by availability', () => {
    const { positive, negative } = new BalancedPositiveNegativeSampler(256, 0.5, seededRandom(2)).sample(labels);
    expect(positive.length).toBe(10);
    expect(negative.length).toBe(40);
  });

  it('is reproducible from the seed and draws uniformly', () => {
    const a = new BalancedPositiveNegativeSampler(16, 0.25, seededRandom(7)).sample(labels);
    const b = new BalancedPositiveNegativeSampler(16, 0.25, seededRandom(7)).sample(labels);
    expect(a).toEqual(b);
    const counts = new Array(labels.length).fill(0);
    const sampler = new BalancedPositiveNegativeSampler(16, 0.25, seededRandom(3));
    for (let r = 0; r < 2000; r++) for (const i of sampler.sample(labels).negative) counts[i]++;
    // Each negative is drawn with probability 12/40 → 600 of 2000 draws; 5 sigma ≈ 100.
    for (let i = 10; i < 50; i++) expect(Math.abs(counts[i] - 600)).toBeLessThan(110);
  });
});
