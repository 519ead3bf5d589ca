/**
 * The ONNX engine: the Attribute R-CNN served by ONNX Runtime, with output identical in format to the tfjs engine
 * (AttributeRCNN.predict). The graphs (src/ml/onnx/export.ts) are exported once per weights file and config and
 * cached beside the weights; the cheap box logic between them is the tfjs engine's own TypeScript (see the split in
 * export.ts), so both engines select proposals and detections by the same rules.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { configToJson, type ModelConfig } from '../model/config';
import {
  ANCHOR_ASPECT_RATIOS, ANCHOR_SIZES, AttributeRCNN, scaleBoxes, toDetections, transformInputImages, type Detection, type InputImage,
} from '../model/attribute-rcnn';
import { filterProposals, rpnSettings, type RpnHeadOutput } from '../model/rpn';
import { postprocessDetections, roiSettings, type RawDetections } from '../model/roi-heads';
import type { ImageSize } from '../model/transform';
import { AnchorGenerator } from '../ops/anchors';
import { inferScale } from '../ops/roi-align';
import { attributeOutput, EXPORT_FORMAT, exportGraphs, FEATURE_LEVELS, storeWeights, type OnnxGraphs } from './export';
import { createSessions, loadOnnxRuntime, type OnnxRuntime, type OrtSession, type OrtTensor, type ProviderChoice } from './runtime';

/** What both engines offer the model server and `kfashion predict`. */
export interface Predictor {
  readonly config: ModelConfig;
  predict(images: InputImage[]): Promise<Detection[][]>;
  dispose(): void;
}

export const ENGINES = ['tfjs', 'onnx'] as const;
export type EngineName = (typeof ENGINES)[number];
export const ENGINE_ENV_VARIABLE = 'KFASHION_ENGINE';

/** The engine of an explicit choice (a CLI flag), else of KFASHION_ENGINE, else tfjs; errors name where the bad value came from. */
export function resolveEngine(explicit?: string, env: NodeJS.ProcessEnv = process.env): EngineName {
  const [value, source] = explicit ? [explicit, '--engine'] : [env[ENGINE_ENV_VARIABLE], ENGINE_ENV_VARIABLE];
  if (value === undefined || value === '') return 'tfjs';
  if ((ENGINES as readonly string[]).includes(value)) return value as EngineName;
  throw new Error(`${source}: unknown engine "${value}" (expected ${ENGINES.join(' or ')})`);
}

export const ONNX_THREADS_ENV_VARIABLE = 'KFASHION_ONNX_THREADS';

/** KFASHION_ONNX_THREADS: ONNX Runtime's intra-op threads (unset: one per physical core). */
export function onnxThreads(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env[ONNX_THREADS_ENV_VARIABLE];
  if (value === undefined || value === '') return undefined;
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`${ONNX_THREADS_ENV_VARIABLE}: expected a positive integer, got "${value}"`);
  return Number(value);
}

/** The model of a config and weights file on the chosen engine. */
export async function loadPredictor(config: ModelConfig, weightsPath: string, engine: EngineName): Promise<Predictor> {
  if (engine === 'onnx') return OnnxAttributeRCNN.create(config, weightsPath, { threads: onnxThreads() });
  return AttributeRCNN.withWeights(config, weightsPath);
}

/** Cache file names beside the weights, keyed by the exporter's format, the config and the weights file's size and time. */
export function cachedGraphPaths(config: ModelConfig, weightsPath: string): Record<keyof OnnxGraphs, string> {
  const stat = statSync(weightsPath);
  const key = createHash('sha256').update(`${EXPORT_FORMAT}\n${configToJson(config)}\n${stat.size}\n${stat.mtimeMs}`).digest('hex').slice(0, 16);
  const base = weightsPath.replace(/\.(safetensors|pth|pt)$/, '');
  return { features: `${base}.${key}.features.onnx`, roiHeads: `${base}.${key}.roi-heads.onnx` };
}

/** Exports the graphs from the weights file (loaded as the tfjs engine loads it). */
export function exportFromWeights(config: ModelConfig, weightsPath: string): OnnxGraphs {
  const model = AttributeRCNN.withWeights(config, weightsPath);
  try {
    return exportGraphs(config, storeWeights(model.store));
  } finally {
    model.dispose();
  }
}

