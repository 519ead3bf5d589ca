/**
 * The kernels registered on wasm (src/ml/wasm-kernels.ts) against the cpu backend's own implementations, on
 * random inputs with the geometries ResNet uses (7×7/2 stem, 3×3 /1 and /2, 1×1 projections), plus gradients
 * of whole ops (conv2d, depthwiseConv2d, gather) through tf.grad on both backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterFromConv } from '../../src/ml/wasm-kernels';
import { runOn, randomValues, relativeMaxError, useBackend } from './ops/support';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: Pad;
}

const convCases: ConvCase[] = [
  {
    name: 'stem 7x7 stride 2 explicit pad 3, 3→64',
    x: [1, 13, 11, 3],
    filter: [7, 7, 3, 64],
    strides: 2,
    pad: [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ],
  },
  { name: '3x3 stride 1 same, 64→64, batch 2', x: [2, 4, 3, 64], filter: [3, 3, 64, 64], strides: 1, pad: 'same' },
  {
    name: '3x3 stride 2 explicit pad 1, 128→128',
    x: [1, 5, 6, 128],
    filter: [3, 3, 128, 128],
    strides: 2,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  { name: '3x3 stride 2 same (asymmetric padding), 32→48', x: [2, 10, 9, 32], filter: [3, 3, 32, 48], strides: 2, pad: 'same' },
  { name: '3x3 stride 1 valid, 16→24', x: [1, 8, 7, 16], filter: [3, 3, 16, 24], strides: 1, pad: 'valid' },
  { name: '3x3 stride 2 valid (unused last row), 8→8', x: [1, 10, 10, 8], filter: [3, 3, 8, 8], strides: 2, pad: 'valid' },
  { name: '1x1 stride 1, 256→64', x: [1, 4, 3, 256], filter: [1, 1, 256, 64], strides: 1, pad: 'valid' },
  { name: '1x1 stride 2 downsample, 64→256', x: [1, 6, 5, 64], filter: [1, 1, 64, 256], strides: 2, pad: 'valid' },
  { name: '7x7 stride 1 numeric pad 3, 4→5', x: [1, 9, 9, 4], filter: [7, 7, 4, 5], strides: 1, pad: 3 },
  {
    name: '3x3 stride 2 explicit pad 4 (wider than the kernel), 4→6',
    x: [1, 7, 8, 4],
    filter: [3, 3, 4, 6],
    strides: 2,
    pad: [
      [0, 0],
      [4, 4],
      [4, 2],
      [0, 0],
    ],
  },
  { name: '3x3 stride 3 valid, 5→7', x: [2, 11, 10, 5], filter: [3, 3, 5, 7], strides: 3, pad: 'valid' },
];

function outputShape(c: ConvCase): number[] {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, false, 'channelsLast');
  return info.outShape;
}

const TOLERANCE = 2e-6; // relative to the largest value; float32 sums of up to a few thousand products

describe('wasm kernel shims vs cpu', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('registers the kernels wasm lacks and replaces its Conv2DBackpropInput', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  // The kernel takes the one-convolution path for strided convs only; that path is also checked on every geometry.
  test.each(convCases)('Conv2DBackpropFilter (and conv2dBackpropFilterFromConv): $name', async (c) => {
    const dyShape = outputShape(c);
    const xs = randomValues(
      c.x.reduce((a, b) => a * b),
      11,
    );
    const dys = randomValues(
      dyShape.reduce((a, b) => a * b),
      12,
    );
    const compute = () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x: tf.tensor(xs, c.x), dy: tf.tensor(dys, dyShape) },
          { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
        ) as tf.Tensor;
    const [expected] = await runOn('cpu', compute);
    const before = tf.memory().numTensors;
    const [actual] = await runOn('wasm', compute);
    expect(tf.memory().numTensors).toBe(before);
    expect(actual.length).toBe(c.filter.reduce((a, b) => a * b));
    expect(relativeMaxError(actual, expected)).toBeLessThan(TOLERANCE);
    const [direct] = await runOn('wasm', () =>
      conv2dBackpropFilterFromConv(
        tf.tensor4d(xs, c.x),
        tf.tensor4d(dys, dyShape as [number, number, number, number]),
        c.filter,
        c.strides,
        c.pad,
      ),
    );
    expect(relativeMaxError(direct, expected)).toBeLessThan(TOLERANCE);
  });

  test.each(convCases)('Conv2DBackpropInput (replaced by a forward conv): $name', async (c) => {
    const dyShape = outputShape(c);
    const ws = randomValues(
      c.filter.reduce((a, b) => a * b),
      13,
    );
    const dys = randomValues(
      dyShape.reduce((a, b) => a * b),
      14,
    );
    const compute = () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropInput',
          { dy: tf.tensor(dys, dyShape), filter: tf.tensor(ws, c.filter) },
          { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
        ) as tf.Tensor;
    const [expected] = await runOn('cpu', compute);
    const before = tf.memory().numTensors;
    const [actual] = await runOn('wasm', compute);
    expect(tf.memory().numTensors).toBe(before);
    expect(actual.length).toBe(c.x.reduce((a, b) => a * b));
    expect(relativeMaxError(actual, expected)).toBeLessThan(TOLERANCE);
  });

  test.each([
    { name: '3x3 stride 1 same, multiplier 1', x: [2, 7, 6, 16], filter: [3, 3, 16, 1], strides: 1, pad: 'same' as const },
    { name: '3x3 stride 2 valid, multiplier 2', x: [1, 9, 9, 8], filter: [3, 3, 8, 2], strides: 2, pad: 'valid' as const },
    { name: '7x7 stride 2 same, multiplier 1', x: [1, 12, 11, 4], filter: [7, 7, 4, 1], strides: 2, pad: 'same' as const },
  ])('DepthwiseConv2dNativeBackpropFilter: $name', async (c) => {
    const x = c.x as [number, number, number, number];
    const filter = c.filter as [number, number, number, number];
    const dyShape = tf.backend_util.computeConv2DInfo(x, filter, c.strides, 1, c.pad, undefined, true, 'channelsLast').outShape;
    const xs = randomValues(
      x.reduce((a, b) => a * b),
      21,
    );
    const dys = randomValues(
      dyShape.reduce((a, b) => a * b),
      22,
    );
    const compute = () =>
      tf
        .engine()
        .runKernel(
          'DepthwiseConv2dNativeBackpropFilter',
          { x: tf.tensor(xs, x), dy: tf.tensor(dys, dyShape) },
          { strides: c.strides, pad: c.pad, dilations: 1, filterShape: filter },
        ) as tf.Tensor;
    const [expected] = await runOn('cpu', compute);
    const [actual] = await runOn('wasm', compute);
    expect(relativeMaxError(actual, expected)).toBeLessThan(TOLERANCE);
  });

  it('Transpose of a tensor with a zero-length dimension gives an empty tensor of the permuted shape', () => {
    // The pooled features of an image with no proposal: wasm's own Transpose fails with "divide by zero".
    const result = tf.tidy(() => tf.transpose(tf.zeros([0, 7, 7, 4]), [0, 3, 1, 2]));
    expect(tf.getBackend()).toBe('wasm');
    expect(result.shape).toEqual([0, 4, 7, 7]);
    result.dispose();
    const nonEmpty = tf.tidy(() =>
      Array.from(
        tf
          .transpose(
            tf.tensor2d([
              [1, 2, 3],
              [4, 5, 6],
            ]),
            [1, 0],
          )
          .dataSync(),
      ),
    );
    expect(nonEmpty).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('UnsortedSegmentSum sums duplicates, leaves empty segments at 0 and drops out-of-range ids', async () => {
    const ids = [3, 0, 3, 5, -1, 0, 7, 3, 2, 9];
    const xs = randomValues(ids.length * 4 * 3, 31);
    const compute = () =>
      tf
        .engine()
        .runKernel(
          'UnsortedSegmentSum',
          { x: tf.tensor(xs, [ids.length, 4, 3]), segmentIds: tf.tensor1d(ids, 'int32') },
          { numSegments: 8 },
        ) as tf.Tensor;
    const [expected] = await runOn('cpu', compute);
    const [actual] = await runOn('wasm', compute);
    expect(actual.length).toBe(8 * 12);
    expect(relativeMaxError(actual, expected)).toBeLessThan(1e-6);
    // Segment 1, 4 and 6 have no rows: exactly zero.
    for (const empty of [1, 4, 6]) expect(Array.from(actual.slice(empty * 12, empty * 12 + 12))).toEqual(new Array(12).fill(0));
  });

  it('UnsortedSegmentSum with rank-2 segment ids (which the cpu kernel rejects) matches a direct sum', async () => {
    const ids = [
      [0, 2, 2],
      [1, 0, 2],
    ];
    const xs = randomValues(6 * 5, 41);
    const expected = new Float32Array(4 * 5);
    ids.flat().forEach((segment, row) => {
      for (let j = 0; j < 5; j++) expected[segment * 5 + j] += xs[row * 5 + j];
    });
    const [actual] = await runOn(
      'wasm',
      () =>
        tf
          .engine()
          .runKernel(
            'UnsortedSegmentSum',
            { x: tf.tensor(xs, [2, 3, 5]), segmentIds: tf.tensor2d(ids, [2, 3], 'int32') },
            { numSegments: 4 },
          ) as tf.Tensor,
    );
    expect(relativeMaxError(actual, expected)).toBeLessThan(1e-6);
  });

  test.each([
    {
      name: '3x3 stride 2 explicit pad 1',
      pad: [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ] as Pad,
      strides: 2,
      filter: [3, 3, 24, 32],
    },
    { name: '1x1 stride 1', pad: 'valid', strides: 1, filter: [1, 1, 24, 16] },
  ])('tf.grad of conv2d (input and filter) on wasm equals cpu: $name', async (c) => {
    const xShape: [number, number, number, number] = [2, 9, 10, 24];
    const filter = c.filter as [number, number, number, number];
    const xs = randomValues(
      xShape.reduce((a, b) => a * b),
      51,
    );
    const ws = randomValues(
      filter.reduce((a, b) => a * b),
      52,
    );
    const compute = () => {
      const x = tf.tensor4d(xs, xShape);
      const w = tf.tensor4d(ws, filter);
      // A non-uniform upstream gradient: the loss weights each output by its own value.
      const loss = (xi: tf.Tensor, wi: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, c.strides, c.pad as 'same')));
      const [gx, gw] = tf.grads(loss)([x, w]);
      return [gx, gw];
    };
    const expected = await runOn('cpu', compute);
    const actual = await runOn('wasm', compute);
    expect(relativeMaxError(actual[0], expected[0])).toBeLessThan(1e-5);
    expect(relativeMaxError(actual[1], expected[1])).toBeLessThan(1e-5);
  });

  it('tf.grad of depthwiseConv2d filter and of gather on wasm equal cpu', async () => {
    const xs = randomValues(1 * 8 * 8 * 6, 61);
    const ws = randomValues(3 * 3 * 6, 62);
    const table = randomValues(10 * 7, 63);
    const compute = () => {
      const x = tf.tensor4d(xs, [1, 8, 8, 6]);
      const gw = tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(x, w as tf.Tensor4D, 1, 'same'))))(
        tf.tensor4d(ws, [3, 3, 6, 1]),
      );
      const indices = tf.tensor1d([4, 1, 4, 9, 0, 4], 'int32');
      const gt = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices), tf.reshape(tf.range(1, 43), [6, 7]))))(
        tf.tensor2d(table, [10, 7]),
      );
      return [gw, gt];
    };
    const expected = await runOn('cpu', compute);
    const actual = await runOn('wasm', compute);
    expect(relativeMaxError(actual[0], expected[0])).toBeLessThan(1e-5);
    expect(relativeMaxError(actual[1], expected[1])).toBeLessThan(1e-6);
  });
});
