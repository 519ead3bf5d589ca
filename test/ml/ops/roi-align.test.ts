/**
 * roiAlign / multiScaleRoiAlign against torchvision.ops.roi_align and MultiScaleRoIAlign (fixture
 * ops_roi_align.json: values and torch autograd feature gradients) and against central finite differences.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  RoiAlignImplementation,
  inferScale,
  mapLevels,
  multiScaleRoiAlign,
  roiAlign,
  setRoiAlignImplementation,
} from '../../../src/ml/ops/roi-align';
import { TEST_BACKENDS, expectClose, loadFixture, maxAbsDiff, runOn, useBackend } from './support';

interface RoiCase {
  outputSize: [number, number];
  samplingRatio: number;
  aligned: boolean;
  output: number[];
  cotangent: number[];
  featureGrad: number[];
}
interface RoiFixture {
  features: number[];
  featureShape: [number, number, number, number];
  spatialScale: number;
  boxes: number[];
  boxImageIndex: number[];
  cases: RoiCase[];
  multiScale: {
    imageSizes: [number, number][];
    levels: number[][];
    levelShapes: [number, number, number, number][];
    boxes: number[][];
    scales: number[];
    mappedLevels: number[];
    output: number[];
    cotangent: number[];
    levelGrads: number[][];
  };
}
const fx = loadFixture<RoiFixture>('ops_roi_align.json');
const boxes2d = (v: number[]) => tf.tensor2d(v, [v.length / 4, 4]);
// Every backend with both implementations: 'host' is what cpu and wasm use, 'tensor' what the tensorflow backend uses.
const CONFIGS = TEST_BACKENDS.flatMap((b) => (['host', 'tensor'] as RoiAlignImplementation[]).map((i) => [b, i] as const));

describe.each(CONFIGS)('roiAlign on %s, %s path', (backend, path) => {
  beforeAll(async () => {
    await useBackend(backend);
    setRoiAlignImplementation(path);
  });
  afterAll(() => setRoiAlignImplementation('auto'));

  test.each(fx.cases.map((c) => [c.outputSize.join('x'), c.samplingRatio, c.aligned, c] as const))(
    'output %s, sampling ratio %i, aligned %s: values and feature gradient equal torchvision',
    async (_, __, ___, c) => {
      const before = tf.memory().numTensors;
      const [output, grad] = await runOn(backend, () => {
        const features = tf.tensor4d(fx.features, fx.featureShape);
        const run = (f: tf.Tensor) =>
          roiAlign(
            f as tf.Tensor4D,
            boxes2d(fx.boxes),
            Int32Array.from(fx.boxImageIndex),
            c.outputSize,
            fx.spatialScale,
            c.samplingRatio,
            c.aligned,
          );
        const out = run(features);
        const cotangent = tf.tensor(c.cotangent, out.shape);
        const g = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(run(f), cotangent)))(features);
        return [out, g];
      });
      expect(tf.memory().numTensors).toBe(before);
      expectClose(output, c.output, 1e-5, 1e-6);
      expectClose(grad, c.featureGrad, 1e-5, 1e-6);
    },
  );

  it('gradient equals central finite differences (eps 1e-2; the op is linear, so only float32 rounding remains)', async () => {
    const shape: [number, number, number, number] = [1, 5, 6, 2];
    const base = Array.from({ length: 60 }, (_, i) => Math.sin(0.37 * i) + 0.1 * i);
    const boxes = [0.5, 0.2, 9.1, 7.3, -2, 3, 5, 12.5, 6.2, 1.1, 12.4, 9.9];
    const weights = Array.from({ length: 3 * 3 * 3 * 2 }, (_, i) => Math.cos(0.91 * i));
    const loss = (f: tf.Tensor) =>
      tf.sum(
        tf.mul(roiAlign(f as tf.Tensor4D, boxes2d(boxes), Int32Array.from([0, 0, 0]), [3, 3], 0.5, 2), tf.tensor4d(weights, [3, 3, 3, 2])),
      );
    const [analytic] = await runOn(backend, () => tf.grad(loss)(tf.tensor4d(base, shape)));
    const eps = 1e-2;
    const numeric = await Promise.all(
      base.map(async (_, i) => {
        const plus = base.slice();
        const minus = base.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const [lp, lm] = await runOn(backend, () => [loss(tf.tensor4d(plus, shape)), loss(tf.tensor4d(minus, shape))]);
        return (lp[0] - lm[0]) / (2 * eps);
      }),
    );
    expect(analytic.some((v) => Math.abs(v) > 0.1)).toBe(true);
    expect(maxAbsDiff(analytic, numeric)).toBeLessThan(2e-3);
  });

  it('returns [0, oh, ow, C] for no boxes, with a zero gradient', async () => {
    const [out, grad] = await runOn(backend, () => {
      const f = tf.tensor4d(fx.features, fx.featureShape);
      const run = (x: tf.Tensor) => roiAlign(x as tf.Tensor4D, tf.zeros([0, 4]) as tf.Tensor2D, new Int32Array(0), [7, 7], 0.25, 2);
      return [run(f), tf.grad((x: tf.Tensor) => tf.sum(run(x)))(f)];
    });
    expect(out.length).toBe(0);
    expect(grad.every((v) => v === 0)).toBe(true);
  });

  it('rejects bad arguments with the argument named', async () => {
    await useBackend(backend);
    const f = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    expect(() => roiAlign(f, boxes2d([0, 0, 2, 2]), Int32Array.from([1]), [2, 2], 1, 2)).toThrow(
      /boxImageIndex\[0\] = 1 is outside the batch of 1/,
    );
    expect(() => roiAlign(f, boxes2d([0, 0, 2, 2]), Int32Array.from([0, 0]), [2, 2], 1, 2)).toThrow(
      /boxImageIndex has 2 entries for 1 boxes/,
    );
    expect(() =>
      roiAlign(tf.zeros([4, 4, 2]) as unknown as tf.Tensor4D, boxes2d([0, 0, 2, 2]), Int32Array.from([0]), [2, 2], 1, 2),
    ).toThrow(/NHWC/);
    f.dispose();
  });
});

describe.each(CONFIGS)('multiScaleRoiAlign on %s, %s path', (backend, path) => {
  const ms = fx.multiScale;
  beforeAll(async () => {
    await useBackend(backend);
    setRoiAlignImplementation(path);
  });
  afterAll(() => setRoiAlignImplementation('auto'));

  it('infers the scales and maps the levels as torchvision', () => {
    const maxHeight = Math.max(...ms.imageSizes.map(([h]) => h));
    expect(ms.levelShapes.map(([, h]) => inferScale(h, maxHeight))).toEqual(ms.scales);
    const mapped = ms.boxes.flatMap((b) => Array.from(mapLevels(Float32Array.from(b), 2, 5)));
    expect(mapped).toEqual(ms.mappedLevels);
    expect(new Set(mapped).size).toBeGreaterThanOrEqual(3);
    // Boundaries: √area = 112 is level 3, just below is level 2; 224 → 4; 448 → 5; 0 → clamped to 2.
    expect(
      Array.from(mapLevels(Float32Array.from([0, 0, 112, 112, 0, 0, 111.9, 112, 0, 0, 224, 224, 0, 0, 448, 448, 5, 5, 5, 9]), 2, 5)),
    ).toEqual([1, 0, 2, 3, 0]);
  });

  it('values and per-level feature gradients equal torchvision MultiScaleRoIAlign', async () => {
    const before = tf.memory().numTensors;
    const results = await runOn(backend, () => {
      const levels = ms.levels.map((v, l) => tf.tensor4d(v, ms.levelShapes[l]));
      const boxes = ms.boxes.map(boxes2d);
      const run = (...fs: tf.Tensor[]) => multiScaleRoiAlign(fs as tf.Tensor4D[], boxes, ms.imageSizes, 7, 2);
      const out = run(...levels);
      const cotangent = tf.tensor(ms.cotangent, out.shape);
      const grads = tf.grads((...fs: tf.Tensor[]) => tf.sum(tf.mul(run(...fs), cotangent)))(levels);
      return [out, ...grads];
    });
    expect(tf.memory().numTensors).toBe(before);
    expectClose(results[0], ms.output, 1e-5, 1e-6);
    ms.levelGrads.forEach((g, l) => expectClose(results[1 + l], g, 1e-5, 1e-6));
  });
});
