/**
 * The Attribute R-CNN: torchvision's FasterRCNN (ResNet-FPN backbone, RPN, RoI heads) whose box
 * predictor also scores every garment attribute kind. Composition as GeneralizedRCNN.forward:
 * transform → backbone → RPN → RoI heads → boxes back to the input images' pixels.
 *
 * Weights are a torchvision state_dict in safetensors (src/ml/weights), the config a JSON file beside
 * them (src/ml/model/config.ts).
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { configToJson, readConfigFile, type ModelConfig } from './config';
import { DetectorModules } from './detector';
import { backboneForward } from './fpn';
import { defineParameters, ParameterStore, SeededRandom } from './params';
import { updateRunningStatistics, type BatchStatistics } from './resnet';
import { ANCHOR_ASPECT_RATIOS, ANCHOR_SIZES, filterProposals, rpnLoss, rpnSettings } from './rpn';
import { roiSettings, type ImageTargets, type RawDetections } from './roi-heads';
import { resizeBoxes, rgbTensor, transformImages, type ImageSize, type TransformedBatch, type TransformOptions } from './transform';
import { AnchorGenerator } from '../ops/anchors';
import { seededRandom } from '../../util/random';
import { loadSafetensorsInto, saveSafetensors } from '../weights/state-dict';
import type { Sgd } from '../train/sgd';
import { GarmentEmbedding } from '../embedding/garment-embedding';

/** An RGB image: `data` holds height·width·3 bytes, row by row. */
export interface InputImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export { ANCHOR_ASPECT_RATIOS, ANCHOR_SIZES };

export interface AttributeScore {
  value: string;
  probability: number;
}

export interface Detection {
  /** x1, y1, x2, y2 in the input image's pixels */
  box: [number, number, number, number];
  label: number;
  className: string;
  score: number;
  /** every value of every kind with its probability, most probable first */
  attributes: Record<string, AttributeScore[]>;
  /** the garment's appearance embedding (src/ml/embedding), null when the box head's representation is all zeros */
  embedding: GarmentEmbedding | null;
}

/** Boxes of one image to embed: x1, y1, x2, y2 [K·4] in the input image's pixels. */
export interface BoxesOfImage {
  image: InputImage;
  boxes: Float32Array;
}

/** One ground-truth garment, in the input image's pixels. Attribute values are value indices
 * (single kinds), lists of value indices (multi kinds), or null/absent when unlabelled (masked out). */
export interface GarmentTarget {
  box: [number, number, number, number];
  label: number;
  attributes?: Record<string, number | number[] | null | undefined>;
}

export interface TrainingSample {
  image: InputImage;
  garments: GarmentTarget[];
}

export type LossValues = Record<string, number>;

/** torchvision resize_boxes on a flat [K·4] array. */
export function scaleBoxes(boxes: Float32Array, from: ImageSize, to: ImageSize): Float32Array {
  if (boxes.length === 0) return boxes;
  return tf.tidy(() => resizeBoxes(tf.tensor2d(boxes, [boxes.length / 4, 4]), from, to).dataSync() as Float32Array);
}

/** torch.nn.utils.clip_grad_norm_ (L2): new gradient tensors, scaled when the total norm exceeds maxNorm. */
function clipGradients(grads: Map<string, tf.Tensor>, maxNorm: number): Map<string, tf.Tensor> {
  const total = Math.sqrt([...grads.values()].reduce((sum, g) => sum + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]), 0));
  const scale = Math.min(1, maxNorm / (total + 1e-6));
  return new Map([...grads].map(([name, g]) => [name, tf.mul(g, scale)]));
}

export class AttributeRCNN {
  private readonly anchors = new AnchorGenerator(ANCHOR_SIZES, ANCHOR_ASPECT_RATIOS);
  private readonly random: () => number;
  /** The layers of the config (what the store's parameters are, and how they are applied). */
  readonly modules: DetectorModules;

  private constructor(
    readonly config: ModelConfig,
    readonly store: ParameterStore,
    seed: number,
  ) {
    this.random = seededRandom(seed);
    this.modules = new DetectorModules(config);
  }

  /** A freshly initialised model (torchvision's init, drawn from `seed`). */
  static create(config: ModelConfig, seed = 0): AttributeRCNN {
    return AttributeRCNN.build(config, seed, new ParameterStore());
  }

  private static build(config: ModelConfig, seed: number, store: ParameterStore): AttributeRCNN {
    const model = new AttributeRCNN(config, store, seed);
    defineParameters(store, model.modules.parameterSpecs(), new SeededRandom(seed));
    return model;
  }

  /** Loads a config JSON and its safetensors weights (every tensor required, errors name the tensor). */
  static async load(weightsPath: string, configPath: string): Promise<AttributeRCNN> {
    return AttributeRCNN.withWeights(readConfigFile(configPath), weightsPath);
  }

