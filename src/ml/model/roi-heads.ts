/**
 * RoI heads of the Attribute R-CNN, as torchvision 0.14 `models/detection/roi_heads.py` plus one
 * linear attribute head per kind on the box head's features. The layers (pooler, box head, predictor) are the
 * modules of box-head.ts; here:
 * - training targets (GT added to the proposals, Matcher 0.5/0.5, 512 RoIs at 0.25 positive),
 *   fastrcnn_loss, and the attribute losses,
 * - postprocess_detections, then the attributes of each final box from RoI features pooled again at
 *   that box (as torchvision's mask branch pools at the detections); that representation is also the garment's
 *   appearance embedding (src/ml/embedding).
 *
 * Attribute losses: only FOREGROUND sampled RoIs get
 * attribute targets, taken from the GT garment they matched; an attribute that garment has no label
 * for is masked out (never trained as value 0). Single kinds: cross-entropy averaged over the RoIs
 * that have a label; multi kinds: BCE-with-logits averaged over every value of those RoIs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttributeSpec, ModelConfig } from './config';
import type { ParameterSpec, ParameterStore } from './params';
import type { BatchStatistics } from './resnet';
import { boxHeadOf, BoxPredictor, RoiPooler, type BoxHead, type PredictorOutput } from './box-head';
import { BoxCoder, batchedNms, boxIou, clipBoxesToImage, removeSmallBoxes } from '../ops/boxes';
import { BalancedPositiveNegativeSampler, BELOW_LOW_THRESHOLD, BETWEEN_THRESHOLDS, Matcher } from '../ops/matcher';
import { binaryCrossEntropyWithLogits, smoothL1Loss, softmaxCrossEntropy } from '../ops/losses';
import type { OnnxLayers } from '../onnx/layers';

export { attributeHeadName, type PredictorOutput } from './box-head';

/** postprocess_detections removes boxes smaller than this. */
export const MIN_DETECTION_SIZE = 1e-2;

/** Ground truth of one image. Attribute entries are per garment: a value index (single kinds),
 * a list of value indices (multi kinds), or null/undefined when the garment has no label for the kind. */
export interface ImageTargets {
  /** [G·4] x1, y1, x2, y2 in the (resized) image's pixels. */
  boxes: Float32Array;
  /** [G] class indices, 1..num_classes-1. */
  labels: Int32Array;
  attributes: Record<string, (number | number[] | null | undefined)[]>;
}

export interface RoiSettings {
  fgIouThresh: number;
  bgIouThresh: number;
  batchSizePerImage: number;
  positiveFraction: number;
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImage: number;
  boxWeights: [number, number, number, number];
  /** Detections smaller than this are removed. */
  minSize: number;
}

export function roiSettings(config: ModelConfig): RoiSettings {
  return {
    fgIouThresh: config.box_fg_iou_thresh,
    bgIouThresh: config.box_bg_iou_thresh,
    batchSizePerImage: config.box_batch_size_per_image,
    positiveFraction: config.box_positive_fraction,
    scoreThresh: config.box_score_thresh,
    nmsThresh: config.box_nms_thresh,
    detectionsPerImage: config.box_detections_per_img,
    boxWeights: config.bbox_reg_weights,
    minSize: MIN_DETECTION_SIZE,
  };
}

/** Sampled RoIs of one image with their targets. */
export interface SampledRois {
  boxes: Float32Array;
  /** class per RoI, 0 = background */
  labels: Int32Array;
  /** index of the matched GT garment per RoI (0 for an image without garments) */
  matchedGt: Int32Array;
  /** [R·4] the matched GT boxes (zeros when the image has no garment) */
  matchedGtBoxes: Float32Array;
}

function concatFloat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * RoIHeads.select_training_samples for one image: add the GT boxes to the proposals, match at
 * 0.5/0.5 (no low-quality matches), sample (torch keeps the sampled RoIs in index order).
 */