/**
 * The cached graphs, or a fresh export written to the cache (through a temporary file and a rename, so a reader
 * never sees half a file). A read-only weights folder only costs the cache: the export is then used from memory.
 */
export function cachedExport(config: ModelConfig, weightsPath: string, log: (line: string) => void = console.error): OnnxGraphs {
  const paths = cachedGraphPaths(config, weightsPath);
  if (existsSync(paths.features) && existsSync(paths.roiHeads)) {
    return { features: readFileSync(paths.features), roiHeads: readFileSync(paths.roiHeads) };
  }
  const graphs = exportFromWeights(config, weightsPath);
  try {
    for (const key of ['features', 'roiHeads'] as const) {
      const temporary = `${paths[key]}.${process.pid}.tmp`;
      writeFileSync(temporary, graphs[key]);
      renameSync(temporary, paths[key]);
    }
  } catch (error) {
    log(`onnx engine: cannot cache the exported model beside ${path.basename(weightsPath)} (${(error as Error).message}); using it from memory`);
  }
  return graphs;
}

type FeatureMaps = OrtTensor[];

export interface OnnxEngineOptions {
  /** Environment for the GPU probe (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** ONNX Runtime's intra-op threads (default: one per physical core). */
  threads?: number;
  /** Where the provider line and cache notices go (default: console.error). */
  log?: (line: string) => void;
}

function floats(tensor: OrtTensor): Float32Array {
  return tensor.data as Float32Array;
}

export class OnnxAttributeRCNN implements Predictor {
  private readonly anchors = new AnchorGenerator(ANCHOR_SIZES, ANCHOR_ASPECT_RATIOS);

  private constructor(
    readonly config: ModelConfig,
    private readonly runtime: OnnxRuntime,
    private readonly features: OrtSession,
    private readonly roiHeads: OrtSession,
    readonly provider: ProviderChoice,
  ) {}

  /** The model of a config and weights file (exported once, cached beside the weights). */
  static async create(config: ModelConfig, weightsPath: string, options: OnnxEngineOptions = {}): Promise<OnnxAttributeRCNN> {
    const runtime = loadOnnxRuntime();
    return OnnxAttributeRCNN.fromGraphs(config, cachedExport(config, weightsPath, options.log), options, runtime);
  }

  static async fromGraphs(config: ModelConfig, graphs: OnnxGraphs, options: OnnxEngineOptions = {}, runtime = loadOnnxRuntime()): Promise<OnnxAttributeRCNN> {
    const { sessions, choice } = await createSessions(graphs, options.env, runtime, options.threads);
    (options.log ?? console.error)(`[kfashion] onnx engine: ONNX Runtime on ${choice.provider}${choice.cudaSkipped ? ` (CUDA not used: ${choice.cudaSkipped})` : ''}`);
    return new OnnxAttributeRCNN(config, runtime, sessions.features, sessions.roiHeads, choice);
  }

  dispose(): void {
    void this.features.release();
    void this.roiHeads.release();
  }

  /** Detections per image, best first, boxes in each input image's pixels (as AttributeRCNN.predict). */
  async predict(images: InputImage[]): Promise<Detection[][]> {
    if (images.length === 0) return [];
    const batch = transformInputImages(images, this.config);
    const shape = batch.images.shape;
    const pixels = batch.images.dataSync() as Float32Array;
    batch.images.dispose();
    const out = await this.features.run({ images: new this.runtime.Tensor('float32', pixels, shape) });
    const levels = Array.from({ length: FEATURE_LEVELS }, (_, i) => out[`p${i + 2}`]);
    this.checkScales(levels, batch.imageSizes);
    const proposals = this.proposals(out, levels, [shape[1], shape[2]], batch.imageSizes);
    const heads = await this.runRoiHeads(levels, proposals);
    const detections = tf.tidy(() => postprocessDetections({
      classLogits: tf.tensor2d(floats(heads.class_logits), heads.class_logits.dims as [number, number]),
      boxRegression: tf.tensor2d(floats(heads.box_regression), heads.box_regression.dims as [number, number]),
    }, proposals, batch.imageSizes, roiSettings(this.config)));
    const attributes = await this.attributes(levels, detections.map((d) => d.boxes));
    return detections.map((d, i) => {
      const raw: RawDetections = { ...d, attributes: attributes[i] };
      return toDetections(this.config, raw, scaleBoxes(d.boxes, batch.imageSizes[i], batch.originalSizes[i]));
    });
  }

