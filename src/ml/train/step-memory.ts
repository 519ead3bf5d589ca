/**
 * The memory one training step needs, and what the backend can give it. Checked before a run's first
 * step: a step that does not fit is refused with the estimate, the limit and what to change, instead of
 * aborting the wasm module (`Aborted()`, then every later call fails) or driving a host into swap.
 *
 * Estimate = parameters × 3 (values, gradients, SGD momentum; float32)
 *          + activations kept for the backward pass: the elements the ResNet body, FPN and RPN head
 *            produce per input pixel (counted below from the architecture) × the batch's padded pixels
 *            × ACTIVATION_FACTOR
 *          + RoI features of the sampled proposals (box_batch_size_per_image per image)
 *          + STEP_OVERHEAD_BYTES.
 * ACTIVATION_FACTOR and STEP_OVERHEAD_BYTES were fitted to the wasm heap after two steps of ResNet-18 from
 * scratch (batch_norm, every stage trained) at 128², 256², 384², 512² and 320×512 (bench/RESULTS.md,
 * "Training memory"; estimate/measured 0.98–1.10, and 0.93 for ResNet-50 at 384²), TENSORS_PER_UNIT's frozen
 * value to runs as from initWeights (frozen batch norm, 3 stages): the factor covers batch-norm intermediates,
 * the gradients of every activation and the allocator's slack. Native backends get the same estimate; it was
 * not measured there.
 */
import * as os from 'node:os';
import type { BackendInfo } from '../backend';
import { probeGpus } from '../doctor/gpu';
import { evalMinSize, type ModelConfig } from '../model/config';
import { DetectorModules } from '../model/detector';
import { resnetStages } from '../model/resnet';
import { RoiPooler } from '../model/box-head';
import { RpnHead } from '../model/rpn';
import { SIZE_DIVISIBLE } from '../model/transform';

const FLOAT_BYTES = 4;
const MIB = 2 ** 20;
const GIB = 2 ** 30;

/** Bytes per counted activation element (see the module comment: fitted on the wasm backend). */
export const ACTIVATION_FACTOR = 5.8 * FLOAT_BYTES;
/** Bytes a step needs beyond the modelled terms (RoIAlign's gather chunks, anchors, allocator slack). */
export const STEP_OVERHEAD_BYTES = 700 * MIB;
/**
 * The largest heap tfjs-backend-wasm 4.22 can grow to: its wasm32 memory is declared with at most 65536
 * pages (4 GiB) and its glue's getHeapMax() answers 4 GiB − 64 KiB. Measured: tensors up to 3.6 GiB, then Aborted().
 */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;

/** The per-step inputs of the estimate: the model's shape and the batch. */
export type StepShape = Pick<
  ModelConfig,
  | 'backbone'
  | 'fpn_out_channels'
  | 'trainable_backbone_layers'
  | 'norm_layer'
  | 'architecture'
  | 'min_size'
  | 'max_size'
  | 'representation_size'
  | 'box_batch_size_per_image'
  | 'rpn_post_nms_top_n_train'
  | 'num_classes'
> & { attributes?: ModelConfig['attributes'] };

export interface StepMemoryEstimate {
  bytes: number;
  /** The padded input of one image, the largest the transform can produce: [height, width] (portrait). */
  imagePixels: [number, number];
  batchSize: number;
}

/** What a backend can give one step, and what it is (for messages). */
export interface MemoryBudget {
  bytes: number;
  of: string;
}

const roundUp = (n: number) => Math.ceil(n / SIZE_DIVISIBLE) * SIZE_DIVISIBLE;

/**
 * The largest padded image the transform can produce: the short side is min_size (the largest of a list)
 * unless that would push the long side past max_size. Images of one batch are assumed to share an
 * orientation (a portrait next to a landscape pads both to max_size × max_size).
 */
export function largestInput(shape: Pick<ModelConfig, 'min_size' | 'max_size'>): [number, number] {
  const minSize = Array.isArray(shape.min_size) ? Math.max(...shape.min_size) : evalMinSize(shape);
  return [roundUp(shape.max_size), roundUp(Math.min(minSize, shape.max_size))];
}

/**
 * Tensors of its output's size a conv + norm (+ ReLU) unit of the ResNet body leaves for the backward pass:
 * conv, normalised and ReLU outputs with nn.BatchNorm2d (batch statistics); FrozenBatchNorm2d is folded into the
 * conv (resnet.ts), which leaves about one (fitted: 1.1–1.2× the measured heap at 384² and 512², where 3 gave 1.3–1.5×).
 */
const TENSORS_PER_UNIT: Readonly<Record<ModelConfig['norm_layer'], number>> = { batch_norm: 3, frozen_batch_norm: 1 };