  /** The model of `config` with every tensor from the safetensors file (none is drawn first: all are loaded). */
  static withWeights(config: ModelConfig, weightsPath: string): AttributeRCNN {
    const model = AttributeRCNN.build(config, 0, new ParameterStore({ drawInitialValues: false }));
    try {
      loadSafetensorsInto(model.store, weightsPath);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  save(weightsPath: string, configPath: string): void {
    saveSafetensors(this.store, weightsPath);
    writeFileSync(configPath, configToJson(this.config));
  }

  dispose(): void {
    this.store.dispose();
  }

  /** Detections per image, best first, boxes in each input image's pixels. */
  async predict(images: InputImage[]): Promise<Detection[][]> {
    if (images.length === 0) return [];
    const batch = this.transform(images, false);
    const features = tf.tidy(() => backboneForward(this.store, this.config, batch.images));
    let raw: RawDetections[];
    try {
      const anchors = this.anchorsFor(batch.images.shape, features);
      const head = this.modules.rpn.forward(this.store, features);
      const proposals = filterProposals(anchors, head, batch.imageSizes, rpnSettings(this.config, false));
      tf.dispose([anchors, head.objectness, head.deltas]);
      raw = this.modules.roiHeads.detect(
        this.store,
        roiSettings(this.config),
        features,
        proposals.map((p) => p.boxes),
        batch.imageSizes,
      );
    } finally {
      tf.dispose([batch.images, ...features]);
    }
    return raw.map((d, i) => this.toDetections(d, scaleBoxes(d.boxes, batch.imageSizes[i], batch.originalSizes[i])));
  }

  /**
   * The appearance embedding of each given box, per image in the boxes' order: each box scaled to the model's input
   * as the transform scales the image, pooled from the FPN levels and through the box head as a final box is
   * (RoiHeads.finalBoxOutputs); one backbone pass for the batch.
   */
  async embedBoxes(requests: BoxesOfImage[]): Promise<(GarmentEmbedding | null)[][]> {
    if (requests.length === 0) return [];
    const batch = this.transform(
      requests.map((r) => r.image),
      false,
    );
    let outputs: { representations: Float32Array }[];
    try {
      const features = tf.tidy(() => backboneForward(this.store, this.config, batch.images));
      try {
        outputs = this.modules.roiHeads.finalBoxOutputs(
          this.store,
          features,
          requests.map((r, i) => scaleBoxes(r.boxes, batch.originalSizes[i], batch.imageSizes[i])),
          batch.imageSizes,
        );
      } finally {
        tf.dispose(features);
      }
    } finally {
      batch.images.dispose();
    }
    return outputs.map((o, i) => GarmentEmbedding.ofRows(o.representations, requests[i].boxes.length / 4));
  }

  /**
   * The training losses (torchvision's names plus `loss_attr_<kind>`) of a batch; call inside a
   * gradient tape. Proposals come from the RPN in training mode, as GeneralizedRCNN.forward does.
   * `statistics` (for nn.BatchNorm2d layers: a `batch_norm` body, v2's FPN and box head): normalise with the
   * batch's statistics and collect them there.
   */
  computeLosses(samples: TrainingSample[], statistics?: BatchStatistics): Record<string, tf.Scalar> {
    const batch = this.transform(
      samples.map((s) => s.image),
      true,
    );
    const targets = samples.map((s, i) => this.toImageTargets(s, batch.originalSizes[i], batch.imageSizes[i]));
    const features = backboneForward(this.store, this.config, batch.images, statistics);
    const anchors = this.anchorsFor(batch.images.shape, features);
    const head = this.modules.rpn.forward(this.store, features);
    const settings = rpnSettings(this.config, true);
    const proposals = filterProposals(anchors, head, batch.imageSizes, settings);
    const rpn = rpnLoss(
      head,
      anchors,
      targets.map((t) => t.boxes),
      settings,
      this.random,
    );
    const roi = this.modules.roiHeads.losses(
      this.store,
      roiSettings(this.config),
      features,
      proposals.map((p) => p.boxes),
      batch.imageSizes,
      targets,
      this.random,
      statistics,
    );
    tf.dispose(anchors);
    return { ...rpn, ...roi };
  }

  /**
   * One SGD step on the sum of the losses; returns the loss values before the step. `clipGradNorm`
   * (optional, off by default as in torchvision's reference) rescales the gradients as
   * torch.nn.utils.clip_grad_norm_: by maxNorm / (total L2 norm + 1e-6) when that is below 1.
   */
  trainStep(samples: TrainingSample[], optimizer: Sgd, options: { clipGradNorm?: number } = {}): LossValues {
    const trainable = this.store.trainable();
    const values: LossValues = {};
    const batchNorms = this.config.norm_layer === 'batch_norm' || this.config.architecture === 'v2';
    const statistics: BatchStatistics | undefined = batchNorms ? new Map() : undefined;
    let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      result = tf.variableGrads(() => {
        const losses = this.computeLosses(samples, statistics);
        for (const [name, loss] of Object.entries(losses)) values[name] = loss.dataSync()[0];
        return tf.addN(Object.values(losses)) as tf.Scalar;
      }, [...trainable.values()]);
    } catch (error) {
      // The batch statistics were kept outside the tape's scope: a failed step must not leak them.
      if (statistics) tf.dispose([...statistics.values()].flatMap((s) => [s.mean, s.variance]));
      throw error;
    }
    const { value, grads } = result;
    // nn.BatchNorm2d moves its running statistics during the training forward; here right after it.
    if (statistics) updateRunningStatistics(this.store, statistics);
    const byName = new Map<string, tf.Tensor>();
    for (const [name, variable] of trainable) if (grads[variable.name]) byName.set(name, grads[variable.name]);
    const clipped = options.clipGradNorm === undefined ? byName : clipGradients(byName, options.clipGradNorm);
    optimizer.step(trainable, clipped);
    tf.dispose([value, ...Object.values(grads)]);
    if (clipped !== byName) tf.dispose([...clipped.values()]);
    return values;
  }

  /** GeneralizedRCNNTransform on raw RGB images (normalise, resize, pad to a multiple of 32, batch). */
  private transform(images: InputImage[], training: boolean): TransformedBatch {
    return transformInputImages(images, this.config, { training, random: this.random });
  }

  private anchorsFor(batchShape: number[], features: tf.Tensor4D[]): tf.Tensor2D {
    return this.anchors.anchorsForImage(
      [batchShape[1], batchShape[2]],
      features.map((f) => [f.shape[1], f.shape[2]] as [number, number]),
    );
  }

  private toImageTargets(sample: TrainingSample, original: ImageSize, resized: ImageSize): ImageTargets {
    const { config } = this;
    sample.garments.forEach((g, i) => {
      const [x1, y1, x2, y2] = g.box;
      if (!(x2 > x1 && y2 > y1)) {
        throw new Error(`garment ${i}: box ${JSON.stringify(g.box)} must have positive width and height (x1, y1, x2, y2)`);
      }
      if (!Number.isInteger(g.label) || g.label < 1 || g.label >= config.num_classes) {
        throw new Error(`garment ${i}: label ${g.label} is not a class index in 1..${config.num_classes - 1}`);
      }
      for (const spec of config.attributes) {
        const v = g.attributes?.[spec.kind];
        if (v === null || v === undefined) continue;
        const indices = spec.type === 'single' ? [v] : v;
        if (
          !Array.isArray(indices) ||
          !indices.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < spec.values.length)
        ) {
          throw new Error(
            `garment ${i}: attribute ${spec.kind} (${spec.type}) has invalid value ${JSON.stringify(v)} (indices 0..${spec.values.length - 1})`,
          );
        }
      }
    });
    return {
      boxes: scaleBoxes(Float32Array.from(sample.garments.flatMap((g) => g.box)), original, resized),
      labels: Int32Array.from(sample.garments.map((g) => g.label)),
      attributes: Object.fromEntries(config.attributes.map((spec) => [spec.kind, sample.garments.map((g) => g.attributes?.[spec.kind])])),
    };
  }