export function selectTrainingSamples(
  proposals: Float32Array,
  target: ImageTargets,
  settings: RoiSettings,
  random: () => number,
): SampledRois {
  const boxes = concatFloat(proposals, target.boxes);
  const count = boxes.length / 4;
  const numGt = target.labels.length;
  const labels = new Int32Array(count);
  const matchedGt = new Int32Array(count);
  if (numGt > 0) {
    const iou = tf.tidy(() => boxIou(tf.tensor2d(target.boxes, [numGt, 4]), tf.tensor2d(boxes, [count, 4])).dataSync() as Float32Array);
    const matched = new Matcher(settings.fgIouThresh, settings.bgIouThresh, false).match(iou, numGt, count);
    for (let i = 0; i < count; i++) {
      matchedGt[i] = Math.max(matched[i], 0);
      labels[i] = matched[i] === BELOW_LOW_THRESHOLD ? 0 : matched[i] === BETWEEN_THRESHOLDS ? -1 : target.labels[matchedGt[i]];
    }
  }
  const sampler = new BalancedPositiveNegativeSampler(settings.batchSizePerImage, settings.positiveFraction, random);
  const picked = sampler.sample(Int32Array.from(labels, (l) => (l > 0 ? 1 : l)));
  const keep = Int32Array.from([...picked.positive, ...picked.negative]).sort();
  const out: SampledRois = {
    boxes: new Float32Array(keep.length * 4),
    labels: new Int32Array(keep.length),
    matchedGt: new Int32Array(keep.length),
    matchedGtBoxes: new Float32Array(keep.length * 4),
  };
  keep.forEach((index, i) => {
    out.boxes.set(boxes.subarray(index * 4, index * 4 + 4), i * 4);
    out.labels[i] = labels[index];
    out.matchedGt[i] = matchedGt[index];
    if (numGt > 0) out.matchedGtBoxes.set(target.boxes.subarray(matchedGt[index] * 4, matchedGt[index] * 4 + 4), i * 4);
  });
  return out;
}

export type RoiLosses = Record<string, tf.Scalar>;

/** fastrcnn_loss: CE over all sampled RoIs; smooth-L1 (beta 1/9, sum) of the GT class's deltas of positives / RoI count. */
export function fastRcnnLoss(output: PredictorOutput, sampled: SampledRois[], boxWeights: [number, number, number, number]): RoiLosses {
  return tf.tidy(() => {
    const labels = Int32Array.from(sampled.flatMap((s) => Array.from(s.labels)));
    const total = labels.length;
    const numClasses = output.classLogits.shape[1];
    const classification = softmaxCrossEntropy(output.classLogits, labels);
    const rows: number[] = [];
    const positive: number[] = [];
    labels.forEach((label, i) => {
      if (label > 0) {
        rows.push(i * numClasses + label);
        positive.push(i);
      }
    });
    let boxLoss: tf.Scalar;
    if (positive.length === 0) {
      boxLoss = tf.mul(tf.sum(output.boxRegression), 0) as tf.Scalar;
    } else {
      const proposals = tf.tensor2d(Float32Array.from(sampled.flatMap((s) => Array.from(s.boxes))), [total, 4]);
      const gt = tf.tensor2d(Float32Array.from(sampled.flatMap((s) => Array.from(s.matchedGtBoxes))), [total, 4]);
      const index = tf.tensor1d(positive, 'int32');
      const targets = new BoxCoder(boxWeights).encode(tf.gather(gt, index) as tf.Tensor2D, tf.gather(proposals, index) as tf.Tensor2D);
      const deltas = tf.gather(tf.reshape(output.boxRegression, [total * numClasses, 4]), tf.tensor1d(rows, 'int32'));
      boxLoss = tf.div(smoothL1Loss(deltas, targets, 1 / 9), total) as tf.Scalar;
    }
    return { loss_classifier: classification, loss_box_reg: boxLoss };
  });
}

/**
 * Attribute losses `loss_attr_<kind>` over the foreground sampled RoIs whose matched garment has a
 * label for the kind (see the file comment). A kind with no such RoI contributes 0.
 */
export function attributeLosses(
  logits: Record<string, tf.Tensor2D>,
  attributes: readonly AttributeSpec[],
  sampled: SampledRois[],
  targets: ImageTargets[],
): RoiLosses {
  return tf.tidy(() => {
    const losses: RoiLosses = {};
    for (const spec of attributes) {
      const rows: number[] = [];
      const values: (number | number[])[] = [];
      let offset = 0;
      sampled.forEach((s, image) => {
        const perGarment = targets[image].attributes[spec.kind] ?? [];
        s.labels.forEach((label, i) => {
          const value = label > 0 ? perGarment[s.matchedGt[i]] : undefined;
          if (value !== undefined && value !== null) {
            rows.push(offset + i);
            values.push(value);
          }
        });
        offset += s.labels.length;
      });
      const kindLogits = logits[spec.kind];
      const name = `loss_attr_${spec.kind}`;
      if (rows.length === 0) {
        losses[name] = tf.mul(tf.sum(kindLogits), 0) as tf.Scalar;
        continue;
      }
      const chosen = tf.gather(kindLogits, tf.tensor1d(rows, 'int32')) as tf.Tensor2D;
      if (spec.type === 'single') {
        losses[name] = softmaxCrossEntropy(chosen, Int32Array.from(values as number[]));
      } else {
        const hot = new Float32Array(rows.length * spec.values.length);
        values.forEach((v, r) => (v as number[]).forEach((j) => (hot[r * spec.values.length + j] = 1)));
        losses[name] = binaryCrossEntropyWithLogits(chosen, tf.tensor2d(hot, [rows.length, spec.values.length]));
      }
    }
    return losses;
  });
}

