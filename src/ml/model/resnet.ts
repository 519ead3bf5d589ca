/**
 * ResNet body of the detector, as torchvision's `resnet_fpn_backbone` builds it (torchvision 0.14):
 * torchvision.models.resnet{18,34,50,101} with FrozenBatchNorm2d, without avgpool/fc, returning the
 * outputs of layer1..layer4 (IntermediateLayerGetter, returned_layers [1, 2, 3, 4]).
 *
 * - BasicBlock (18/34) and Bottleneck (50/101, "v1.5": the stride sits on the 3x3 conv).
 * - Padding is PyTorch's symmetric explicit padding (7x7/2 pad 3, 3x3 pad 1, max-pool 3x3/2 pad 1);
 *   tfjs 'same' would pad asymmetrically at stride 2.
 * - FrozenBatchNorm2d (eps 1e-5 in torchvision 0.14): y = x·scale + (b − mean·scale), scale = w·rsqrt(var + eps).
 *   It is folded into the preceding conv's filter (conv(x, W·scale) + shift): the same function up to
 *   float rounding, one elementwise pass fewer, and gradients still reach W.
 * - Trainable stages as torchvision's _resnet_fpn_extractor: the first `trainable_backbone_layers` of
 *   [layer4, layer3, layer2, layer1, conv1] (bn1 too when 5; frozen batch norms are buffers anyway).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackboneName, ModelConfig } from './config';
import { ParameterSpec, ParameterStore } from './params';

export const FROZEN_BATCH_NORM_EPS = 1e-5;
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
interface ConvBn {
  conv: string;
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

interface Block {
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

/** torchvision: layers_to_train = ["layer4", "layer3", "layer2", "layer1", "conv1"][:n] (+ "bn1" when n = 5). */
export function isTrainableBodyParameter(name: string, trainableLayers: number): boolean {
  const layers = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'].slice(0, trainableLayers);
  if (trainableLayers === 5) layers.push('bn1');
  const local = name.startsWith(`${BODY}.`) ? name.slice(BODY.length + 1) : name;
  return layers.some((layer) => local.startsWith(layer));
}

const BN_BUFFERS: [string, number][] = [['weight', 1], ['bias', 0], ['running_mean', 0], ['running_var', 1]];

function convBnSpecs(unit: ConvBn, trainableLayers: number): ParameterSpec[] {
  const weight = `${unit.conv}.weight`;
  return [
    {
      name: weight,
      torchShape: [unit.outChannels, unit.inChannels, unit.kernel, unit.kernel],
      layout: 'conv',
      init: { kind: 'kaiming_normal_fan_out' },
      trainable: isTrainableBodyParameter(weight, trainableLayers),
    },
    // FrozenBatchNorm2d registers these as buffers (identity at init): never trained.
    ...BN_BUFFERS.map(([buffer, value]): ParameterSpec => ({
      name: `${unit.bn}.${buffer}`,
      torchShape: [unit.outChannels],
      layout: 'plain',
      init: { kind: 'constant', value },
      trainable: false,
    })),
  ];
}

/** The ResNet body's parameters with torchvision's fresh init, in state_dict order. */
export function resnetParameterSpecs(config: Pick<ModelConfig, 'backbone' | 'trainable_backbone_layers'>): ParameterSpec[] {
  const units: ConvBn[] = [STEM];
  for (const stage of resnetStages(config.backbone)) {
    for (const block of stage) {
      units.push(...block.branch);
      if (block.downsample) units.push(block.downsample);
    }
  }
  return units.flatMap((unit) => convBnSpecs(unit, config.trainable_backbone_layers));
}

/** conv → FrozenBatchNorm2d (folded, see the header) → optional ReLU. */
function applyConvBn(store: ParameterStore, unit: ConvBn, x: tf.Tensor4D, relu: boolean): tf.Tensor4D {
  const weight = store.get(`${unit.bn}.weight`);
  const runningVar = store.get(`${unit.bn}.running_var`);
  const scale = tf.mul(weight, tf.rsqrt(tf.add(runningVar, FROZEN_BATCH_NORM_EPS)));
  const shift = tf.sub(store.get(`${unit.bn}.bias`), tf.mul(store.get(`${unit.bn}.running_mean`), scale));
  const filter = tf.mul(store.get(`${unit.conv}.weight`), scale) as tf.Tensor4D;
  // One fused kernel for conv + shift (+ ReLU) at inference; tfjs unfuses it under a gradient tape.
  return tf.fused.conv2d({
    x, filter, strides: unit.stride, pad: unit.padding, dimRoundingMode: 'floor', bias: shift, activation: relu ? 'relu' : 'linear',
  });
}

function applyBlock(store: ParameterStore, block: Block, x: tf.Tensor4D): tf.Tensor4D {
  let y = x;
  block.branch.forEach((unit, i) => {
    y = applyConvBn(store, unit, y, i < block.branch.length - 1);
  });
  const identity = block.downsample ? applyConvBn(store, block.downsample, x, false) : x;
  return tf.relu(tf.add(y, identity) as tf.Tensor4D);
}

/** ResNet body on NHWC images → [C2, C3, C4, C5] (outputs of layer1..layer4, strides 4..32). */
export function resnetForward(store: ParameterStore, backbone: BackboneName, images: tf.Tensor4D): tf.Tensor4D[] {
  return tf.tidy(() => {
    const stem = applyConvBn(store, STEM, images, true);
    let x: tf.Tensor4D = tf.maxPool(stem, 3, 2, 1, 'floor');
    const outputs: tf.Tensor4D[] = [];
    for (const stage of resnetStages(backbone)) {
      for (const block of stage) x = applyBlock(store, block, x);
      outputs.push(x);
    }
    return outputs;
  });
}
