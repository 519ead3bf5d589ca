/**
 * ResNet body of the detector, as torchvision's `resnet_fpn_backbone` builds it (torchvision 0.14):
 * torchvision.models.resnet{18,34,50,101} with FrozenBatchNorm2d, without avgpool/fc, returning the
 * outputs of layer1..layer4 (IntermediateLayerGetter, returned_layers [1, 2, 3, 4]).
 *
 * - BasicBlock (18/34) and Bottleneck (50/101, "v1.5": the stride sits on the 3x3 conv).
 * - Padding is PyTorch's symmetric explicit padding (7x7/2 pad 3, 3x3 pad 1, max-pool 3x3/2 pad 1);
 *   tfjs 'same' would pad asymmetrically at stride 2.
 * - Norm layer `frozen_batch_norm` (FrozenBatchNorm2d, what torchvision uses with pretrained weights; eps 1e-5):
 *   y = x·scale + (b − mean·scale), scale = w·rsqrt(var + eps). It is folded into the preceding conv's filter
 *   (conv(x, W·scale) + shift): the same function up to float rounding, one elementwise pass fewer, and
 *   gradients still reach W.
 * - Norm layer `batch_norm` (nn.BatchNorm2d, what torchvision uses when the backbone starts from scratch:
 *   `norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d`): weight and bias are parameters
 *   (trainable with their stage); a training forward normalises with the batch's statistics, gradients flowing
 *   through them, and returns them so that the caller moves the running statistics after the step
 *   (momentum 0.1, unbiased variance, as PyTorch). Evaluation uses the running statistics, folded as above.
 * - Trainable stages as torchvision's _resnet_fpn_extractor: the first `trainable_backbone_layers` of
 *   [layer4, layer3, layer2, layer1, conv1] (bn1 too when 5; frozen batch norms are buffers anyway).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackboneName, ModelConfig } from './config';
import { ParameterSpec, ParameterStore } from './params';
import type { OnnxLayers } from '../onnx/layers';

/** FrozenBatchNorm2d (torchvision 0.14) and nn.BatchNorm2d both default to this eps. */
export const BATCH_NORM_EPS = 1e-5;
const BODY = 'backbone.body';

interface Architecture {
  block: 'basic' | 'bottleneck';
  blocks: [number, number, number, number];
}

const ARCHITECTURES: Record<BackboneName, Architecture> = {
  resnet18: { block: 'basic', blocks: [2, 2, 2, 2] },
  resnet34: { block: 'basic', blocks: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', blocks: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', blocks: [3, 4, 23, 3] },
};

const STAGE_PLANES = [64, 128, 256, 512];
const STAGE_STRIDES = [1, 2, 2, 2];

export function blockExpansion(backbone: BackboneName): number {
  return ARCHITECTURES[backbone].block === 'basic' ? 1 : 4;
}

/** Channels of layer1..layer4 outputs (the FPN's in_channels_list). */
export function stageChannels(backbone: BackboneName): number[] {
  return STAGE_PLANES.map((planes) => planes * blockExpansion(backbone));
}

