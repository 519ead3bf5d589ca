/**
 * The Attribute R-CNN as ONNX graphs, built from the same config and weights as the TensorFlow.js model.
 *
 * The split (what ONNX Runtime runs, what stays in TypeScript):
 * - Pre-step, TypeScript: GeneralizedRCNNTransform (resize, normalise, pad to a multiple of 32) by the very code of
 *   the tfjs engine (src/ml/model/transform.ts), giving the NHWC batch the features graph takes.
 * - `features` graph: NHWC → NCHW, ResNet body (batch norms folded into the convs), FPN (P2..P6) and the RPN head:
 *   outputs P2..P5, objectness logits [N, A_total] and box deltas [N, A_total, 4] in torchvision's
 *   (level, y, x, anchor) order.
 * - Between, TypeScript (cheap box logic, shared with the tfjs engine): anchors, RPN proposal filtering (per-level
 *   top-k, decode, clip, NMS by level), postprocess_detections (per-class decode, score threshold, per-class NMS).
 * - `roi-heads` graph: MultiScaleRoIAlign (torchvision's LevelMapper, one ONNX RoiAlign per level:
 *   `output_half_pixel` = torchvision aligned=False, sampling ratio 2, 7×7, spatial scales 1/4..1/32), box head,
 *   predictor and the attribute heads (softmax for single kinds, sigmoid for multi kinds). It runs once on the
 *   proposals (class logits, box regression) and once on the final boxes (their attributes, re-pooled there).
 *
 * Dynamic sizes: batch, image height/width and RoI count are symbolic dimensions.
 */
import type { ModelConfig } from '../model/config';
import type { ParameterStore } from '../model/params';
import { BATCH_NORM_EPS, resnetStages, type ConvBn } from '../model/resnet';
import { attributeHeadName } from '../model/roi-heads';
import { GraphBuilder } from './graph';

/** Where the exporter reads tensors: PyTorch layout (OIHW convs, [out, in] linears), as in the state_dict. */
export interface WeightSource {
  has(name: string): boolean;
  values(name: string): Float32Array;
  shape(name: string): number[];
}

export function storeWeights(store: ParameterStore): WeightSource {
  return {
    has: (name) => store.has(name),
    values: (name) => store.torchValues(name),
    shape: (name) => store.info(name).torchShape,
  };
}

export interface OnnxGraphs {
  features: Uint8Array;
  roiHeads: Uint8Array;
}

/** Bump when the graphs change: cached exports of an older layout are then rebuilt. */
export const EXPORT_FORMAT = 1;
export const FEATURE_LEVELS = 4;
const POOL_SIZE = 7;
const SAMPLING_RATIO = 2;
const HEAD = 'rpn.head';
const BOX_HEAD = 'roi_heads.box_head';
const PREDICTOR = 'roi_heads.box_predictor';

class ModelGraph {
  constructor(readonly g: GraphBuilder, private readonly weights: WeightSource) {}

  private conv(x: string, weight: string, bias: string | undefined, shape: number[], stride: number, padding: number): string {
    const [, , kh, kw] = shape;
    return this.g.op('Conv', bias ? [x, weight, bias] : [x, weight], {
      kernel_shape: [kh, kw], strides: [stride, stride], pads: [padding, padding, padding, padding],
    });
  }

  /** nn.Conv2d (bias when the weights have one). */
  plainConv(x: string, prefix: string, stride: number, padding: number): string {
    const weight = this.g.floats(`${prefix}.weight`, this.weights.values(`${prefix}.weight`), this.weights.shape(`${prefix}.weight`));
    const bias = this.weights.has(`${prefix}.bias`)
      ? this.g.floats(`${prefix}.bias`, this.weights.values(`${prefix}.bias`), this.weights.shape(`${prefix}.bias`))
      : undefined;
    return this.conv(x, weight, bias, this.weights.shape(`${prefix}.weight`), stride, padding);
  }

