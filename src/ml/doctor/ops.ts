/**
 * The doctor's workload: the Attribute R-CNN's own operations at small sizes (so the plain cpu backend,
 * the reference, finishes in seconds), each called twice — cold (first call: kernel compilation, the CUDA
 * JIT on a GPU the kernels were not built for, wasm instantiation) and warm — on the backend in use and
 * on the cpu backend, whose results they are compared with.
 */
import * as tf from '@tensorflow/tfjs-core';
import { seededRandom } from '../../util/random';
import { nms } from '../ops/boxes';
import { roiAlign } from '../ops/roi-align';
import { AttributeRCNN, type TrainingSample } from '../model/attribute-rcnn';
import { resolveConfig } from '../model/config';
import { Sgd } from '../train/sgd';

/** One prepared operation: `call` runs it once and returns its result on the host. */
interface PreparedOp {
  call(): Promise<Float32Array>;
  dispose(): void;
}

export interface DoctorOp {
  name: string;
  description: string;
  /** Runs in JavaScript on the host whatever the backend (the model's NMS): not part of the speed-up. */
  onHost: boolean;
  /** Largest relative error against the reference that still counts as agreement. */
  tolerance: number;
  /** Builds the inputs on the current backend. */
  prepare: () => PreparedOp;
  /** The cpu-backend reference when it is not the same code as `prepare` (default: `prepare` on cpu). */
  prepareReference?: () => PreparedOp;
}

export interface OpRun {
  coldMs: number;
  warmMs: number;
  /** The cold and the warm call's results. */
  outputs: [Float32Array, Float32Array];
}

/**
 * Tolerance of the ops that multiply and add in cuBLAS/cuDNN: TensorFlow 2.9 runs them in TF32 by default on
 * Ampere and newer GPUs (inputs rounded to 10 mantissa bits, relative error up to about 1e-3), which is
 * expected, not a fault (NVIDIA_TF32_OVERRIDE=0 turns it off). float32 everywhere else agrees to about 1e-6.
 */
const MATMUL_TOLERANCE = 5e-3;

function randomValues(count: number, seed: number, low = -1, high = 1): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => low + (high - low) * random());
}

function readAll(tensors: tf.Tensor[]): Float32Array {
  const parts = tensors.map((t) => t.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** An op over fixed input tensors: `compute` runs inside a tidy and its outputs are read back. */
function tensorOp(inputs: () => tf.Tensor[], compute: (...inputs: tf.Tensor[]) => tf.Tensor[]): () => PreparedOp {
  return () => {
    const held = inputs();
    return {
      call: async () => {
        const outputs = tf.tidy(() => compute(...held));
        try {
          return readAll(outputs);
        } finally {
          tf.dispose(outputs);
        }
      },
      dispose: () => tf.dispose(held),
    };
  };
}

const CONV_INPUT: [number, number, number, number] = [1, 12, 12, 32];
const CONV_FILTER: [number, number, number, number] = [3, 3, 32, 32];
const CONV_OUTPUT: [number, number, number, number] = [1, 12, 12, 32];
const MATMUL_SIZE = 256;
const ROI_FEATURES: [number, number, number, number] = [1, 32, 32, 64];
const ROI_IMAGE_SIZE = 128;
const ROI_COUNT = 64;
const NMS_BOXES = 1000;
const NMS_IOU = 0.5;

function randomBoxes(count: number, imageSize: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const boxes = new Float32Array(count * 4);
  for (let k = 0; k < count; k++) {
    const x1 = random() * imageSize * 0.8;
    const y1 = random() * imageSize * 0.8;
    boxes.set([x1, y1, x1 + 4 + random() * imageSize * 0.4, y1 + 4 + random() * imageSize * 0.4], 4 * k);
  }
  return boxes;
}

function fixedConv(x: tf.Tensor, w: tf.Tensor): tf.Tensor4D {
  return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
}

const convForward: DoctorOp = {
  name: 'conv2d forward',
  description: `3×3 convolution, input [${CONV_INPUT.join(', ')}], ${CONV_FILTER[3]} filters`,
  onHost: false,
  tolerance: MATMUL_TOLERANCE,
  prepare: tensorOp(
    () => [
      tf.tensor4d(randomValues(tf.util.sizeFromShape(CONV_INPUT), 1), CONV_INPUT),
      tf.tensor4d(randomValues(tf.util.sizeFromShape(CONV_FILTER), 2), CONV_FILTER),
    ],
    (x, w) => [fixedConv(x, w)],
  ),
};

const convBackward: DoctorOp = {
  name: 'conv2d backward',
  description: 'gradients of the same convolution with respect to its input and its filter',
  onHost: false,
  tolerance: MATMUL_TOLERANCE,
  prepare: tensorOp(
    () => [
      tf.tensor4d(randomValues(tf.util.sizeFromShape(CONV_INPUT), 1), CONV_INPUT),
      tf.tensor4d(randomValues(tf.util.sizeFromShape(CONV_FILTER), 2), CONV_FILTER),
      tf.tensor4d(randomValues(tf.util.sizeFromShape(CONV_OUTPUT), 3), CONV_OUTPUT),
    ],
    (x, w, upstream) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fixedConv(a, b), upstream)))([x, w]),
  ),
};