/** Final detections of one image, in the (resized) image's pixels. */
export interface RawDetections {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
  /** per kind [D·values] probabilities in value order (softmax for single, sigmoid for multi kinds) */
  attributes: Map<string, Float32Array>;
  /**
   * [D·representation] the box head's representation of each final box pooled again at that box: what the attribute
   * heads read, and the garment's appearance embedding before it is normed (src/ml/embedding).
   */
  representations: Float32Array;
}

/**
 * RoIHeads.postprocess_detections: softmax, per-class decode, clip, drop background, score
 * threshold (>), remove boxes smaller than `minSize`, NMS per class, keep the best detections_per_img.
 */
export function postprocessDetections(
  output: PredictorOutput,
  proposals: Float32Array[],
  imageSizes: [number, number][],
  settings: RoiSettings,
): { boxes: Float32Array; scores: Float32Array; labels: Int32Array }[] {
  const numClasses = output.classLogits.shape[1];
  let offset = 0;
  return proposals.map((p, image) => {
    const count = p.length / 4;
    const [boxes, scores] = tf.tidy(() => {
      const rows = tf.slice(output.boxRegression, [offset, 0], [count, -1]) as tf.Tensor2D;
      const decoded = new BoxCoder(settings.boxWeights).decode(rows, tf.tensor2d(p, [count, 4]));
      const clipped = clipBoxesToImage(tf.reshape(decoded, [count * numClasses, 4]) as tf.Tensor2D, imageSizes[image]);
      const probs = tf.softmax(tf.slice(output.classLogits, [offset, 0], [count, -1]));
      return [clipped.dataSync() as Float32Array, probs.dataSync() as Float32Array];
    });
    offset += count;
    const candidates: number[] = [];
    for (let r = 0; r < count; r++) {
      for (let c = 1; c < numClasses; c++) if (scores[r * numClasses + c] > settings.scoreThresh) candidates.push(r * numClasses + c);
    }
    const candBoxes = new Float32Array(candidates.length * 4);
    candidates.forEach((k, i) => candBoxes.set(boxes.subarray(k * 4, k * 4 + 4), i * 4));
    const big = removeSmallBoxes(candBoxes, settings.minSize);
    const kept = Array.from(big, (i) => candidates[i]);
    const keptBoxes = new Float32Array(kept.length * 4);
    kept.forEach((k, i) => keptBoxes.set(boxes.subarray(k * 4, k * 4 + 4), i * 4));
    const keptScores = Float32Array.from(kept, (k) => scores[k]);
    const keptLabels = Int32Array.from(kept, (k) => k % numClasses);
    const order = batchedNms(keptBoxes, keptScores, keptLabels, settings.nmsThresh).subarray(0, settings.detectionsPerImage);
    const out = { boxes: new Float32Array(order.length * 4), scores: new Float32Array(order.length), labels: new Int32Array(order.length) };
    order.forEach((k, i) => {
      out.boxes.set(keptBoxes.subarray(k * 4, k * 4 + 4), i * 4);
      out.scores[i] = keptScores[k];
      out.labels[i] = keptLabels[k];
    });
    return out;
  });
}

/** What the RoI heads' layers depend on (`attributes` absent: none). */
export type RoiHeadsConfig = Pick<ModelConfig, 'architecture' | 'fpn_out_channels' | 'representation_size' | 'num_classes'> & {
  attributes?: ModelConfig['attributes'];
};

/**
 * RoIHeads: the pooler, the box head and the predictor of the config; training losses and inference with given
 * settings (roiSettings), and the ONNX export of the box features.
 */
export class RoiHeads {
  readonly pooler = new RoiPooler();
  readonly boxHead: BoxHead;
  readonly predictor: BoxPredictor;
  private readonly channels: number;
  private readonly attributes: readonly AttributeSpec[];