  /**
   * conv → batch norm (running statistics) → optional ReLU, the norm folded into the conv as the tfjs engine folds
   * it: scale = w·rsqrt(var + eps) in float32, filter·scale, bias = b − mean·scale.
   */
  convBn(x: string, unit: Pick<ConvBn, 'conv' | 'bn' | 'stride' | 'padding'>, relu: boolean): string {
    const shape = this.weights.shape(`${unit.conv}.weight`);
    const filter = Float32Array.from(this.weights.values(`${unit.conv}.weight`));
    const [w, b, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => this.weights.values(`${unit.bn}.${k}`));
    const perOutput = filter.length / shape[0];
    const shift = new Float32Array(shape[0]);
    for (let o = 0; o < shape[0]; o++) {
      const scale = Math.fround(w[o] * Math.fround(1 / Math.fround(Math.sqrt(Math.fround(variance[o] + BATCH_NORM_EPS)))));
      shift[o] = Math.fround(b[o] - Math.fround(mean[o] * scale));
      for (let k = o * perOutput; k < (o + 1) * perOutput; k++) filter[k] = Math.fround(filter[k] * scale);
    }
    const y = this.conv(x, this.g.floats(`${unit.conv}.weight_folded`, filter, shape), this.g.floats(`${unit.bn}.shift_folded`, shift, [shape[0]]),
      shape, unit.stride, unit.padding);
    return relu ? this.g.op('Relu', [y]) : y;
  }

  /** nn.Linear: Gemm with the [out, in] weight transposed. */
  linear(x: string, prefix: string): string {
    const weight = this.g.floats(`${prefix}.weight`, this.weights.values(`${prefix}.weight`), this.weights.shape(`${prefix}.weight`));
    const bias = this.g.floats(`${prefix}.bias`, this.weights.values(`${prefix}.bias`), this.weights.shape(`${prefix}.bias`));
    return this.g.op('Gemm', [x, weight, bias], { transB: 1 });
  }

  has(name: string): boolean {
    return this.weights.has(name);
  }
}

