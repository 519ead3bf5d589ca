/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * The in-graph box logic (src/ml/onnx/box-graph.ts) run by ONNX Runtime against the tfjs engine's TypeScript
 * (AnchorGenerator, filterProposals, postprocessDetections), on inputs built to reach every branch the model
 * fixtures may not: two images of different sizes in one batch, more candidates than the top-n keeps (truncation
 * after NMS), many overlapping boxes (NMS by level, by class), boxes under the minimum size, scores under the
 * threshold, and padding rows (fewer valid proposals in one image) that must never come out as detections.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { ANCHOR_ASPECT_RATIOS, ANCHOR_SIZES } from '../../../src/ml/model/attribute-rcnn';
import { SeededRandom } from '../../../src/ml/model/params';
import { postprocessDetections, type RoiSettings } from '../../../src/ml/model/roi-heads';
import { filterProposals, type RpnSettings } from '../../../src/ml/model/rpn';
import { AnchorGenerator } from '../../../src/ml/ops/anchors';
import { BoxGraph } from '../../../src/ml/onnx/box-graph';
import { GraphBuilder } from '../../../src/ml/onnx/graph';
import { loadOnnxRuntime, type OrtTensor } from '../../../src/ml/onnx/runtime';

const ort = loadOnnxRuntime();
const random = new SeededRandom(20261206);
const uniform = (low: number, high: number) => low + (high - low) * random.next();

