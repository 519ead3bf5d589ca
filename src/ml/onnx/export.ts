/**
 * The Attribute R-CNN as one ONNX graph, built from the same config and weights as the TensorFlow.js model.
 *
 * - Pre-step, TypeScript: GeneralizedRCNNTransform's resize, normalisation and padding to a multiple of 32, by the
 *   very code of the tfjs engine (src/ml/model/transform.ts), gives the graph's `images` [N, H, W, 3] and
 *   `image_sizes` [N, 2] (each image's (h, w) before padding). The post-step scales the boxes back to each input
 *   image's size (transform.postprocess), also the tfjs engine's code.
 * - The graph: NHWC → NCHW; ResNet body (batch norms folded into the convs); FPN (P2..P6); RPN head; anchors from the
 *   feature maps' sizes; RPN proposal filtering (per-level TopK, decode, clip, small boxes and score threshold,
 *   NonMaxSuppression by level, the post-NMS TopK); MultiScaleRoIAlign (torchvision's LevelMapper, one RoiAlign per
 *   level: `output_half_pixel` = torchvision aligned=False, sampling ratio 2, 7×7, spatial scales 1/4..1/32, exact
 *   because the padded size is a multiple of 32); box head and predictor; postprocess_detections (softmax, per-class
 *   decode, clip, score threshold, NonMaxSuppression per class, TopK); and the attribute heads (softmax for single
 *   kinds, sigmoid for multi kinds) on features pooled again at the final boxes. The box logic is in box-graph.ts.
 * - Outputs: see OUTPUTS. Sets of boxes are padded to a rectangle; `detection_counts` says how many rows are real.
 *
 * Opset 16 (graph.ts): RoiAlign's coordinate_transformation_mode needs it. Dynamic sizes: batch, image height and
 * width, and every box count are symbolic dimensions.
 */
import type { ModelConfig } from '../model/config';
import type { ParameterStore } from '../model/params';
import { BATCH_NORM_EPS, resnetStages, type ConvBn } from '../model/resnet';
import { ANCHOR_ASPECT_RATIOS, ANCHOR_SIZES } from '../model/attribute-rcnn';
import { attributeHeadName, MIN_DETECTION_SIZE, roiSettings } from '../model/roi-heads';
import { MIN_PROPOSAL_SIZE, rpnSettings } from '../model/rpn';
import { AnchorGenerator } from '../ops/anchors';
import { BoxGraph } from './box-graph';
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

/** The graph's inputs: the transformed batch (NHWC, normalised, padded) and each image's size before padding (h, w). */
export const INPUTS = { images: 'images', imageSizes: 'image_sizes' } as const;

/**
 * The graph's outputs, per image the first `detection_counts[n]` rows being its detections, best first (the rest is
 * padding): boxes [N, D, 4] in the resized image's pixels, scores [N, D], labels [N, D] and, per attribute kind,
 * `attribute_<kind>` [N, D, values].
 */
export const OUTPUTS = { boxes: 'boxes', scores: 'scores', labels: 'labels', counts: 'detection_counts' } as const;

/** Bump when the graph changes: cached exports of an older layout are then rebuilt. */
export const EXPORT_FORMAT = 2;
/** MultiScaleRoIAlign pools from P2..P5 (P6 only feeds the RPN). */
const POOLED_LEVELS = 4;
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
    const upsampled = m.g.op('Resize', [inner, '', '', m.g.shape(lateral)], {
      mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor',
    });
    inner = m.g.op('Add', [lateral, upsampled]);
    results.unshift(fpnConv(m, `backbone.fpn.layer_blocks.${i}`, inner, 3));
  }
  results.push(m.g.op('MaxPool', [results[results.length - 1]], { kernel_shape: [1, 1], strides: [2, 2] }));
  return results;
}