  constructor(config: RoiHeadsConfig) {
    this.boxHead = boxHeadOf(config, this.pooler);
    this.attributes = config.attributes ?? [];
    this.predictor = new BoxPredictor(config.num_classes, this.attributes, this.boxHead.outFeatures);
    this.channels = config.fpn_out_channels;
  }

  parameterSpecs(): ParameterSpec[] {
    return [...this.boxHead.parameterSpecs(), ...this.predictor.parameterSpecs()];
  }

  /** Box-head features [Σ K_i, representation] of boxes pooled from the FPN levels. */
  boxFeatures(
    store: ParameterStore,
    features: tf.Tensor4D[],
    boxesPerImage: Float32Array[],
    imageSizes: [number, number][],
    statistics?: BatchStatistics,
  ): tf.Tensor2D {
    return tf.tidy(() => this.boxHead.forward(store, this.pooler.pool(features, boxesPerImage, imageSizes), statistics));
  }

  /** RoI-head losses of a batch: box-head forward on the sampled RoIs, fastrcnn_loss and the attribute losses. */
  losses(
    store: ParameterStore,
    settings: RoiSettings,
    features: tf.Tensor4D[],
    proposals: Float32Array[],
    imageSizes: [number, number][],
    targets: ImageTargets[],
    random: () => number,
    statistics?: BatchStatistics,
  ): RoiLosses {
    const sampled = proposals.map((p, i) => selectTrainingSamples(p, targets[i], settings, random));
    return tf.tidy(() => {
      const x = this.boxFeatures(
        store,
        features,
        sampled.map((s) => s.boxes),
        imageSizes,
        statistics,
      );
      return {
        ...fastRcnnLoss(this.predictor.forward(store, x), sampled, settings.boxWeights),
        ...attributeLosses(this.predictor.attributeLogits(store, x), this.attributes, sampled, targets),
      };
    });
  }

  /**
   * Inference: box head on the proposals, postprocess, then the attributes of each final box from features pooled
   * again at that box.
   */
  detect(
    store: ParameterStore,
    settings: RoiSettings,
    features: tf.Tensor4D[],
    proposals: Float32Array[],
    imageSizes: [number, number][],
  ): RawDetections[] {
    const output = tf.tidy(() => this.predictor.forward(store, this.boxFeatures(store, features, proposals, imageSizes)));
    const detections = postprocessDetections(output, proposals, imageSizes, settings);
    tf.dispose([output.classLogits, output.boxRegression]);
    const outputs = this.finalBoxOutputs(
      store,
      features,
      detections.map((d) => d.boxes),
      imageSizes,
    );
    return detections.map((d, i) => ({ ...d, ...outputs[i] }));
  }

  /**
   * The box head's representation [K·representation] of given boxes (pooled from the FPN levels as a final box is)
   * and the attribute probabilities the heads read from it, split per image.
   */
  finalBoxOutputs(
    store: ParameterStore,
    features: tf.Tensor4D[],
    boxesPerImage: Float32Array[],
    imageSizes: [number, number][],
  ): { attributes: Map<string, Float32Array>; representations: Float32Array }[] {
    const counts = boxesPerImage.map((b) => b.length / 4);
    const total = counts.reduce((a, b) => a + b, 0);
    const width = this.boxHead.outFeatures;
    if (total === 0) {
      return counts.map(() => ({
        attributes: new Map(this.attributes.map((spec) => [spec.kind, new Float32Array(0)])),
        representations: new Float32Array(0),
      }));
    }
    const [representations, probabilities] = tf.tidy(() => {
      const x = this.boxFeatures(store, features, boxesPerImage, imageSizes);
      const probs = this.attributes.length === 0 ? {} : this.predictor.attributeProbabilities(store, x);
      return [x.dataSync() as Float32Array, this.attributes.map((spec) => probs[spec.kind].dataSync() as Float32Array)];
    });
    let row = 0;
    return counts.map((count) => {
      const rows = (values: Float32Array, columns: number) => values.slice(row * columns, (row + count) * columns);
      const out = {
        attributes: new Map(this.attributes.map((spec, k) => [spec.kind, rows(probabilities[k], spec.values.length)])),
        representations: rows(representations, width),
      };
      row += count;
      return out;
    });
  }

  /** Box-head features of RoIs [R, 4] (with their batch indices [R]) pooled from NCHW FPN levels, as ONNX nodes. */
  exportBoxFeatures(layers: OnnxLayers, levels: string[], rois: string, batchIndices: string): string {
    return this.boxHead.exportOnnx(layers, this.pooler.exportOnnx(layers.g, levels, rois, batchIndices, this.channels));
  }
}