const matMul: DoctorOp = {
  name: 'matMul',
  description: `[${MATMUL_SIZE}, ${MATMUL_SIZE}] × [${MATMUL_SIZE}, ${MATMUL_SIZE}]`,
  onHost: false,
  tolerance: MATMUL_TOLERANCE,
  prepare: tensorOp(
    () => [4, 5].map((seed) => tf.tensor2d(randomValues(MATMUL_SIZE * MATMUL_SIZE, seed), [MATMUL_SIZE, MATMUL_SIZE])),
    (a, b) => [tf.matMul(a, b)],
  ),
};

const roiAlignOp: DoctorOp = {
  name: 'RoIAlign',
  description: `${ROI_COUNT} boxes, 7×7 bins, features [${ROI_FEATURES.join(', ')}], forward and gradient`,
  onHost: false,
  tolerance: 1e-4,
  prepare: tensorOp(
    () => [
      tf.tensor4d(randomValues(tf.util.sizeFromShape(ROI_FEATURES), 6), ROI_FEATURES),
      tf.tensor2d(randomBoxes(ROI_COUNT, ROI_IMAGE_SIZE, 7), [ROI_COUNT, 4]),
    ],
    (features, boxes) => {
      const align = (f: tf.Tensor) =>
        roiAlign(f as tf.Tensor4D, boxes as tf.Tensor2D, new Int32Array(ROI_COUNT), [7, 7], ROI_FEATURES[1] / ROI_IMAGE_SIZE, 2);
      const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.square(align(f))))(features);
      return [align(features), grad];
    },
  ),
};

/** NMS keeps or drops each box: the result as a 0/1 mask, so that the relative error counts disagreements. */
function keptMask(kept: ArrayLike<number>, count: number): Float32Array {
  const mask = new Float32Array(count);
  for (let i = 0; i < kept.length; i++) mask[kept[i]] = 1;
  return mask;
}

function nmsInputs(): { boxes: Float32Array; scores: Float32Array } {
  return { boxes: randomBoxes(NMS_BOXES, 512, 8), scores: randomValues(NMS_BOXES, 9, 0, 1) };
}

/** Boxes from x1, y1, x2, y2 to the y1, x1, y2, x2 order of tf.image.nonMaxSuppression. */
function yxBoxes(boxes: Float32Array): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let k = 0; k < boxes.length; k += 4) out.set([boxes[k + 1], boxes[k], boxes[k + 3], boxes[k + 2]], k);
  return out;
}

const nmsOp: DoctorOp = {
  name: 'NMS',
  description: `the model's NMS (JavaScript on the host), ${NMS_BOXES} boxes, IoU ${NMS_IOU}; reference: tf.image.nonMaxSuppression on cpu`,
  onHost: true,
  tolerance: 0,
  prepare: () => {
    const { boxes, scores } = nmsInputs();
    return { call: async () => keptMask(nms(boxes, scores, NMS_IOU), NMS_BOXES), dispose: () => undefined };
  },
  prepareReference: tensorOp(
    () => {
      const { boxes, scores } = nmsInputs();
      return [tf.tensor2d(yxBoxes(boxes), [NMS_BOXES, 4]), tf.tensor1d(scores)];
    },
    (boxes, scores) => {
      const kept = tf.image.nonMaxSuppression(boxes as tf.Tensor2D, scores as tf.Tensor1D, NMS_BOXES, NMS_IOU);
      return [tf.tensor1d(keptMask(kept.dataSync(), NMS_BOXES))];
    },
  ),
};

