/** src/ml/ops/boxes.ts against torchvision 0.14 (fixture test/ml/fixtures/ops_boxes.json). */
import * as tf from '@tensorflow/tfjs-core';
import { BoxCoder, boxArea, boxIou, batchedNms, clipBoxesToImage, nms, removeSmallBoxes } from '../../../src/ml/ops/boxes';
import { TEST_BACKENDS, expectClose, loadFixture, runOn, useBackend } from './support';

interface CoderCase {
  weights: [number, number, number, number];
  bboxXformClip: number;
  proposals: number[];
  reference: number[];
  encoded: number[];
  k: number;
  relCodes: number[];
  decoded: number[];
}
interface NmsCase {
  boxes: number[];
  scores: number[];
  groups: number[];
  iouThreshold: number;
  keep: number[];
  batchedKeep: number[];
}
interface BoxesFixture {
  iou: { a: number[]; b: number[]; iou: number[]; areaA: number[] };
  coder: CoderCase[];
  clip: { boxes: number[]; imageSize: [number, number]; clipped: number[] };
  removeSmall: { boxes: number[]; minSize: number; keep: number[] };
  nms: NmsCase[];
}

const fixture = loadFixture<BoxesFixture>('ops_boxes.json');
const boxes2d = (values: number[]) => tf.tensor2d(values, [values.length / 4, 4]);

describe.each(TEST_BACKENDS)('box tensor ops on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('boxArea and boxIou equal torchvision (identical, disjoint and zero-area boxes included)', async () => {
    const before = tf.memory().numTensors;
    const [area, iou] = await runOn(backend, () => [
      boxArea(boxes2d(fixture.iou.a)),
      boxIou(boxes2d(fixture.iou.a), boxes2d(fixture.iou.b)),
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expectClose(area, fixture.iou.areaA, 1e-7, 0);
    expectClose(iou, fixture.iou.iou, 2e-7, 1e-7);
    expect(iou[2 * 7 + 0]).toBeCloseTo(1, 6);
  });

  test.each(fixture.coder.map((c) => [c.weights.join(','), c] as const))(
    'BoxCoder weights %s: encode and decode (with clamp)',
    async (_, c) => {
      const coder = new BoxCoder(c.weights);
      expect(coder.bboxXformClip).toBeCloseTo(c.bboxXformClip, 12);
      const [encoded, decoded] = await runOn(backend, () => [
        coder.encode(boxes2d(c.reference), boxes2d(c.proposals)),
        coder.decode(tf.tensor2d(c.relCodes, [c.relCodes.length / (4 * c.k), 4 * c.k]), boxes2d(c.proposals)),
      ]);
      expectClose(encoded, c.encoded, 2e-6, 2e-6);
      expectClose(decoded, c.decoded, 2e-6, 2e-5);
    },
  );

  it('BoxCoder.decode returns [N, K, 4] and round-trips encode', async () => {
    const c = fixture.coder[1];
    const coder = new BoxCoder(c.weights);
    await useBackend(backend);
    const shape = tf.tidy(() => coder.decode(tf.zeros([6, 12]) as tf.Tensor2D, boxes2d(c.proposals)).shape);
    expect(shape).toEqual([6, 3, 4]);
    const [roundTrip] = await runOn(backend, () =>
      coder.decode(coder.encode(boxes2d(c.reference), boxes2d(c.proposals)), boxes2d(c.proposals)),
    );
    expectClose(roundTrip, c.reference, 1e-5, 1e-4);
  });

  it('handles empty box sets (images without proposals or ground truth)', async () => {
    const [iou, decoded, encoded, area] = await runOn(backend, () => [
      boxIou(tf.zeros([0, 4]) as tf.Tensor2D, boxes2d(fixture.iou.b)),
      new BoxCoder([10, 10, 5, 5]).decode(tf.zeros([0, 8]) as tf.Tensor2D, tf.zeros([0, 4]) as tf.Tensor2D),
      new BoxCoder([1, 1, 1, 1]).encode(tf.zeros([0, 4]) as tf.Tensor2D, tf.zeros([0, 4]) as tf.Tensor2D),
      boxArea(tf.zeros([0, 4]) as tf.Tensor2D),
    ]);
    expect([iou.length, decoded.length, encoded.length, area.length]).toEqual([0, 0, 0, 0]);
    expect(nms(new Float32Array(0), new Float32Array(0), 0.5)).toHaveLength(0);
    expect(batchedNms(new Float32Array(0), new Float32Array(0), new Int32Array(0), 0.5)).toHaveLength(0);
  });

  it('clipBoxesToImage equals torchvision', async () => {
    const [clipped] = await runOn(backend, () => clipBoxesToImage(boxes2d(fixture.clip.boxes), fixture.clip.imageSize));
    expect(Array.from(clipped)).toEqual(fixture.clip.clipped);
  });
});

describe('host box ops', () => {
  it('removeSmallBoxes keeps the boxes torchvision keeps', () => {
    expect(Array.from(removeSmallBoxes(Float32Array.from(fixture.removeSmall.boxes), fixture.removeSmall.minSize))).toEqual(
      fixture.removeSmall.keep,
    );
  });

  test.each(fixture.nms.map((c, i) => [i, c.boxes.length / 4, c.iouThreshold, c] as const))(
    "nms and batchedNms case %i (%i boxes, IoU %f) keep exactly torchvision's indices in its order",
    (_, __, ___, c) => {
      const boxes = Float32Array.from(c.boxes);
      const scores = Float32Array.from(c.scores);
      expect(Array.from(nms(boxes, scores, c.iouThreshold))).toEqual(c.keep);
      expect(Array.from(batchedNms(boxes, scores, Int32Array.from(c.groups), c.iouThreshold))).toEqual(c.batchedKeep);
    },
  );

  it('nms keeps a box whose IoU equals the threshold and suppresses one just above', () => {
    const c = fixture.nms[fixture.nms.length - 1];
    // Box 1 has IoU exactly 0.5 with box 0: kept. Box 2 has IoU 0.51: suppressed.
    expect(Array.from(nms(Float32Array.from(c.boxes), Float32Array.from(c.scores), 0.5))).toEqual([0, 1, 3]);
  });

  it('rejects mismatched input lengths', () => {
    expect(() => nms(new Float32Array(8), new Float32Array(3), 0.5)).toThrow(/nms: boxes has 8 values/);
    expect(() => batchedNms(new Float32Array(8), new Float32Array(2), new Int32Array(3), 0.5)).toThrow(/groups has 3 entries/);
  });
});
