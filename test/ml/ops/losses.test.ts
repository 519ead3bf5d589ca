/** Losses (src/ml/ops/losses.ts) against torch.nn.functional values (fixture ops_losses.json) and their gradients. */
import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossEntropyWithLogits, smoothL1Loss, softmaxCrossEntropy } from '../../../src/ml/ops/losses';
import { TEST_BACKENDS, loadFixture, runOn, useBackend } from './support';

interface LossFixture {
  smoothL1: { input: number[]; target: number[]; shape: [number, number]; beta: Record<string, number> };
  bce: {
    logits: number[];
    targets: number[];
    weights: number[];
    shape: [number, number];
    mean: number;
    weightedSum: number;
    weightSum: number;
  };
  ce: { logits: number[]; labels: number[]; mask: number[]; shape: [number, number]; mean: number; maskedMean: number };
}
const fx = loadFixture<LossFixture>('ops_losses.json');

describe.each(TEST_BACKENDS)('losses on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  test.each(Object.keys(fx.smoothL1.beta))('smoothL1Loss beta %s equals F.smooth_l1_loss(sum)', async (beta) => {
    const [v] = await runOn(backend, () =>
      smoothL1Loss(tf.tensor2d(fx.smoothL1.input, fx.smoothL1.shape), tf.tensor2d(fx.smoothL1.target, fx.smoothL1.shape), Number(beta)),
    );
    expect(v[0]).toBeCloseTo(fx.smoothL1.beta[beta], 5);
  });

  it('binaryCrossEntropyWithLogits: plain mean and weighted mean', async () => {
    const [plain, weighted] = await runOn(backend, () => {
      const logits = tf.tensor2d(fx.bce.logits, fx.bce.shape);
      const targets = tf.tensor2d(fx.bce.targets, fx.bce.shape);
      return [
        binaryCrossEntropyWithLogits(logits, targets),
        binaryCrossEntropyWithLogits(logits, targets, tf.tensor2d(fx.bce.weights, fx.bce.shape)),
      ];
    });
    expect(plain[0]).toBeCloseTo(fx.bce.mean, 5);
    expect(weighted[0]).toBeCloseTo(fx.bce.weightedSum / fx.bce.weightSum, 5);
  });

  it('binaryCrossEntropyWithLogits is 0 with all weights 0 and stable for large logits', async () => {
    const [zero, big] = await runOn(backend, () => [
      binaryCrossEntropyWithLogits(tf.tensor1d([3, -2]), tf.tensor1d([1, 0]), tf.zeros([2])),
      binaryCrossEntropyWithLogits(tf.tensor1d([100, -100]), tf.tensor1d([0, 1])),
    ]);
    expect(zero[0]).toBe(0);
    expect(big[0]).toBeCloseTo(100, 4);
  });

  it('softmaxCrossEntropy: mean and masked mean (masked rows may carry label −1)', async () => {
    const labels = Int32Array.from(fx.ce.labels);
    const maskedLabels = labels.map((l, i) => (fx.ce.mask[i] ? l : -1));
    const [mean, masked, none] = await runOn(backend, () => {
      const logits = tf.tensor2d(fx.ce.logits, fx.ce.shape);
      return [
        softmaxCrossEntropy(logits, labels),
        softmaxCrossEntropy(logits, maskedLabels, fx.ce.mask),
        softmaxCrossEntropy(logits, labels, new Array(6).fill(0)),
      ];
    });
    expect(mean[0]).toBeCloseTo(fx.ce.mean, 5);
    expect(masked[0]).toBeCloseTo(fx.ce.maskedMean, 5);
    expect(none[0]).toBe(0);
  });

  it('gradients: softmax CE is (softmax − onehot)/rows, smooth L1 is d/beta or sign(d)', async () => {
    const [gCe, gL1] = await runOn(backend, () => {
      const logits = tf.tensor2d([
        [1, 2, 0],
        [0.5, -1, 2],
      ]);
      const gCe = tf.grad((x: tf.Tensor) => softmaxCrossEntropy(x as tf.Tensor2D, Int32Array.from([1, 2])))(logits);
      const expected = tf.div(tf.sub(tf.softmax(logits), tf.oneHot(tf.tensor1d([1, 2], 'int32'), 3)), 2);
      const gL1 = tf.grad((x: tf.Tensor) => smoothL1Loss(x, tf.zeros([4]), 0.5))(tf.tensor1d([0.2, -0.1, 3, -2]));
      return [tf.sub(gCe, expected), gL1];
    });
    for (const v of gCe) expect(Math.abs(v)).toBeLessThan(1e-6);
    expect(Array.from(gL1).map((v) => Number(v.toFixed(5)))).toEqual([0.4, -0.2, 1, -1]);
  });

  it('rejects labels outside the classes of unmasked rows', async () => {
    await useBackend(backend);
    expect(() => softmaxCrossEntropy(tf.zeros([2, 3]) as tf.Tensor2D, Int32Array.from([0, 3]))).toThrow(
      /label 3 of row 1 is outside \[0, 3\)/,
    );
  });
});
