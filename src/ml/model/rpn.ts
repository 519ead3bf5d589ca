/**
 * Region Proposal Network, as torchvision 0.14 `models/detection/rpn.py`:
 * RPNHead (3×3 conv + ReLU, two of them in architecture v2's `conv_depth=2`; 1×1 objectness, 1×1 box deltas), proposal filtering
 * (RegionProposalNetwork.filter_proposals) and the RPN loss (assign_targets_to_anchors + compute_loss).
 *
 * Layout: features are NHWC, so a level's head output [N, H, W, A] flattens to [N, H·W·A] in the
 * (H, W, A) order that torchvision's permute_and_flatten produces from [N, A, H, W] and that its
 * AnchorGenerator uses for the anchors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config';
import { conv2d, type ParameterSpec, ParameterStore } from './params';
import type { OnnxLayers } from '../onnx/layers';
import { BoxCoder, batchedNms, boxIou, clipBoxesToImage, removeSmallBoxes } from '../ops/boxes';
import { BalancedPositiveNegativeSampler, BELOW_LOW_THRESHOLD, Matcher } from '../ops/matcher';
import { binaryCrossEntropyWithLogits, smoothL1Loss } from '../ops/losses';

const HEAD = 'rpn.head';
/** torchvision's RPN box coder weights (its clip is BoxCoder's default, BBOX_XFORM_CLIP). */
export const RPN_BOX_WEIGHTS: [number, number, number, number] = [1, 1, 1, 1];
/** RegionProposalNetwork.min_size */
export const MIN_PROPOSAL_SIZE = 1e-3;

/** torchvision's FPN anchors: one size per level (32…512), ratios 0.5, 1, 2. */
export const ANCHOR_SIZES = [[32], [64], [128], [256], [512]];
export const ANCHOR_ASPECT_RATIOS = ANCHOR_SIZES.map(() => [0.5, 1, 2]);
/** Anchors per feature-map location (every level has as many). */
const ANCHORS_PER_LOCATION = ANCHOR_SIZES[0].length * ANCHOR_ASPECT_RATIOS[0].length;

export type RpnHeadOutput = {
  /** [N, total anchors] objectness logits, levels concatenated. */
  objectness: tf.Tensor2D;
  /** [N, total anchors, 4] box deltas. */
  deltas: tf.Tensor3D;
  numAnchorsPerLevel: number[];
};

/**
 * RPNHead: its parameter names and init, its tfjs forward pass and its ONNX export. The depth of its 3×3 conv stack
 * comes from the config's architecture (v2: torchvision's `conv_depth=2`).
 */
export class RpnHead {
  readonly channels: number;
  readonly convDepth: number;
  readonly anchorsPerLocation = ANCHORS_PER_LOCATION;
  /** Output channels of the two 1×1 convs together: an objectness logit and 4 deltas per anchor. */
  static readonly outputsPerLocation = ANCHORS_PER_LOCATION * 5;

  constructor(config: Pick<ModelConfig, 'fpn_out_channels' | 'architecture'>) {
    this.channels = config.fpn_out_channels;
    this.convDepth = config.architecture === 'v2' ? 2 : 1;
  }

  private convs(): string[] {
    return Array.from({ length: this.convDepth }, (_, i) => `${HEAD}.conv.${i}.0`);
  }

  /** torchvision's init: normal std 0.01, bias 0. */
  parameterSpecs(): ParameterSpec[] {
    const c = this.channels;
    const a = this.anchorsPerLocation;
    const conv = (prefix: string, shape: number[]): ParameterSpec[] => [
      { name: `${prefix}.weight`, torchShape: shape, layout: 'conv', init: { kind: 'normal', std: 0.01 }, trainable: true },
      { name: `${prefix}.bias`, torchShape: [shape[0]], layout: 'plain', init: { kind: 'constant', value: 0 }, trainable: true },
    ];
    return [
      ...this.convs().flatMap((prefix) => conv(prefix, [c, c, 3, 3])),
      ...conv(`${HEAD}.cls_logits`, [a, c, 1, 1]),
      ...conv(`${HEAD}.bbox_pred`, [a * 4, c, 1, 1]),
    ];
  }

  /** RPNHead.forward + concat_box_prediction_layers (kept per image rather than flattened over the batch). */
  forward(store: ParameterStore, features: tf.Tensor4D[]): RpnHeadOutput {
    const numAnchorsPerLevel: number[] = [];
    const [objectness, deltas] = tf.tidy(() => {
      const logits: tf.Tensor2D[] = [];
      const boxes: tf.Tensor3D[] = [];
      for (const feature of features) {
        const [n, h, w] = feature.shape;
        const t = this.convs().reduce((x, prefix) => tf.relu(conv2d(store, prefix, x, 1, 1)), feature);
        const count = h * w * this.anchorsPerLocation;
        numAnchorsPerLevel.push(count);
        logits.push(tf.reshape(conv2d(store, `${HEAD}.cls_logits`, t, 1, 0), [n, count]));
        boxes.push(tf.reshape(conv2d(store, `${HEAD}.bbox_pred`, t, 1, 0), [n, count, 4]));
      }
      return [tf.concat(logits, 1), tf.concat(boxes, 1)] as [tf.Tensor2D, tf.Tensor3D];
    });
    return { objectness, deltas, numAnchorsPerLevel };
  }