/** One conv + frozen batch norm of a block, with its geometry. */
export interface ConvBn {
  conv: string;
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

/** What applying a conv + norm needs: the modules' names and the conv's stride and padding. */
export type ConvBnGeometry = Pick<ConvBn, 'conv' | 'bn' | 'stride' | 'padding'>;

export interface Block {
  /** Module prefix, e.g. backbone.body.layer2.0 */
  prefix: string;
  /** conv-bn pairs of the residual branch; ReLU after all but the last. */
  branch: ConvBn[];
  downsample?: ConvBn;
}

function convBn(prefix: string, conv: string, bn: string, inChannels: number, outChannels: number, kernel: number, stride: number): ConvBn {
  return { conv: `${prefix}.${conv}`, bn: `${prefix}.${bn}`, inChannels, outChannels, kernel, stride, padding: (kernel - 1) / 2 };
}

/** The blocks of layer1..layer4, in torchvision's module order. */
export function resnetStages(backbone: BackboneName): Block[][] {
  const { block, blocks } = ARCHITECTURES[backbone];
  const expansion = blockExpansion(backbone);
  let inplanes = 64;
  return blocks.map((count, stage) => {
    const planes = STAGE_PLANES[stage];
    const out: Block[] = [];
    for (let i = 0; i < count; i++) {
      const prefix = `${BODY}.layer${stage + 1}.${i}`;
      const stride = i === 0 ? STAGE_STRIDES[stage] : 1;
      const branch =
        block === 'basic'
          ? [convBn(prefix, 'conv1', 'bn1', inplanes, planes, 3, stride), convBn(prefix, 'conv2', 'bn2', planes, planes, 3, 1)]
          : [
              convBn(prefix, 'conv1', 'bn1', inplanes, planes, 1, 1),
              convBn(prefix, 'conv2', 'bn2', planes, planes, 3, stride),
              convBn(prefix, 'conv3', 'bn3', planes, planes * expansion, 1, 1),
            ];
      const downsample =
        stride !== 1 || inplanes !== planes * expansion
          ? convBn(prefix, 'downsample.0', 'downsample.1', inplanes, planes * expansion, 1, stride)
          : undefined;
      out.push({ prefix, branch, downsample });
      inplanes = planes * expansion;
    }
    return out;
  });
}

const STEM: ConvBn = { conv: `${BODY}.conv1`, bn: `${BODY}.bn1`, inChannels: 3, outChannels: 64, kernel: 7, stride: 2, padding: 3 };
/** The stem's max pool (3×3, stride 2, pad 1). */
const STEM_POOL = { kernel: 3, stride: 2, padding: 1 } as const;

/** torchvision: layers_to_train = ["layer4", "layer3", "layer2", "layer1", "conv1"][:n] (+ "bn1" when n = 5). */
export function isTrainableBodyParameter(name: string, trainableLayers: number): boolean {
  const layers = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'].slice(0, trainableLayers);
  if (trainableLayers === 5) layers.push('bn1');
  const local = name.startsWith(`${BODY}.`) ? name.slice(BODY.length + 1) : name;
  return layers.some((layer) => local.startsWith(layer));
}

const BN_BUFFERS: [string, number][] = [
  ['weight', 1],
  ['bias', 0],
  ['running_mean', 0],
  ['running_var', 1],
];

/**
 * A batch norm's weight, bias and running statistics, identity at init. With `trainable` (nn.BatchNorm2d in a
 * trained part) weight and bias are parameters; the running statistics are always buffers, moved by the
 * training forward.
 */
export function batchNormSpecs(bn: string, channels: number, trainable: boolean): ParameterSpec[] {
  return BN_BUFFERS.map(([buffer, value]): ParameterSpec => ({
    name: `${bn}.${buffer}`,
    torchShape: [channels],
    layout: 'plain',
    init: { kind: 'constant', value },
    trainable: trainable && (buffer === 'weight' || buffer === 'bias'),
  }));
}

type BodyConfig = Pick<ModelConfig, 'backbone' | 'trainable_backbone_layers' | 'norm_layer'>;

function convBnSpecs(unit: ConvBn, config: Omit<BodyConfig, 'backbone'>): ParameterSpec[] {
  const weight = `${unit.conv}.weight`;
  return [
    {
      name: weight,
      torchShape: [unit.outChannels, unit.inChannels, unit.kernel, unit.kernel],
      layout: 'conv',
      init: { kind: 'kaiming_normal_fan_out' },
      trainable: isTrainableBodyParameter(weight, config.trainable_backbone_layers),
    },
    // FrozenBatchNorm2d registers all four as buffers; BatchNorm2d's weight and bias are parameters of their stage.
    ...batchNormSpecs(
      unit.bn,
      unit.outChannels,
      config.norm_layer === 'batch_norm' && isTrainableBodyParameter(`${unit.bn}.weight`, config.trainable_backbone_layers),
    ),
  ];
}

/** The ResNet body's parameters with torchvision's fresh init, in state_dict order. */
export function resnetParameterSpecs(config: BodyConfig): ParameterSpec[] {
  const units: ConvBn[] = [STEM];
  for (const stage of resnetStages(config.backbone)) {
    for (const block of stage) {
      units.push(...block.branch);
      if (block.downsample) units.push(block.downsample);
    }
  }
  return units.flatMap((unit) => convBnSpecs(unit, config));
}

/** nn.BatchNorm2d's defaults: the running statistics move by this fraction of the batch's per step. */
export const BATCH_NORM_MOMENTUM = 0.1;

/** The statistics a training forward normalised with, per batch norm module (e.g. backbone.body.layer1.0.bn1). */
export type BatchStatistics = Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number }>;

/**
 * conv → BatchNorm2d in training mode: normalised with the batch's mean and biased variance over N, H, W
 * (gradients flow through both). The statistics are kept (outside any tidy) in `statistics` for the caller.
 */
function applyConvBatchNorm(
  store: ParameterStore,
  unit: ConvBnGeometry,
  x: tf.Tensor4D,
  relu: boolean,
  statistics: BatchStatistics,
): tf.Tensor4D {
  const y = tf.conv2d(x, store.get(`${unit.conv}.weight`) as tf.Tensor4D, unit.stride, unit.padding, 'NHWC', 1, 'floor');
  const { mean, variance } = tf.moments(y, [0, 1, 2]);
  statistics.set(unit.bn, { mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D, count: y.size / y.shape[3] });
  const scale = tf.mul(store.get(`${unit.bn}.weight`), tf.rsqrt(tf.add(variance, BATCH_NORM_EPS)));
  const normalised = tf.add(tf.mul(tf.sub(y, mean), scale), store.get(`${unit.bn}.bias`)) as tf.Tensor4D;
  return relu ? tf.relu(normalised) : normalised;
}