const TRAIN_IMAGE_SIZE = 32;

/** A small Attribute R-CNN (ResNet-18, 64-pixel images, narrow FPN and heads). */
function smallModelConfig() {
  return resolveConfig(
    {
      backbone: 'resnet18',
      class_names: ['__background__', 'top', 'bottom'],
      attributes: [{ kind: 'color', type: 'single', values: ['red', 'blue'] }],
      min_size: TRAIN_IMAGE_SIZE,
      max_size: TRAIN_IMAGE_SIZE,
      representation_size: 32,
      fpn_out_channels: 32,
      trainable_backbone_layers: 0,
      rpn_pre_nms_top_n_train: 200,
      rpn_post_nms_top_n_train: 50,
      box_batch_size_per_image: 32,
    },
    'kfashion doctor: small model config',
  );
}

/** One image with a red and a blue garment-sized rectangle. */
function trainingSample(): TrainingSample {
  const size = TRAIN_IMAGE_SIZE;
  const data = new Uint8Array(size * size * 3).fill(230);
  const pixels = (fractions: number[]) => fractions.map((f) => Math.round(f * size)) as [number, number, number, number];
  const garments: TrainingSample['garments'] = [
    { box: pixels([0.1, 0.06, 0.47, 0.62]), label: 1, attributes: { color: 0 } },
    { box: pixels([0.53, 0.31, 0.94, 0.97]), label: 2, attributes: { color: 1 } },
  ];
  for (const garment of garments) {
    const [x1, y1, x2, y2] = garment.box;
    const rgb = garment.attributes?.color === 0 ? [200, 30, 30] : [30, 40, 200];
    for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) data.set(rgb, (y * size + x) * 3);
  }
  return { image: { data, width: size, height: size }, garments };
}

const trainingStep: DoctorOp = {
  name: 'training step',
  description: `one SGD step of a small Attribute R-CNN (ResNet-18, ${TRAIN_IMAGE_SIZE}×${TRAIN_IMAGE_SIZE} image); result: the losses`,
  onHost: false,
  // The losses sum many TF32 products on a GPU and pass through proposal matching, which rounding can move.
  tolerance: 1e-2,
  prepare: () => {
    const model = AttributeRCNN.create(smallModelConfig(), 0);
    const optimizer = new Sgd({ lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    const sample = trainingSample();
    return {
      call: async () => {
        const losses = model.trainStep([sample], optimizer);
        return Float32Array.from(
          Object.keys(losses)
            .sort()
            .map((name) => losses[name]),
        );
      },
      dispose: () => {
        optimizer.dispose();
        model.dispose();
      },
    };
  },
};

export const DOCTOR_OPS: readonly DoctorOp[] = [convForward, convBackward, matMul, roiAlignOp, nmsOp, trainingStep];

/** Runs a prepared op cold then warm, timing each call including the read-back of its result. */
export async function runOp(prepare: () => PreparedOp): Promise<OpRun> {
  const op = prepare();
  try {
    const timings: number[] = [];
    const outputs: Float32Array[] = [];
    for (let i = 0; i < 2; i++) {
      const start = performance.now();
      outputs.push(await op.call());
      timings.push(performance.now() - start);
    }
    return { coldMs: timings[0], warmMs: timings[1], outputs: [outputs[0], outputs[1]] };
  } finally {
    op.dispose();
  }
}

/** ‖a − b‖₂ / ‖b‖₂ (∞ when the lengths differ or a value is not finite; 0 when both are all zeros). */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let difference = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    difference += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  if (!Number.isFinite(difference)) return Infinity;
  if (difference === 0) return 0;
  return Math.sqrt(difference) / Math.sqrt(norm);
}