  /** The same as ONNX nodes on NCHW levels, each flattened as concat_box_prediction_layers: [N, A_l] and [N, A_l, 4]. */
  exportOnnx(layers: OnnxLayers, levels: string[]): { logits: string[]; deltas: string[] } {
    const { g } = layers;
    const nhwc = (x: string) => g.op('Transpose', [x], { perm: [0, 2, 3, 1] });
    const logits: string[] = [];
    const deltas: string[] = [];
    for (const feature of levels) {
      const t = this.convs().reduce((x, prefix) => g.op('Relu', [layers.plainConv(x, prefix, 1, 1, true)]), feature);
      logits.push(g.op('Reshape', [nhwc(layers.plainConv(t, `${HEAD}.cls_logits`, 1, 0, true)), g.ints([0, -1])]));
      deltas.push(g.op('Reshape', [nhwc(layers.plainConv(t, `${HEAD}.bbox_pred`, 1, 0, true)), g.ints([0, -1, 4])]));
    }
    return { logits, deltas };
  }
}

export interface RpnSettings {
  preNmsTopN: number;
  postNmsTopN: number;
  nmsThresh: number;
  scoreThresh: number;
  fgIouThresh: number;
  bgIouThresh: number;
  batchSizePerImage: number;
  positiveFraction: number;
  /** Proposals smaller than this are removed (RegionProposalNetwork.min_size). */
  minSize: number;
}

/** The RPN settings of a config, with torchvision's train/test split of the top-n values. */
export function rpnSettings(config: ModelConfig, training: boolean): RpnSettings {
  return {
    preNmsTopN: training ? config.rpn_pre_nms_top_n_train : config.rpn_pre_nms_top_n_test,
    postNmsTopN: training ? config.rpn_post_nms_top_n_train : config.rpn_post_nms_top_n_test,
    nmsThresh: config.rpn_nms_thresh,
    scoreThresh: config.rpn_score_thresh,
    fgIouThresh: config.rpn_fg_iou_thresh,
    bgIouThresh: config.rpn_bg_iou_thresh,
    batchSizePerImage: config.rpn_batch_size_per_image,
    positiveFraction: config.rpn_positive_fraction,
    minSize: MIN_PROPOSAL_SIZE,
  };
}

/** Proposals of one image: boxes [K·4] x1,y1,x2,y2 and their objectness probabilities, best first. */
export interface Proposals {
  boxes: Float32Array;
  scores: Float32Array;
}

/** Indices of the k largest values of `values[start, start+count)`, descending (torch.topk, sorted). */
function topKIndices(values: Float32Array, start: number, count: number, k: number): number[] {
  const order = Array.from({ length: count }, (_, i) => start + i);
  order.sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, Math.min(k, count));
}

function gatherRows(data: Float32Array, rows: ArrayLike<number>, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) out.set(data.subarray(rows[i] * width, rows[i] * width + width), i * width);
  return out;
}

/**
 * RegionProposalNetwork.filter_proposals (objectness detached): per level the pre-NMS top-n by
 * objectness, decode, sigmoid, clip, remove boxes smaller than `minSize`, score threshold (>=), NMS by
 * level, keep the post-NMS top-n. Only the selected anchors are decoded (decoding is per box, so
 * this equals torchvision's decode-everything-then-select).
 */
export function filterProposals(
  anchors: tf.Tensor2D,
  head: RpnHeadOutput,
  imageSizes: [number, number][],
  settings: RpnSettings,
): Proposals[] {
  const objectness = head.objectness.dataSync() as Float32Array;
  const total = head.objectness.shape[1];
  const coder = new BoxCoder(RPN_BOX_WEIGHTS);
  return imageSizes.map((imageSize, image) => {
    const selected: number[] = [];
    const levels: number[] = [];
    let start = 0;
    head.numAnchorsPerLevel.forEach((count, level) => {
      for (const index of topKIndices(objectness, image * total + start, count, settings.preNmsTopN)) {
        selected.push(index - image * total);
        levels.push(level);
      }
      start += count;
    });
    const [boxes, scores] = tf.tidy(() => {
      const rows = tf.tensor1d(selected, 'int32');
      const deltas = tf.gather(tf.squeeze(tf.slice(head.deltas, [image, 0, 0], [1, -1, -1]), [0]), rows) as tf.Tensor2D;
      const decoded = tf.reshape(coder.decode(deltas, tf.gather(anchors, rows) as tf.Tensor2D), [-1, 4]) as tf.Tensor2D;
      const logits = tf.gather(tf.reshape(tf.slice(head.objectness, [image, 0], [1, -1]), [-1]), rows);
      return [clipBoxesToImage(decoded, imageSize).dataSync() as Float32Array, tf.sigmoid(logits).dataSync() as Float32Array];
    });
    let keep = Array.from(removeSmallBoxes(boxes, settings.minSize)).filter((i) => scores[i] >= settings.scoreThresh);
    const keptBoxes = gatherRows(boxes, keep, 4);
    const keptScores = gatherRows(scores, keep, 1);
    const nmsKeep = batchedNms(
      keptBoxes,
      keptScores,
      Int32Array.from(keep, (i) => levels[i]),
      settings.nmsThresh,
    );
    keep = Array.from(nmsKeep.subarray(0, settings.postNmsTopN));
    return { boxes: gatherRows(keptBoxes, keep, 4), scores: gatherRows(keptScores, keep, 1) };
  });
}

