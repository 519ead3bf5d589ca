/**
 * Feature Pyramid Network on the ResNet body (torchvision.ops.FeaturePyramidNetwork with
 * LastLevelMaxPool, as built by torchvision 0.14's resnet_fpn_backbone / BackboneWithFPN):
 *
 *   inner_i = conv1x1(C_i)                       (backbone.fpn.inner_blocks.<i>.0)
 *   last    = inner_3;  P5 = conv3x3(last)        (backbone.fpn.layer_blocks.<i>.0, pad 1)
 *   for i = 2..0: last = inner_i + nearest_upsample(last, size of inner_i);  P_{i+2} = conv3x3(last)
 *   P6 = max_pool2d(P5, kernel 1, stride 2)       ("pool")
 *
 * Architecture v2 (fasterrcnn_resnet50_fpn_v2, norm_layer=nn.BatchNorm2d): every FPN conv has no bias and is
 * followed by a BatchNorm2d (`<block>.<i>.0` conv, `<block>.<i>.1` norm), trained with batch statistics.
 *
 * F.interpolate(mode="nearest", size=lateral) reads source index floor(dst · in/out). For a lateral map of
 * size L under a top map of size ceil(L/2) (always the case here: every stride-2 stage maps L to ceil(L/2))
 * that is exactly floor(dst/2), i.e. repeat each row/column twice and crop to L; done with
 * reshape/broadcast/slice so the gradient needs only basic kernels. Other size pairs use resizeNearestNeighbor,
 * whose (alignCorners=false, halfPixelCenters=false) rule is the same floor(dst · in/out).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config';
import { conv2d, defineParameters, ParameterSpec, ParameterStore, SeededRandom } from './params';
import {
  applyConvBn,
  batchNormSpecs,
  resnetForward,
  resnetParameterSpecs,
  stageChannels,
  type BatchStatistics,
  type ConvBnGeometry,
} from './resnet';
import type { OnnxLayers } from '../onnx/layers';

const FPN = 'backbone.fpn';

/** Names of the FPN outputs, as torchvision's OrderedDict keys. */
export const FEATURE_NAMES = ['0', '1', '2', '3', 'pool'] as const;

/** `architecture` absent: v1. */
type FpnConfig = Pick<ModelConfig, 'backbone' | 'fpn_out_channels'> & Partial<Pick<ModelConfig, 'architecture'>>;

/**
 * FeaturePyramidNetwork + LastLevelMaxPool: its parameter names and init, its tfjs forward pass and its ONNX export.
 * v2's norm (a bias-free conv then BatchNorm2d) comes from the config's architecture.
 */
export class FeaturePyramid {
  readonly channels: number;
  private readonly inChannels: number[];
  private readonly normed: boolean;

  constructor(config: FpnConfig) {
    this.channels = config.fpn_out_channels;
    this.inChannels = stageChannels(config.backbone);
    this.normed = config.architecture === 'v2';
  }

  /** FeaturePyramidNetwork.__init__: kaiming_uniform_(weight, a=1), bias 0; always trainable. */
  parameterSpecs(): ParameterSpec[] {
    const out = this.channels;
    const conv = (block: string, shape: number[]): ParameterSpec[] => [
      { name: `${block}.0.weight`, torchShape: shape, layout: 'conv', init: { kind: 'kaiming_uniform', a: 1 }, trainable: true },
      ...(this.normed
        ? batchNormSpecs(`${block}.1`, out, true)
        : [
            {
              name: `${block}.0.bias`,
              torchShape: [out],
              layout: 'plain',
              init: { kind: 'constant', value: 0 },
              trainable: true,
            } satisfies ParameterSpec,
          ]),
    ];
    return [
      ...this.inChannels.flatMap((c, i) => conv(innerBlock(i), [out, c, 1, 1])),
      ...this.inChannels.flatMap((_, i) => conv(layerBlock(i), [out, out, 3, 3])),
    ];
  }

  /** One FPN conv unit of `block` (`<block>.0` conv, `<block>.1` norm in v2). */
  private unit(block: string, kernel: number): ConvBnGeometry {
    return { conv: `${block}.0`, bn: `${block}.1`, stride: 1, padding: (kernel - 1) / 2 };
  }

  /**
   * One FPN conv: with a bias (v1), or bias-free and batch-normalised (v2); `statistics` (a training forward)
   * normalises v2's with the batch's statistics and collects them.
   */
  private convForward(store: ParameterStore, block: string, x: tf.Tensor4D, kernel: number, statistics?: BatchStatistics): tf.Tensor4D {
    const unit = this.unit(block, kernel);
    if (!this.normed) return conv2d(store, unit.conv, x, unit.stride, unit.padding);
    return applyConvBn(store, unit, x, false, statistics);
  }

  /** FPN on [C2..C5] → [P2, P3, P4, P5, P6]. */
  forward(store: ParameterStore, features: tf.Tensor4D[], statistics?: BatchStatistics): tf.Tensor4D[] {
    return tf.tidy(() => {
      const last = features.length - 1;
      let inner = this.convForward(store, innerBlock(last), features[last], 1, statistics);
      const results = [this.convForward(store, layerBlock(last), inner, 3, statistics)];
      for (let i = last - 1; i >= 0; i--) {
        const lateral = this.convForward(store, innerBlock(i), features[i], 1, statistics);
        inner = tf.add(lateral, upsampleNearest(inner, [lateral.shape[1], lateral.shape[2]]));
        results.unshift(this.convForward(store, layerBlock(i), inner, 3, statistics));
      }
      results.push(lastLevelMaxPool(results[results.length - 1]));
      return results;
    });
  }