  /** The graph pools with fixed scales 1/4..1/32: MultiScaleRoIAlign's inferred scales must be those. */
  private checkScales(levels: FeatureMaps, imageSizes: ImageSize[]): void {
    const maxHeight = Math.max(...imageSizes.map(([h]) => h));
    levels.forEach((level, i) => {
      const scale = inferScale(level.dims[2], maxHeight);
      if (scale !== 1 / 2 ** (i + 2)) throw new Error(`onnx engine: feature level ${i + 2} has scale ${scale}, the exported RoiAlign assumes ${1 / 2 ** (i + 2)}`);
    });
  }

  /** RPN proposals per image, by the tfjs engine's filterProposals on the graph's objectness and deltas. */
  private proposals(out: Record<string, OrtTensor>, levels: FeatureMaps, padded: ImageSize, imageSizes: ImageSize[]): Float32Array[] {
    const sizes = levels.map((l): [number, number] => [l.dims[2], l.dims[3]]);
    const [topH, topW] = sizes[sizes.length - 1];
    sizes.push([Math.ceil(topH / 2), Math.ceil(topW / 2)]);
    const perLocation = ANCHOR_SIZES[0].length * ANCHOR_ASPECT_RATIOS[0].length;
    const anchors = this.anchors.anchorsForImage(padded, sizes);
    const head: RpnHeadOutput = {
      objectness: tf.tensor2d(floats(out.objectness), out.objectness.dims as [number, number]),
      deltas: tf.tensor3d(floats(out.deltas), out.deltas.dims as [number, number, number]),
      numAnchorsPerLevel: sizes.map(([h, w]) => h * w * perLocation),
    };
    try {
      return filterProposals(anchors, head, imageSizes, rpnSettings(this.config, false)).map((p) => p.boxes);
    } finally {
      tf.dispose([anchors, head.objectness, head.deltas]);
    }
  }

  /** The roi-heads graph on boxes per image ([K·4] each); an empty set of boxes gives empty outputs without a run. */
  private async runRoiHeads(levels: FeatureMaps, boxesPerImage: Float32Array[]): Promise<Record<string, OrtTensor>> {
    const counts = boxesPerImage.map((b) => b.length / 4);
    const total = counts.reduce((a, b) => a + b, 0);
    const rois = new Float32Array(total * 4);
    const batchIndices = new BigInt64Array(total);
    let row = 0;
    boxesPerImage.forEach((boxes, image) => {
      rois.set(boxes, row * 4);
      batchIndices.fill(BigInt(image), row, row + counts[image]);
      row += counts[image];
    });
    if (total === 0) return this.emptyRoiOutputs();
    const feeds: Record<string, OrtTensor> = {
      rois: new this.runtime.Tensor('float32', rois, [total, 4]),
      batch_indices: new this.runtime.Tensor('int64', batchIndices, [total]),
    };
    levels.forEach((level, i) => (feeds[`p${i + 2}`] = level));
    return this.roiHeads.run(feeds);
  }

  private emptyRoiOutputs(): Record<string, OrtTensor> {
    const empty = (width: number) => new this.runtime.Tensor('float32', new Float32Array(0), [0, width]);
    return {
      class_logits: empty(this.config.num_classes),
      box_regression: empty(this.config.num_classes * 4),
      ...Object.fromEntries(this.config.attributes.map((spec) => [attributeOutput(spec.kind), empty(spec.values.length)])),
    };
  }

  /** Attribute probabilities of the final boxes (pooled again there), split per image. */
  private async attributes(levels: FeatureMaps, boxesPerImage: Float32Array[]): Promise<Map<string, Float32Array>[]> {
    const total = boxesPerImage.reduce((sum, b) => sum + b.length / 4, 0);
    const heads = this.config.attributes.length > 0 && total > 0 ? await this.runRoiHeads(levels, boxesPerImage) : this.emptyRoiOutputs();
    let row = 0;
    return boxesPerImage.map((boxes) => {
      const count = boxes.length / 4;
      const perKind = new Map(this.config.attributes.map((spec) => {
        const width = spec.values.length;
        return [spec.kind, floats(heads[attributeOutput(spec.kind)]).slice(row * width, (row + count) * width)];
      }));
      row += count;
      return perKind;
    });
  }
}