  private toDetections(raw: RawDetections, boxes: Float32Array): Detection[] {
    return toDetections(this.config, raw, boxes);
  }
}

/** GeneralizedRCNNTransform on raw RGB images (normalise, resize, pad to a multiple of 32, batch). */
export function transformInputImages(images: InputImage[], config: ModelConfig, options: TransformOptions = {}): TransformedBatch {
  const tensors = images.map((image, i) => rgbTensor(image.data, image.height, image.width, 3, `image ${i}`));
  try {
    return transformImages(tensors, config, options);
  } finally {
    tf.dispose(tensors);
  }
}

/** Raw detections of one image as Detection objects; `boxes` are already in the input image's pixels. */
export function toDetections(config: ModelConfig, raw: RawDetections, boxes: Float32Array): Detection[] {
  const width = raw.scores.length === 0 ? 0 : raw.representations.length / raw.scores.length;
  return Array.from(raw.scores, (score, i): Detection => ({
    box: [boxes[i * 4], boxes[i * 4 + 1], boxes[i * 4 + 2], boxes[i * 4 + 3]],
    label: raw.labels[i],
    className: config.class_names[raw.labels[i]],
    score,
    attributes: Object.fromEntries(
      config.attributes.map((spec) => {
        const width = spec.values.length;
        const probabilities = (raw.attributes.get(spec.kind) as Float32Array).subarray(i * width, (i + 1) * width);
        const ranked = spec.values.map((value, j) => ({ value, probability: probabilities[j] }));
        ranked.sort((a, b) => b.probability - a.probability);
        return [spec.kind, ranked];
      }),
    ),
    embedding: GarmentEmbedding.fromRepresentation(raw.representations.subarray(i * width, (i + 1) * width)),
  }));
}
