/**
 * The modules of the RoI heads that hold layers, each with its state_dict names, init, tfjs forward pass and ONNX
 * export (torchvision 0.14 `models/detection/faster_rcnn.py` and `ops/poolers.py`):
 * - RoiPooler: MultiScaleRoIAlign over P2–P5 (featmap_names '0'..'3'), 7×7, sampling ratio 2;
 * - the box head: TwoMLPHead (`roi_heads.box_head.fc6`, `fc7`, ReLU) in architecture v1, FastRCNNConvFCHead in v2
 *   (`roi_heads.box_head.<0-3>.0` 3×3 convs without bias, `.1` BatchNorm2d, ReLU; flatten; `roi_heads.box_head.5`
 *   fc + ReLU), its batch norms trained with the RoIs' batch statistics;
 * - BoxPredictor: FastRCNNPredictor (`roi_heads.box_predictor.cls_score`, `bbox_pred`) and one linear head
 *   `roi_heads.box_predictor.<kind>_score` per attribute kind of the config.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttributeSpec, ModelConfig } from './config';
import { linear, type ParameterSpec, type ParameterStore } from './params';
import { applyConvBn, batchNormSpecs, type BatchStatistics, type ConvBn } from './resnet';
import { LEVEL_MAPPER, multiScaleRoiAlign } from '../ops/roi-align';
import type { GraphBuilder } from '../onnx/graph';
import type { OnnxLayers } from '../onnx/layers';

const BOX_HEAD = 'roi_heads.box_head';
const PREDICTOR = 'roi_heads.box_predictor';

/** nn.Linear's parameters with its default init. */
function linearSpecs(prefix: string, outFeatures: number, inFeatures: number): ParameterSpec[] {
  return [
    {
      name: `${prefix}.weight`,
      torchShape: [outFeatures, inFeatures],
      layout: 'linear',
      init: { kind: 'torch_default_weight' },
      trainable: true,
    },
    {
      name: `${prefix}.bias`,
      torchShape: [outFeatures],
      layout: 'plain',
      init: { kind: 'torch_default_bias', fanIn: inFeatures },
      trainable: true,
    },
  ];
}

/** MultiScaleRoIAlign: the levels it pools from, its output size and sampling ratio. */
export class RoiPooler {
  /** P2..P5 (P6 only feeds the RPN); P2 is level 2 (stride 4). */
  readonly levels = 4;
  readonly firstLevel = 2;
  readonly outputSize = 7;
  readonly samplingRatio = 2;

  /** Pooled features of one RoI per channel (outputSize²). */
  get binsPerChannel(): number {
    return this.outputSize * this.outputSize;
  }

  /** Features [P2..P6] NHWC and boxes per image → [Σ K_i, 7, 7, C]. */
  pool(features: tf.Tensor4D[], boxesPerImage: Float32Array[], imageSizes: [number, number][]): tf.Tensor4D {
    return tf.tidy(() => {
      const boxes = boxesPerImage.map((b) => tf.tensor2d(b, [b.length / 4, 4]));
      return multiScaleRoiAlign(features.slice(0, this.levels), boxes, imageSizes, this.outputSize, this.samplingRatio);
    });
  }

  /**
   * torchvision's LevelMapper in float32: floor(4 + log2(√area / 224) + 1e-6) clamped to the pooled levels, minus the
   * first → [R]. log2 as Log(x) / ln 2 (ONNX has no Log2).
   */
  private roiLevels(g: GraphBuilder, rois: string): string {
    const { canonicalScale, canonicalLevel, eps } = LEVEL_MAPPER;
    const [x1, y1, x2, y2] = g.node('Split', [rois], { axis: 1 }, 4);
    const area = g.op('Mul', [g.op('Sub', [x2, x1]), g.op('Sub', [y2, y1])]);
    const ratio = g.op('Div', [g.op('Sqrt', [area]), g.scalar(canonicalScale)]);
    const log2 = g.op('Div', [g.op('Log', [ratio]), g.scalar(Math.LN2)]);
    const level = g.op('Floor', [g.op('Add', [g.op('Add', [g.scalar(canonicalLevel), log2]), g.scalar(eps)])]);
    const clamped = g.op('Clip', [level, g.scalar(this.firstLevel), g.scalar(this.firstLevel + this.levels - 1)]);
    return g.op('Reshape', [g.op('Sub', [clamped, g.scalar(this.firstLevel)]), g.ints([-1])]);
  }