async function run(graph: GraphBuilder, feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
  const session = await ort.InferenceSession.create(graph.encode('box-graph test'), { executionProviders: ['cpu'] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

/** Random boxes [count·4] inside a width × height area, sides 2..maxSide, a few of them under 1e-2 wide. */
function randomBoxes(count: number, width: number, height: number, maxSide: number): Float32Array {
  const out = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) {
    const w = i % 37 === 0 ? 0.005 : uniform(2, maxSide);
    const h = uniform(2, maxSide);
    const x = uniform(-10, width);
    const y = uniform(-10, height);
    out.set([x, y, x + w, y + h], i * 4);
  }
  return out;
}

function randomValues(count: number, scale: number): Float32Array {
  return Float32Array.from({ length: count }, () => scale * random.normal());
}

/** The first `count` rows (width values each) of image n of a [N, D, width] output. */
function firstRows(tensor: OrtTensor, n: number, count: number, width: number): number[] {
  const perImage = tensor.dims[1] * width;
  return Array.from((tensor.data as Float32Array | BigInt64Array).slice(n * perImage, n * perImage + count * width), Number);
}

function expectClose(actual: number[], expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  const worst = actual.reduce((max, a, i) => Math.max(max, Math.abs(a - expected[i])), 0);
  expect(worst).toBeLessThanOrEqual(tolerance);
}

beforeAll(async () => {
  await initBackend('cpu', { log: () => undefined });
});

test('anchors equal AnchorGenerator for a non-square padded batch', async () => {
  const padded: [number, number] = [96, 160];
  const featureSizes: [number, number][] = [
    [24, 40],
    [12, 20],
    [6, 10],
    [3, 5],
    [2, 3],
  ];
  const g = new GraphBuilder('anchors');
  const boxes = new BoxGraph(g);
  const images = g.input('images', 'float32', [1, 'height', 'width', 3]);
  const paddedSize = g.shape(images, 1, 3);
  featureSizes.forEach((_, l) => {
    const feature = g.input(`p${l}`, 'float32', [1, 1, `h${l}`, `w${l}`]);
    g.output(
      boxes.levelAnchors(paddedSize, feature, AnchorGenerator.cellAnchors(ANCHOR_SIZES[l], ANCHOR_ASPECT_RATIOS[l])),
      `anchors${l}`,
      'float32',
      ['a', 4],
    );
  });
  const feeds: Record<string, OrtTensor> = { images: f32(new Float32Array(96 * 160 * 3), [1, ...padded, 3]) };
  featureSizes.forEach(([h, w], l) => (feeds[`p${l}`] = f32(new Float32Array(h * w), [1, 1, h, w])));
  const out = await run(g, feeds);
  const fromGraph = featureSizes.flatMap((_, l) => Array.from(out[`anchors${l}`].data as Float32Array));
  expect(fromGraph).toEqual(Array.from(new AnchorGenerator(ANCHOR_SIZES, ANCHOR_ASPECT_RATIOS).anchorValues(padded, featureSizes)));
});

test('RPN proposals equal filterProposals: two image sizes, top-n truncation after NMS by level, small boxes, score threshold', async () => {
  const imageSizes: [number, number][] = [
    [90, 120],
    [120, 80],
  ];
  const perLevel = [600, 300, 150];
  const settings: RpnSettings & { minSize: number } = {
    preNmsTopN: 200,
    postNmsTopN: 150,
    nmsThresh: 0.7,
    scoreThresh: 0.3,
    minSize: 1e-3,
    fgIouThresh: 0.7,
    bgIouThresh: 0.3,
    batchSizePerImage: 256,
    positiveFraction: 0.5,
  };
  const total = perLevel.reduce((a, b) => a + b, 0);
  const anchors = randomBoxes(total, 120, 120, 40);
  const objectness = randomValues(2 * total, 2);
  const deltas = randomValues(2 * total * 4, 0.2);

  const g = new GraphBuilder('proposals');
  const boxes = new BoxGraph(g);
  const logits = perLevel.map((_, l) => g.input(`logits${l}`, 'float32', [2, `a${l}`]));
  const levelDeltas = perLevel.map((_, l) => g.input(`deltas${l}`, 'float32', [2, `a${l}`, 4]));
  const levelAnchors = perLevel.map((_, l) => g.input(`anchors${l}`, 'float32', [`a${l}`, 4]));
  const sizes = g.input('image_sizes', 'float32', [2, 2]);
  const upper = g.op('Unsqueeze', [boxes.upperBounds(sizes), g.ints([1])]);
  const proposals = boxes.proposals(logits, levelDeltas, levelAnchors, upper, settings);
  g.output(proposals.boxes, 'boxes', 'float32', [2, 'p', 4]);
  g.output(proposals.scores, 'scores', 'float32', [2, 'p']);
  g.output(proposals.counts, 'counts', 'int64', [2]);

  const feeds: Record<string, OrtTensor> = { image_sizes: f32(Float32Array.from(imageSizes.flat()), [2, 2]) };
  let start = 0;
  perLevel.forEach((count, l) => {
    const rows = (data: Float32Array, width: number) =>
      Float32Array.from([0, 1].flatMap((n) => Array.from(data.subarray((n * total + start) * width, (n * total + start + count) * width))));
    feeds[`logits${l}`] = f32(rows(objectness, 1), [2, count]);
    feeds[`deltas${l}`] = f32(rows(deltas, 4), [2, count, 4]);
    feeds[`anchors${l}`] = f32(anchors.slice(start * 4, (start + count) * 4), [count, 4]);
    start += count;
  });
  const out = await run(g, feeds);

  const head = {
    objectness: tf.tensor2d(objectness, [2, total]),
    deltas: tf.tensor3d(deltas, [2, total, 4]),
    numAnchorsPerLevel: perLevel,
  };
  const anchorTensor = tf.tensor2d(anchors, [total, 4]);
  const expected = filterProposals(anchorTensor, head, imageSizes, settings);
  tf.dispose([head.objectness, head.deltas, anchorTensor]);
  const counts = Array.from(out.counts.data as BigInt64Array, Number);
  expect(counts).toEqual(expected.map((p) => p.scores.length));
  expect(counts[0]).toBe(150); // truncated after NMS
  expected.forEach((p, n) => {
    expectClose(firstRows(out.boxes, n, counts[n], 4), p.boxes, 1e-4);
    expectClose(firstRows(out.scores, n, counts[n], 1), p.scores, 1e-6);
  });
});

const DETECTION_SETTINGS: RoiSettings & { minSize: number } = {
  scoreThresh: 0.05,
  nmsThresh: 0.5,
  detectionsPerImage: 30,
  minSize: 1e-2,
  boxWeights: [10, 10, 5, 5],
  fgIouThresh: 0.5,
  bgIouThresh: 0.5,
  batchSizePerImage: 512,
  positiveFraction: 0.25,
};
const CLASSES = 5;
const ROWS = 120;

/** postprocess_detections in a graph over two images' padded proposals (the first `proposal_counts[n]` rows valid). */
async function detectionsInGraph(
  proposals: Float32Array,
  validRows: number[],
  imageSizes: [number, number][],
  classLogits: Float32Array,
  regression: Float32Array,
): Promise<Record<string, OrtTensor>> {
  const g = new GraphBuilder('detections');
  const boxes = new BoxGraph(g);
  const proposalBoxes = g.input('proposals', 'float32', [2, 'rows', 4]);
  const counts = g.input('proposal_counts', 'int64', [2]);
  const valid = g.op('Less', [
    g.op('Unsqueeze', [boxes.range(boxes.dim(proposalBoxes, 1)), g.ints([0])]),
    g.op('Unsqueeze', [counts, g.ints([1])]),
  ]);
  const sizes = g.input('image_sizes', 'float32', [2, 2]);
  const upper = g.op('Unsqueeze', [boxes.upperBounds(sizes), g.ints([1])]);
  const detections = boxes.detections(
    g.input('class_logits', 'float32', ['all_rows', CLASSES]),
    g.input('box_regression', 'float32', ['all_rows', CLASSES * 4]),
    { boxes: proposalBoxes, valid },
    upper,
    CLASSES,
    DETECTION_SETTINGS,
  );
  g.output(detections.boxes, 'boxes', 'float32', [2, 'd', 4]);
  g.output(detections.scores, 'scores', 'float32', [2, 'd']);
  g.output(detections.labels, 'labels', 'int64', [2, 'd']);
  g.output(detections.counts, 'counts', 'int64', [2]);
  const rows = proposals.length / 8;
  return run(g, {
    proposals: f32(proposals, [2, rows, 4]),
    proposal_counts: new ort.Tensor('int64', BigInt64Array.from(validRows, BigInt), [2]),
    image_sizes: f32(Float32Array.from(imageSizes.flat()), [2, 2]),
    class_logits: f32(classLogits, [2 * rows, CLASSES]),
    box_regression: f32(regression, [2 * rows, CLASSES * 4]),
  });
}

test('detections equal postprocessDetections: padding rows never detected, per-class NMS, truncation at detections per image', async () => {
  const imageSizes: [number, number][] = [
    [100, 140],
    [130, 90],
  ];
  const validRows = [120, 80];
  const proposals = randomBoxes(2 * ROWS, 140, 130, 60);
  const classLogits = randomValues(2 * ROWS * CLASSES, 2);
  const regression = randomValues(2 * ROWS * CLASSES * 4, 0.5);
  const out = await detectionsInGraph(proposals, validRows, imageSizes, classLogits, regression);

  // The TypeScript side sees only the valid proposals, as the tfjs engine's RPN gives them.
  const keptRows = [0, 1].flatMap((n) => Array.from({ length: validRows[n] }, (_, r) => n * ROWS + r));
  const pick = (data: Float32Array, width: number) =>
    Float32Array.from(keptRows.flatMap((r) => Array.from(data.subarray(r * width, (r + 1) * width))));
  const output = {
    classLogits: tf.tensor2d(pick(classLogits, CLASSES), [keptRows.length, CLASSES]),
    boxRegression: tf.tensor2d(pick(regression, CLASSES * 4), [keptRows.length, CLASSES * 4]),
  };
  const perImage = [0, 1].map((n) => proposals.slice(n * ROWS * 4, (n * ROWS + validRows[n]) * 4));
  const expected = postprocessDetections(output, perImage, imageSizes, DETECTION_SETTINGS);
  tf.dispose([output.classLogits, output.boxRegression]);
  const found = Array.from(out.counts.data as BigInt64Array, Number);
  expect(found).toEqual(expected.map((d) => d.scores.length));
  expect(found[0]).toBe(30); // truncated at detections per image
  expect(out.scores.dims).toEqual([2, 30]); // cut to the longest image's count
  expected.forEach((d, n) => {
    expect(firstRows(out.labels, n, found[n], 1)).toEqual(Array.from(d.labels));
    expectClose(firstRows(out.boxes, n, found[n], 4), d.boxes, 1e-3);
    expectClose(firstRows(out.scores, n, found[n], 1), d.scores, 1e-6);
  });
});

test('no valid proposals, or none at all, give empty detections of the right shapes', async () => {
  const sizes: [number, number][] = [
    [50, 50],
    [60, 40],
  ];
  const padded = await detectionsInGraph(
    randomBoxes(2 * 10, 50, 50, 20),
    [0, 0],
    sizes,
    randomValues(20 * CLASSES, 2),
    randomValues(20 * CLASSES * 4, 0.5),
  );
  const none = await detectionsInGraph(new Float32Array(0), [0, 0], sizes, new Float32Array(0), new Float32Array(0));
  for (const out of [padded, none]) {
    expect(Array.from(out.counts.data as BigInt64Array, Number)).toEqual([0, 0]);
    expect([out.boxes.dims, out.scores.dims, out.labels.dims]).toEqual([
      [2, 0, 4],
      [2, 0],
      [2, 0],
    ]);
  }
});