/** RPNHead on every level, each flattened as torchvision's concat_box_prediction_layers: [N, A_l] and [N, A_l, 4]. */
function rpnHead(m: ModelGraph, levels: string[]): { logits: string[]; deltas: string[] } {
  const logits: string[] = [];
  const deltas: string[] = [];
  for (const feature of levels) {
    let t = feature;
    for (let i = 0; m.has(`${HEAD}.conv.${i}.0.weight`); i++) t = m.g.op('Relu', [m.plainConv(t, `${HEAD}.conv.${i}.0`, 1, 1)]);
    const nhwc = (x: string) => m.g.op('Transpose', [x], { perm: [0, 2, 3, 1] });
    logits.push(m.g.op('Reshape', [nhwc(m.plainConv(t, `${HEAD}.cls_logits`, 1, 0)), m.g.ints([0, -1])]));
    deltas.push(m.g.op('Reshape', [nhwc(m.plainConv(t, `${HEAD}.bbox_pred`, 1, 0)), m.g.ints([0, -1, 4])]));
  }
  return { logits, deltas };
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
  const count = g.shape(rois, 0, 1);
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

/** Output name of an attribute kind's probabilities. */
export function attributeOutput(kind: string): string {
  return `attribute_${kind}`;
}

/** Box head on the RoIs of boxes [N, K, 4] (pooled from P2..P5) → [N·K, representation]. */
function boxFeatures(m: ModelGraph, boxes: BoxGraph, levels: string[], boxSet: string, channels: number): string {
  const { rois, batchIndices } = boxes.rois(boxSet);
  return boxHead(m, multiScaleRoiAlign(m.g, levels.slice(0, POOLED_LEVELS), rois, batchIndices, channels));
}

/** Anchors of every level (torchvision's AnchorGenerator) for the padded batch of `images` [N, H, W, 3]. */
function anchors(boxes: BoxGraph, images: string, levels: string[]): string[] {
  const paddedSize = boxes.g.shape(images, 1, 3);
  return levels.map((level, l) => boxes.levelAnchors(paddedSize, level, AnchorGenerator.cellAnchors(ANCHOR_SIZES[l], ANCHOR_ASPECT_RATIOS[l])));
}

/** The whole inference graph of the Attribute R-CNN (see the top of this file). */
export function buildModelGraph(config: ModelConfig, weights: WeightSource): Uint8Array {
  const m = new ModelGraph(new GraphBuilder('attribute_rcnn'), weights);
  const { g } = m;
  const boxes = new BoxGraph(g);
  const images = g.input(INPUTS.images, 'float32', ['batch', 'height', 'width', 3]);
  const imageSizes = g.input(INPUTS.imageSizes, 'float32', ['batch', 2]);
  const levels = fpn(m, body(m, g.op('Transpose', [images], { perm: [0, 3, 1, 2] }), config));
  const head = rpnHead(m, levels);
  const upper = g.op('Unsqueeze', [boxes.upperBounds(imageSizes), g.ints([1])]);
  const proposals = boxes.proposals(head.logits, head.deltas, anchors(boxes, images, levels), upper, { ...rpnSettings(config, false), minSize: MIN_PROPOSAL_SIZE });
  const channels = config.fpn_out_channels;
  const x = boxFeatures(m, boxes, levels, proposals.boxes, channels);
  const classLogits = m.linear(x, `${PREDICTOR}.cls_score`);
  const detections = boxes.detections(classLogits, m.linear(x, `${PREDICTOR}.bbox_pred`), proposals, upper, config.num_classes, {
    ...roiSettings(config), minSize: MIN_DETECTION_SIZE,
  });
  g.output(detections.boxes, OUTPUTS.boxes, 'float32', ['batch', 'detections', 4]);
  g.output(detections.scores, OUTPUTS.scores, 'float32', ['batch', 'detections']);
  g.output(detections.labels, OUTPUTS.labels, 'int64', ['batch', 'detections']);
  g.output(detections.counts, OUTPUTS.counts, 'int64', ['batch']);
  if (config.attributes.length > 0) {
    const y = boxFeatures(m, boxes, levels, detections.boxes, channels);
    const perDetection = g.shape(detections.boxes, 0, 2);
    for (const spec of config.attributes) {
      const logits = m.linear(y, attributeHeadName(spec.kind));
      const probabilities = spec.type === 'single' ? g.op('Softmax', [logits], { axis: 1 }) : g.op('Sigmoid', [logits]);
      g.output(g.reshapeTo(probabilities, perDetection, [spec.values.length]), attributeOutput(spec.kind), 'float32', ['batch', 'detections', spec.values.length]);
    }
  }
  return g.encode('Attribute R-CNN, the whole inference graph after the transform (src/ml/onnx/export.ts)');
}