/** Activation elements per input pixel: ResNet body (stem, four stages), FPN levels, RPN head. */
export function activationsPerPixel(shape: Pick<ModelConfig, 'backbone' | 'fpn_out_channels' | 'norm_layer'>): number {
  // Each unit's output at its own resolution: a bottleneck's 1×1 conv1 still runs at its input's, before the strided 3×3.
  const perPixel = (channels: number, stride: number) => (channels * TENSORS_PER_UNIT[shape.norm_layer]) / (stride * stride);
  const stem = perPixel(64, 2) + 64 / 16;
  let stride = 4;
  let body = 0;
  for (const block of resnetStages(shape.backbone).flat()) {
    const input = stride;
    for (const unit of block.branch) {
      stride *= unit.stride;
      body += perPixel(unit.outChannels, stride);
    }
    if (block.downsample) body += perPixel(block.downsample.outChannels, input * block.downsample.stride);
  }
  const channels = shape.fpn_out_channels;
  const levels = [4, 8, 16, 32].reduce((sum, s) => sum + 1 / (s * s), 0);
  // FPN: lateral 1×1, upsampled sum, 3×3 output per level; RPN head: conv, ReLU and its 1×1 convs' outputs per level.
  const fpn = 3 * channels * levels;
  const rpn = (2 * channels + RpnHead.outputsPerLocation) * (levels + 1 / (64 * 64));
  return stem + body + fpn + rpn;
}

/** Every parameter of the model, from the specs of the config's modules. */
export function parameterCount(shape: StepShape): number {
  return new DetectorModules(shape).parameterSpecs().reduce((sum, spec) => sum + spec.torchShape.reduce((a, b) => a * b, 1), 0);
}

export function estimateStepMemory(shape: StepShape, batchSize: number): StepMemoryEstimate {
  const imagePixels = largestInput(shape);
  const pixels = imagePixels[0] * imagePixels[1] * batchSize;
  const parameters = parameterCount(shape) * 3 * FLOAT_BYTES;
  const activations = activationsPerPixel(shape) * pixels * ACTIVATION_FACTOR;
  // The RoI sampler cannot pick more proposals than the RPN keeps (ground-truth boxes aside).
  const rois = Math.min(shape.box_batch_size_per_image, shape.rpn_post_nms_top_n_train);
  const roiFeatures =
    batchSize * rois * (shape.fpn_out_channels * new RoiPooler().binsPerChannel + 2 * shape.representation_size) * FLOAT_BYTES;
  return { bytes: parameters + activations + roiFeatures + STEP_OVERHEAD_BYTES, imagePixels, batchSize };
}

/** What a step may use on `backend`: the wasm heap limit, free RAM for tfjs-node, free GPU memory when nvidia-smi tells it. */
export async function trainingMemoryBudget(
  backend: Pick<BackendInfo, 'name' | 'device'>,
  env?: NodeJS.ProcessEnv,
): Promise<MemoryBudget | null> {
  if (backend.name === 'wasm') return { bytes: WASM_HEAP_LIMIT_BYTES, of: "the wasm backend's heap limit" };
  if (backend.name === 'cpu' || backend.device === 'cpu') return { bytes: os.freemem(), of: 'the free RAM of this host' };
  const gpu = (await probeGpus(env)).gpus[0];
  return gpu ? { bytes: (gpu.memoryTotalMiB - gpu.memoryUsedMiB) * MIB, of: `the free memory of GPU 0 (${gpu.name})` } : null;
}

export const formatBytes = (bytes: number) => (bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${Math.round(bytes / MIB)} MiB`);

/** Suggested sizes keep this share of the budget: the estimate is within about ±10% of the measurements. */
const SUGGESTION_MARGIN = 0.9;

/** min_size/max_size at the config's aspect that fit `budget` (with a margin) with `batchSize` images, or null when even 32 px does not. */
export function fittingSizes(shape: StepShape, batchSize: number, budget: MemoryBudget): { min_size: number; max_size: number } | null {
  const [longSide, shortSide] = largestInput(shape);
  const down = (n: number) => Math.max(SIZE_DIVISIBLE, Math.floor(n / SIZE_DIVISIBLE) * SIZE_DIVISIBLE);
  for (let scale = 0.95; scale > 0; scale -= 0.05) {
    const sizes = { min_size: down(shortSide * scale), max_size: down(longSide * scale) };
    if (estimateStepMemory({ ...shape, ...sizes }, batchSize).bytes <= budget.bytes * SUGGESTION_MARGIN) return sizes;
  }
  return null;
}

export interface StepMemoryRefusal {
  /** The setting to change first: the batch size when one image fits, else the image size. */
  field: 'batchSize' | 'max_size';
  message: string;
}

/** null when one step fits the budget; otherwise the estimate, the limit and what to change. */
export function checkStepMemory(shape: StepShape, batchSize: number, budget: MemoryBudget | null): StepMemoryRefusal | null {
  if (budget === null) return null;
  const estimate = estimateStepMemory(shape, batchSize);
  if (estimate.bytes <= budget.bytes) return null;
  const [h, w] = estimate.imagePixels;
  const oneFits = batchSize > 1 && estimateStepMemory(shape, 1).bytes <= budget.bytes;
  const sizes = fittingSizes(shape, batchSize, budget);
  const advice = [
    oneFits ? 'a batch size of 1' : null,
    sizes ? `min_size ${sizes.min_size} and max_size ${sizes.max_size}` : null,
    'a native backend (@tensorflow/tfjs-node) or a GPU (@tensorflow/tfjs-node-gpu)',
  ]
    .filter((a) => a !== null)
    .join(', or ');
  return {
    field: oneFits ? 'batchSize' : 'max_size',
    message:
      `one training step needs about ${formatBytes(estimate.bytes)} (${batchSize} image(s) of up to ${w}×${h} px, ${shape.backbone}) ` +
      `but ${budget.of} is ${formatBytes(budget.bytes)}; use ${advice}`,
  };
}