/**
 * Moves each batch norm's running statistics towards the batch's (PyTorch: running = (1 − m)·running + m·batch,
 * the variance unbiased by n/(n − 1)) and disposes the batch statistics.
 */
export function updateRunningStatistics(store: ParameterStore, statistics: BatchStatistics, momentum = BATCH_NORM_MOMENTUM): void {
  for (const [bn, { mean, variance, count }] of statistics) {
    tf.tidy(() => {
      const runningMean = store.get(`${bn}.running_mean`);
      const runningVar = store.get(`${bn}.running_var`);
      const unbiased = tf.mul(variance, count / Math.max(count - 1, 1));
      runningMean.assign(tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(mean, momentum)));
      runningVar.assign(tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(unbiased, momentum)));
    });
    tf.dispose([mean, variance]);
  }
  statistics.clear();
}

/**
 * conv → batch norm → optional ReLU. With `statistics` (a training forward of a `batch_norm` model) the batch
 * norm uses the batch's statistics; otherwise the running statistics, folded into the conv (see the header).
 */
export function applyConvBn(
  store: ParameterStore,
  unit: ConvBnGeometry,
  x: tf.Tensor4D,
  relu: boolean,
  statistics?: BatchStatistics,
): tf.Tensor4D {
  if (statistics) return applyConvBatchNorm(store, unit, x, relu, statistics);
  const weight = store.get(`${unit.bn}.weight`);
  const runningVar = store.get(`${unit.bn}.running_var`);
  const scale = tf.mul(weight, tf.rsqrt(tf.add(runningVar, BATCH_NORM_EPS)));
  const shift = tf.sub(store.get(`${unit.bn}.bias`), tf.mul(store.get(`${unit.bn}.running_mean`), scale));
  const filter = tf.mul(store.get(`${unit.conv}.weight`), scale) as tf.Tensor4D;
  // One fused kernel for conv + shift (+ ReLU) at inference; tfjs unfuses it under a gradient tape.
  return tf.fused.conv2d({
    x,
    filter,
    strides: unit.stride,
    pad: unit.padding,
    dimRoundingMode: 'floor',
    bias: shift,
    activation: relu ? 'relu' : 'linear',
  });
}

/** One residual block (BasicBlock or Bottleneck): the branch, plus the identity or its downsample, then ReLU. */
export function applyBlock(store: ParameterStore, block: Block, x: tf.Tensor4D, statistics?: BatchStatistics): tf.Tensor4D {
  let y = x;
  block.branch.forEach((unit, i) => {
    y = applyConvBn(store, unit, y, i < block.branch.length - 1, statistics);
  });
  const identity = block.downsample ? applyConvBn(store, block.downsample, x, false, statistics) : x;
  return tf.relu(tf.add(y, identity) as tf.Tensor4D);
}

/**
 * ResNet body on NHWC images → [C2, C3, C4, C5] (outputs of layer1..layer4, strides 4..32). `statistics`:
 * normalise with batch statistics and collect them (BatchNorm2d in training mode; see the header).
 */
export function resnetForward(
  store: ParameterStore,
  backbone: BackboneName,
  images: tf.Tensor4D,
  statistics?: BatchStatistics,
): tf.Tensor4D[] {
  return tf.tidy(() => {
    const stem = applyConvBn(store, STEM, images, true, statistics);
    let x: tf.Tensor4D = tf.maxPool(stem, STEM_POOL.kernel, STEM_POOL.stride, STEM_POOL.padding, 'floor');
    const outputs: tf.Tensor4D[] = [];
    for (const stage of resnetStages(backbone)) {
      for (const block of stage) x = applyBlock(store, block, x, statistics);
      outputs.push(x);
    }
    return outputs;
  });
}

/** The body as ONNX nodes (batch norms folded): NCHW images → [C2, C3, C4, C5]. */
export function exportResnetBody(layers: OnnxLayers, images: string, backbone: BackboneName): string[] {
  const { g } = layers;
  const stem = layers.convBn(images, STEM, true);
  const { kernel, stride, padding } = STEM_POOL;
  let x = g.op('MaxPool', [stem], {
    kernel_shape: [kernel, kernel],
    strides: [stride, stride],
    pads: [padding, padding, padding, padding],
  });
  const outputs: string[] = [];
  for (const stage of resnetStages(backbone)) {
    for (const block of stage) {
      let y = x;
      block.branch.forEach((unit, i) => {
        y = layers.convBn(y, unit, i < block.branch.length - 1);
      });
      const identity = block.downsample ? layers.convBn(x, block.downsample, false) : x;
      x = g.op('Relu', [g.op('Add', [y, identity])]);
    }
    outputs.push(x);
  }
  return outputs;
}