/** Anchor labels (1 fg, 0 bg, -1 ignored) and matched GT boxes, as RegionProposalNetwork.assign_targets_to_anchors. */
export function assignTargetsToAnchors(
  anchors: tf.Tensor2D,
  gtBoxes: Float32Array,
  matcher: Matcher,
): { labels: Int32Array; matchedGtBoxes: Float32Array } {
  const numAnchors = anchors.shape[0];
  const numGt = gtBoxes.length / 4;
  if (numGt === 0) return { labels: new Int32Array(numAnchors), matchedGtBoxes: new Float32Array(numAnchors * 4) };
  const iou = tf.tidy(() => boxIou(tf.tensor2d(gtBoxes, [numGt, 4]), anchors).dataSync() as Float32Array);
  const matched = matcher.match(iou, numGt, numAnchors);
  const labels = new Int32Array(numAnchors);
  const rows = new Int32Array(numAnchors);
  for (let i = 0; i < numAnchors; i++) {
    const m = matched[i];
    labels[i] = m >= 0 ? 1 : m === BELOW_LOW_THRESHOLD ? 0 : -1;
    rows[i] = Math.max(m, 0);
  }
  return { labels, matchedGtBoxes: gatherRows(gtBoxes, rows, 4) };
}

export type RpnLosses = {
  loss_objectness: tf.Scalar;
  loss_rpn_box_reg: tf.Scalar;
};

/**
 * RegionProposalNetwork.compute_loss over the batch: sample anchors per image (256 at 0.5 positive),
 * objectness BCE-with-logits averaged over the sampled anchors, smooth-L1 (beta 1/9, sum) of the
 * positive anchors' deltas divided by the number of sampled anchors.
 */
export function rpnLoss(
  head: RpnHeadOutput,
  anchors: tf.Tensor2D,
  gtBoxesPerImage: Float32Array[],
  settings: RpnSettings,
  random: () => number,
): RpnLosses {
  const matcher = new Matcher(settings.fgIouThresh, settings.bgIouThresh, true);
  const sampler = new BalancedPositiveNegativeSampler(settings.batchSizePerImage, settings.positiveFraction, random);
  const numAnchors = anchors.shape[0];
  const anchorData = anchors.dataSync() as Float32Array;
  const positive: number[] = [];
  const sampled: number[] = [];
  const sampledLabels: number[] = [];
  const positiveAnchors: number[] = [];
  const positiveGt: number[] = [];
  gtBoxesPerImage.forEach((gt, image) => {
    const { labels, matchedGtBoxes } = assignTargetsToAnchors(anchors, gt, matcher);
    const picked = sampler.sample(labels);
    for (const i of picked.positive) {
      positive.push(image * numAnchors + i);
      positiveAnchors.push(...anchorData.subarray(i * 4, i * 4 + 4));
      positiveGt.push(...matchedGtBoxes.subarray(i * 4, i * 4 + 4));
    }
    for (const i of [...picked.positive, ...picked.negative]) {
      sampled.push(image * numAnchors + i);
      sampledLabels.push(labels[i]);
    }
  });
  return tf.tidy(() => {
    const coder = new BoxCoder(RPN_BOX_WEIGHTS);
    const logits = tf.gather(tf.reshape(head.objectness, [-1]), tf.tensor1d(sampled, 'int32'));
    const objectnessLoss = binaryCrossEntropyWithLogits(logits, tf.tensor1d(sampledLabels, 'float32'));
    let boxLoss: tf.Scalar;
    if (positive.length === 0) {
      boxLoss = tf.mul(tf.sum(head.deltas), 0) as tf.Scalar;
    } else {
      const deltas = tf.gather(tf.reshape(head.deltas, [-1, 4]), tf.tensor1d(positive, 'int32'));
      const targets = coder.encode(tf.tensor2d(positiveGt, [positive.length, 4]), tf.tensor2d(positiveAnchors, [positive.length, 4]));
      boxLoss = tf.div(smoothL1Loss(deltas, targets, 1 / 9), sampled.length) as tf.Scalar;
    }
    return { loss_objectness: objectnessLoss, loss_rpn_box_reg: boxLoss };
  });
}