  /**
   * The same as ONNX nodes: each RoI [R, 4] pooled at its level (RoiAlign with `output_half_pixel`, torchvision's
   * aligned=False, on the level's RoIs; spatial scale exact because the padded size is a multiple of 32), written back
   * at the RoI's row → [R, C, 7, 7].
   */
  exportOnnx(g: GraphBuilder, features: string[], rois: string, batchIndices: string, channels: number): string {
    const level = this.roiLevels(g, rois);
    const count = g.shape(rois, 0, 1);
    const size = this.outputSize;
    let pooled = g.op('Expand', [g.scalar(0), g.op('Concat', [count, g.ints([channels, size, size])], { axis: 0 })]);
    features.slice(0, this.levels).forEach((feature, l) => {
      const rows = g.op('Reshape', [g.op('NonZero', [g.op('Equal', [level, g.scalar(l)])]), g.ints([-1])]);
      const aligned = g.op(
        'RoiAlign',
        [feature, g.op('Gather', [rois, rows], { axis: 0 }), g.op('Gather', [batchIndices, rows], { axis: 0 })],
        {
          mode: 'avg',
          output_height: size,
          output_width: size,
          sampling_ratio: this.samplingRatio,
          spatial_scale: { float: 1 / 2 ** (l + this.firstLevel) },
          coordinate_transformation_mode: 'output_half_pixel',
        },
      );
      pooled = g.op('ScatterND', [pooled, g.op('Unsqueeze', [rows, g.ints([1])]), aligned]);
    });
    return pooled;
  }
}

/** Flattens pooled NHWC features in torch's C,H,W order, as the first fc expects. */
function flattenChw(x: tf.Tensor4D): tf.Tensor2D {
  const [k, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [k, c * h * w]) as tf.Tensor2D;
}

/** The box head on pooled RoI features → [R, representation_size]. */
export interface BoxHead {
  readonly outFeatures: number;
  parameterSpecs(): ParameterSpec[];
  /** NHWC pooled features; `statistics` (a training forward) normalises batch norms with the RoIs' statistics. */
  forward(store: ParameterStore, pooled: tf.Tensor4D, statistics?: BatchStatistics): tf.Tensor2D;
  /** NCHW pooled features. */
  exportOnnx(layers: OnnxLayers, pooled: string): string;
}

type HeadConfig = Pick<ModelConfig, 'fpn_out_channels' | 'representation_size'>;

/** TwoMLPHead: fc6 + ReLU, fc7 + ReLU. */
class TwoMlpHead implements BoxHead {
  private readonly fc6 = `${BOX_HEAD}.fc6`;
  private readonly fc7 = `${BOX_HEAD}.fc7`;
  readonly outFeatures: number;

  constructor(
    config: HeadConfig,
    private readonly inFeatures: number,
  ) {
    this.outFeatures = config.representation_size;
  }

  parameterSpecs(): ParameterSpec[] {
    return [...linearSpecs(this.fc6, this.outFeatures, this.inFeatures), ...linearSpecs(this.fc7, this.outFeatures, this.outFeatures)];
  }

  forward(store: ParameterStore, pooled: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.relu(linear(store, this.fc7, tf.relu(linear(store, this.fc6, flattenChw(pooled))))));
  }

  exportOnnx(layers: OnnxLayers, pooled: string): string {
    const fc6 = layers.g.op('Relu', [layers.linear(layers.flatten(pooled), this.fc6)]);
    return layers.g.op('Relu', [layers.linear(fc6, this.fc7)]);
  }
}

/**
 * FastRCNNConvFCHead (torchvision: conv_layers [256, 256, 256, 256], here fpn_out_channels wide, and fc_layers
 * [1024], here representation_size): the sequence's children are the conv blocks, Flatten, then the fc.
 */
class ConvFcHead implements BoxHead {
  private readonly convs: ConvBn[];
  private readonly fc: string;
  readonly outFeatures: number;

  constructor(
    config: HeadConfig,
    private readonly inFeatures: number,
    convCount = 4,
  ) {
    const channels = config.fpn_out_channels;
    this.convs = Array.from({ length: convCount }, (_, i) => ({
      conv: `${BOX_HEAD}.${i}.0`,
      bn: `${BOX_HEAD}.${i}.1`,
      inChannels: channels,
      outChannels: channels,
      kernel: 3,
      stride: 1,
      padding: 1,
    }));
    this.fc = `${BOX_HEAD}.${convCount + 1}`;
    this.outFeatures = config.representation_size;
  }