  private convOnnx(layers: OnnxLayers, block: string, x: string, kernel: number): string {
    const unit = this.unit(block, kernel);
    return this.normed ? layers.convBn(x, unit, false) : layers.plainConv(x, unit.conv, unit.stride, unit.padding, true);
  }

  /**
   * The same as ONNX nodes on NCHW [C2..C5] → [P2..P6]. The top-down path is F.interpolate(mode="nearest") to the
   * lateral's size: ONNX Resize `asymmetric` + `floor` reads source index floor(dst · in/out), the same rule.
   */
  exportOnnx(layers: OnnxLayers, features: string[]): string[] {
    const { g } = layers;
    const last = features.length - 1;
    let inner = this.convOnnx(layers, innerBlock(last), features[last], 1);
    const results = [this.convOnnx(layers, layerBlock(last), inner, 3)];
    for (let i = last - 1; i >= 0; i--) {
      const lateral = this.convOnnx(layers, innerBlock(i), features[i], 1);
      const upsampled = g.op('Resize', [inner, '', '', g.shape(lateral)], {
        mode: 'nearest',
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      });
      inner = g.op('Add', [lateral, upsampled]);
      results.unshift(this.convOnnx(layers, layerBlock(i), inner, 3));
    }
    // LastLevelMaxPool: max_pool2d(kernel 1, stride 2).
    results.push(g.op('MaxPool', [results[results.length - 1]], { kernel_shape: [1, 1], strides: [2, 2] }));
    return results;
  }
}

const innerBlock = (i: number) => `${FPN}.inner_blocks.${i}`;
const layerBlock = (i: number) => `${FPN}.layer_blocks.${i}`;

export type BackboneConfig = Pick<ModelConfig, 'backbone' | 'fpn_out_channels' | 'trainable_backbone_layers' | 'norm_layer'> &
  Partial<Pick<ModelConfig, 'architecture'>>;

/** Every backbone parameter (ResNet body, then FPN) in torchvision's state_dict order. */
export function backboneParameterSpecs(config: BackboneConfig): ParameterSpec[] {
  return [...resnetParameterSpecs(config), ...new FeaturePyramid(config).parameterSpecs()];
}

/** Creates the backbone's parameters with torchvision's fresh init drawn from `random`. */
export function defineBackboneParameters(store: ParameterStore, config: BackboneConfig, random: SeededRandom): void {
  defineParameters(store, backboneParameterSpecs(config), random);
}

/** F.interpolate(x, size=[h, w], mode="nearest") in NHWC. */
export function upsampleNearest(x: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [outH, outW] = size;
  if (Math.ceil(outH / 2) !== h || Math.ceil(outW / 2) !== w) {
    return tf.image.resizeNearestNeighbor(x, size, false, false);
  }
  return tf.tidy(() => {
    // Rows then columns, each repeated by a broadcasting product with ones (exact). Its gradient is a sum over
    // the broadcast axis, fast everywhere; stacking copies had an Unpack gradient (~50 ms per level on wasm)
    // and broadcastTo a Tile gradient that tfjs lacks beyond rank 4.
    const pair = tf.ones([1, 2, 1]);
    const rows = tf.reshape(tf.mul(tf.reshape(x, [n * h, 1, w * c]), pair), [n, 2 * h, w, c]);
    const repeated = tf.reshape(tf.mul(tf.reshape(rows, [n * 2 * h * w, 1, c]), pair), [n, 2 * h, 2 * w, c]) as tf.Tensor4D;
    return outH === 2 * h && outW === 2 * w ? repeated : tf.slice(repeated, [0, 0, 0, 0], [n, outH, outW, c]);
  });
}

/**
 * LastLevelMaxPool: max_pool2d(kernel 1, stride 2, padding 0) = every other row and column, output
 * ceil(H/2) x ceil(W/2). Built from pad/reshape/slice because tfjs has no StridedSlice gradient.
 */
export function lastLevelMaxPool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const outH = Math.ceil(h / 2);
    const outW = Math.ceil(w / 2);
    const even =
      h % 2 === 0 && w % 2 === 0
        ? x
        : tf.pad(x, [
            [0, 0],
            [0, outH * 2 - h],
            [0, outW * 2 - w],
            [0, 0],
          ]);
    const pairs = tf.reshape(even, [n, outH, 2, outW, 2 * c]);
    return tf.reshape(tf.slice(pairs, [0, 0, 0, 0, 0], [n, outH, 1, outW, c]), [n, outH, outW, c]);
  });
}

/**
 * The detector's backbone: NHWC normalised images (the transform's padded batch) → [P2, P3, P4, P5, P6]
 * NHWC feature maps with fpn_out_channels channels (torchvision keys '0', '1', '2', '3', 'pool').
 */
export function backboneForward(
  store: ParameterStore,
  config: FpnConfig & Partial<Pick<ModelConfig, 'norm_layer'>>,
  images: tf.Tensor4D,
  statistics?: BatchStatistics,
): tf.Tensor4D[] {
  // Batch statistics for what trains with nn.BatchNorm2d: v2's FPN always, the body unless its norm is frozen.
  const bodyStatistics = config.norm_layer === 'frozen_batch_norm' ? undefined : statistics;
  return tf.tidy(() =>
    new FeaturePyramid(config).forward(store, resnetForward(store, config.backbone, images, bodyStatistics), statistics),
  );
}