/** ResNet body: NCHW images → [C2, C3, C4, C5]. */
function body(m: ModelGraph, images: string, config: ModelConfig): string[] {
  const stem = m.convBn(images, { conv: 'backbone.body.conv1', bn: 'backbone.body.bn1', stride: 2, padding: 3 }, true);
  let x = m.g.op('MaxPool', [stem], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const outputs: string[] = [];
  for (const stage of resnetStages(config.backbone)) {
    for (const block of stage) {
      let y = x;
      block.branch.forEach((unit, i) => {
        y = m.convBn(y, unit, i < block.branch.length - 1);
      });
      const identity = block.downsample ? m.convBn(x, block.downsample, false) : x;
      x = m.g.op('Relu', [m.g.op('Add', [y, identity])]);
    }
    outputs.push(x);
  }
  return outputs;
}

/** One FPN conv: with bias (v1), or bias-free with a folded batch norm (v2). */
function fpnConv(m: ModelGraph, block: string, x: string, kernel: number): string {
  const padding = (kernel - 1) / 2;
  if (!m.has(`${block}.1.weight`)) return m.plainConv(x, `${block}.0`, 1, padding);
  return m.convBn(x, { conv: `${block}.0`, bn: `${block}.1`, stride: 1, padding }, false);
}

/**
 * FeaturePyramidNetwork + LastLevelMaxPool → [P2..P6]. The top-down path is F.interpolate(mode="nearest") to the
 * lateral's size: ONNX Resize `asymmetric` + `floor` reads source index floor(dst · in/out), the same rule.
 */
function fpn(m: ModelGraph, features: string[]): string[] {
  const last = features.length - 1;
  let inner = fpnConv(m, `backbone.fpn.inner_blocks.${last}`, features[last], 1);
  const results = [fpnConv(m, `backbone.fpn.layer_blocks.${last}`, inner, 3)];
  for (let i = last - 1; i >= 0; i--) {
    const lateral = fpnConv(m, `backbone.fpn.inner_blocks.${i}`, features[i], 1);
    const upsampled = m.g.op('Resize', [inner, '', '', m.g.op('Shape', [lateral])], {
      mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor',
    });
    inner = m.g.op('Add', [lateral, upsampled]);
    results.unshift(fpnConv(m, `backbone.fpn.layer_blocks.${i}`, inner, 3));
  }
  results.push(m.g.op('MaxPool', [results[results.length - 1]], { kernel_shape: [1, 1], strides: [2, 2] }));
  return results;
}

/** RPNHead on every level, flattened as torchvision's concat_box_prediction_layers: [N, A_total] and [N, A_total, 4]. */
function rpnHead(m: ModelGraph, levels: string[]): { objectness: string; deltas: string } {
  const logits: string[] = [];
  const deltas: string[] = [];
  for (const feature of levels) {
    let t = feature;
    for (let i = 0; m.has(`${HEAD}.conv.${i}.0.weight`); i++) t = m.g.op('Relu', [m.plainConv(t, `${HEAD}.conv.${i}.0`, 1, 1)]);
    const nhwc = (x: string) => m.g.op('Transpose', [x], { perm: [0, 2, 3, 1] });
    logits.push(m.g.op('Reshape', [nhwc(m.plainConv(t, `${HEAD}.cls_logits`, 1, 0)), m.g.ints([0, -1])]));
    deltas.push(m.g.op('Reshape', [nhwc(m.plainConv(t, `${HEAD}.bbox_pred`, 1, 0)), m.g.ints([0, -1, 4])]));
  }
  return { objectness: m.g.op('Concat', logits, { axis: 1 }), deltas: m.g.op('Concat', deltas, { axis: 1 }) };
}

export function buildFeaturesGraph(config: ModelConfig, weights: WeightSource): Uint8Array {
  const m = new ModelGraph(new GraphBuilder('attribute_rcnn_features'), weights);
  const images = m.g.input('images', 'float32', ['batch', 'height', 'width', 3]);
  const levels = fpn(m, body(m, m.g.op('Transpose', [images], { perm: [0, 3, 1, 2] }), config));
  const channels = config.fpn_out_channels;
  levels.slice(0, FEATURE_LEVELS).forEach((level, i) => m.g.output(level, `p${i + 2}`, 'float32', ['batch', channels, `p${i + 2}_height`, `p${i + 2}_width`]));
  const head = rpnHead(m, levels);
  m.g.output(head.objectness, 'objectness', 'float32', ['batch', 'anchors']);
  m.g.output(head.deltas, 'deltas', 'float32', ['batch', 'anchors', 4]);
  return m.g.encode('Attribute R-CNN: ResNet-FPN body and RPN head (src/ml/onnx/export.ts)');
}

/**
 * torchvision's LevelMapper in float32: floor(4 + log2(√area / 224) + 1e-6) clamped to [2, 5], minus 2 → [R].
 * log2 as Log(x) / ln 2 (ONNX has no Log2).
 */
function roiLevels(g: GraphBuilder, rois: string): string {
  const [x1, y1, x2, y2] = g.node('Split', [rois], { axis: 1 }, 4);
  const area = g.op('Mul', [g.op('Sub', [x2, x1]), g.op('Sub', [y2, y1])]);
  const ratio = g.op('Div', [g.op('Sqrt', [area]), g.scalar(224)]);
  const log2 = g.op('Div', [g.op('Log', [ratio]), g.scalar(Math.LN2)]);
  const level = g.op('Floor', [g.op('Add', [g.op('Add', [g.scalar(4), log2]), g.scalar(1e-6)])]);
  return g.op('Reshape', [g.op('Sub', [g.op('Clip', [level, g.scalar(2), g.scalar(5)]), g.scalar(2)]), g.ints([-1])]);
}

/**
 * MultiScaleRoIAlign over P2..P5: each RoI pooled at its level (RoiAlign on the level's RoIs), written back at the
 * RoI's row → [R, C, 7, 7].
 */
function multiScaleRoiAlign(g: GraphBuilder, levels: string[], rois: string, batchIndices: string, channels: number): string {
  const level = roiLevels(g, rois);
  const count = g.op('Slice', [g.op('Shape', [rois]), g.ints([0]), g.ints([1])]);
  let pooled = g.op('Expand', [g.scalar(0), g.op('Concat', [count, g.ints([channels, POOL_SIZE, POOL_SIZE])], { axis: 0 })]);
  levels.forEach((feature, l) => {
    const rows = g.op('Reshape', [g.op('NonZero', [g.op('Equal', [level, g.scalar(l)])]), g.ints([-1])]);
    const aligned = g.op('RoiAlign', [feature, g.op('Gather', [rois, rows], { axis: 0 }), g.op('Gather', [batchIndices, rows], { axis: 0 })], {
      mode: 'avg', output_height: POOL_SIZE, output_width: POOL_SIZE, sampling_ratio: SAMPLING_RATIO,
      spatial_scale: { float: 1 / 2 ** (l + 2) }, coordinate_transformation_mode: 'output_half_pixel',
    });
    pooled = g.op('ScatterND', [pooled, g.op('Unsqueeze', [rows, g.ints([1])]), aligned]);
  });
  return pooled;
}

/** TwoMLPHead (v1) or FastRCNNConvFCHead (v2) on pooled NCHW RoI features → [R, representation]. */
function boxHead(m: ModelGraph, pooled: string): string {
  if (m.has(`${BOX_HEAD}.fc6.weight`)) {
    const fc6 = m.g.op('Relu', [m.linear(m.g.op('Flatten', [pooled], { axis: 1 }), `${BOX_HEAD}.fc6`)]);
    return m.g.op('Relu', [m.linear(fc6, `${BOX_HEAD}.fc7`)]);
  }
  let x = pooled;
  for (let i = 0; m.has(`${BOX_HEAD}.${i}.0.weight`); i++) {
    x = m.convBn(x, { conv: `${BOX_HEAD}.${i}.0`, bn: `${BOX_HEAD}.${i}.1`, stride: 1, padding: 1 }, true);
  }
  // FastRCNNConvFCHead: four conv blocks, Flatten (index 4), then the fc at index 5.
  return m.g.op('Relu', [m.linear(m.g.op('Flatten', [x], { axis: 1 }), `${BOX_HEAD}.5`)]);
}

/** Output name of an attribute kind's probabilities in the roi-heads graph. */
export function attributeOutput(kind: string): string {
  return `attribute_${kind}`;
}

export function buildRoiHeadsGraph(config: ModelConfig, weights: WeightSource): Uint8Array {
  const m = new ModelGraph(new GraphBuilder('attribute_rcnn_roi_heads'), weights);
  const channels = config.fpn_out_channels;
  const levels = Array.from({ length: FEATURE_LEVELS }, (_, i) => m.g.input(`p${i + 2}`, 'float32', ['batch', channels, `p${i + 2}_height`, `p${i + 2}_width`]));
  const rois = m.g.input('rois', 'float32', ['rois', 4]);
  const batchIndices = m.g.input('batch_indices', 'int64', ['rois']);
  const x = boxHead(m, multiScaleRoiAlign(m.g, levels, rois, batchIndices, channels));
  m.g.output(m.linear(x, `${PREDICTOR}.cls_score`), 'class_logits', 'float32', ['rois', config.num_classes]);
  m.g.output(m.linear(x, `${PREDICTOR}.bbox_pred`), 'box_regression', 'float32', ['rois', config.num_classes * 4]);
  for (const spec of config.attributes) {
    const logits = m.linear(x, attributeHeadName(spec.kind));
    const probabilities = spec.type === 'single' ? m.g.op('Softmax', [logits], { axis: 1 }) : m.g.op('Sigmoid', [logits]);
    m.g.output(probabilities, attributeOutput(spec.kind), 'float32', ['rois', spec.values.length]);
  }
  return m.g.encode('Attribute R-CNN: MultiScaleRoIAlign, box head, predictor and attribute heads (src/ml/onnx/export.ts)');
}

export function exportGraphs(config: ModelConfig, weights: WeightSource): OnnxGraphs {
  return { features: buildFeaturesGraph(config, weights), roiHeads: buildRoiHeadsGraph(config, weights) };
}