  /** Convs: kaiming_normal_(fan_out, relu), no bias (a norm follows), BatchNorm2d identity; the fc nn.Linear's default. */
  parameterSpecs(): ParameterSpec[] {
    return [
      ...this.convs.flatMap((unit): ParameterSpec[] => [
        {
          name: `${unit.conv}.weight`,
          torchShape: [unit.outChannels, unit.inChannels, unit.kernel, unit.kernel],
          layout: 'conv',
          init: { kind: 'kaiming_normal_fan_out' },
          trainable: true,
        },
        ...batchNormSpecs(unit.bn, unit.outChannels, true),
      ]),
      ...linearSpecs(this.fc, this.outFeatures, this.inFeatures),
    ];
  }

  forward(store: ParameterStore, pooled: tf.Tensor4D, statistics?: BatchStatistics): tf.Tensor2D {
    return tf.tidy(() => {
      const x = this.convs.reduce((t, unit) => applyConvBn(store, unit, t, true, statistics), pooled);
      return tf.relu(linear(store, this.fc, flattenChw(x)));
    });
  }

  exportOnnx(layers: OnnxLayers, pooled: string): string {
    const x = this.convs.reduce((t, unit) => layers.convBn(t, unit, true), pooled);
    return layers.g.op('Relu', [layers.linear(layers.flatten(x), this.fc)]);
  }
}

/** The config's box head: TwoMLPHead (v1) or FastRCNNConvFCHead (v2), on `pooler`'s output. */
export function boxHeadOf(config: HeadConfig & Pick<ModelConfig, 'architecture'>, pooler: RoiPooler): BoxHead {
  const inFeatures = config.fpn_out_channels * pooler.binsPerChannel;
  return config.architecture === 'v2' ? new ConvFcHead(config, inFeatures) : new TwoMlpHead(config, inFeatures);
}

export type PredictorOutput = {
  classLogits: tf.Tensor2D;
  /** [R, num_classes·4] */
  boxRegression: tf.Tensor2D;
};

export function attributeHeadName(kind: string): string {
  return `${PREDICTOR}.${kind}_score`;
}

/** FastRCNNPredictor plus one linear head per attribute kind, all on the box head's features. */
export class BoxPredictor {
  private readonly classScore = `${PREDICTOR}.cls_score`;
  private readonly boxPred = `${PREDICTOR}.bbox_pred`;

  constructor(
    private readonly numClasses: number,
    readonly attributes: readonly AttributeSpec[],
    private readonly inFeatures: number,
  ) {}

  parameterSpecs(): ParameterSpec[] {
    return [
      ...linearSpecs(this.classScore, this.numClasses, this.inFeatures),
      ...linearSpecs(this.boxPred, this.numClasses * 4, this.inFeatures),
      ...this.attributes.flatMap((spec) => linearSpecs(attributeHeadName(spec.kind), spec.values.length, this.inFeatures)),
    ];
  }

  forward(store: ParameterStore, x: tf.Tensor2D): PredictorOutput {
    return { classLogits: linear(store, this.classScore, x), boxRegression: linear(store, this.boxPred, x) };
  }

  /** Attribute logits per kind, [R, values]. */
  attributeLogits(store: ParameterStore, x: tf.Tensor2D): Record<string, tf.Tensor2D> {
    return Object.fromEntries(this.attributes.map((spec) => [spec.kind, linear(store, attributeHeadName(spec.kind), x)]));
  }

  /** Softmax (single kinds) or sigmoid (multi kinds) probabilities, [R, values] each. */
  attributeProbabilities(store: ParameterStore, x: tf.Tensor2D): Record<string, tf.Tensor2D> {
    return tf.tidy(() => {
      const logits = this.attributeLogits(store, x);
      return Object.fromEntries(
        this.attributes.map((spec) => [spec.kind, spec.type === 'single' ? tf.softmax(logits[spec.kind]) : tf.sigmoid(logits[spec.kind])]),
      );
    });
  }

  /** Class logits [R, C] and box regression [R, C·4] as ONNX nodes. */
  exportBoxes(layers: OnnxLayers, x: string): { classLogits: string; boxRegression: string } {
    return { classLogits: layers.linear(x, this.classScore), boxRegression: layers.linear(x, this.boxPred) };
  }

  /** Each kind's probabilities [R, values] as ONNX nodes, in the config's order. */
  exportAttributes(layers: OnnxLayers, x: string): { spec: AttributeSpec; probabilities: string }[] {
    return this.attributes.map((spec) => {
      const logits = layers.linear(x, attributeHeadName(spec.kind));
      return {
        spec,
        probabilities: spec.type === 'single' ? layers.g.op('Softmax', [logits], { axis: 1 }) : layers.g.op('Sigmoid', [logits]),
      };
    });
  }
}
