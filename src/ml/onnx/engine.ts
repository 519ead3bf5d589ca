/**
 * The ONNX engine: the Attribute R-CNN served by ONNX Runtime, with output identical in format to the tfjs engine
 * (AttributeRCNN.predict). The model is one graph (src/ml/onnx/export.ts), exported once per weights file and config
 * and cached beside the weights; the transform before it and the scaling of boxes back to the input images after it
 * are the tfjs engine's own TypeScript.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { configToJson, type ModelConfig } from '../model/config';
import { AttributeRCNN, scaleBoxes, toDetections, transformInputImages, type Detection, type InputImage } from '../model/attribute-rcnn';
import type { RawDetections } from '../model/roi-heads';
import { attributeOutput, buildModelGraph, EXPORT_FORMAT, INPUTS, OUTPUTS, storeWeights } from './export';
import { createSessions, loadOnnxRuntime, type OnnxRuntime, type OrtSession, type OrtTensor, type ProviderChoice } from './runtime';
import { ENGINES, type EngineName } from './engine-names';

/** What both engines offer the model server and `kfashion predict`. */
export interface Predictor {
  readonly config: ModelConfig;
  predict(images: InputImage[]): Promise<Detection[][]>;
  dispose(): void;
}

export { ENGINES, type EngineName };
export const ENGINE_ENV_VARIABLE = 'KFASHION_ENGINE';

/** The engine of an explicit choice (a CLI flag), else of KFASHION_ENGINE, else tfjs; errors name where the bad value came from. */
export function resolveEngine(explicit?: string, env: { readonly KFASHION_ENGINE?: string } = {}): EngineName {
  const [value, source] = explicit ? [explicit, '--engine'] : [env[ENGINE_ENV_VARIABLE], ENGINE_ENV_VARIABLE];
  if (value === undefined || value === '') return 'tfjs';
  if ((ENGINES as readonly string[]).includes(value)) return value as EngineName;
  throw new Error(`${source}: unknown engine "${value}" (expected ${ENGINES.join(' or ')})`);
}

export const ONNX_THREADS_ENV_VARIABLE = 'KFASHION_ONNX_THREADS';

/** KFASHION_ONNX_THREADS (as the CLI read it): ONNX Runtime's intra-op threads (unset: one per physical core). */
export function onnxThreads(env: { readonly KFASHION_ONNX_THREADS?: number } = {}): number | undefined {
  const value = env[ONNX_THREADS_ENV_VARIABLE];
  if (value !== undefined && !(Number.isInteger(value) && value >= 1))
    throw new Error(`${ONNX_THREADS_ENV_VARIABLE}: expected a positive integer, got "${value}"`);
  return value;
}

/** The model of a config and weights file on the chosen engine. */
export async function loadPredictor(
  config: ModelConfig,
  weightsPath: string,
  engine: EngineName,
  options: { threads?: number } = {},
): Promise<Predictor> {
  if (engine === 'onnx') return OnnxAttributeRCNN.create(config, weightsPath, { threads: options.threads });
  return AttributeRCNN.withWeights(config, weightsPath);
}

/** The cache file beside the weights, keyed by the exporter's format, the config and the weights file's size and time. */
export function cachedModelPath(config: ModelConfig, weightsPath: string): string {
  const stat = statSync(weightsPath);
  const key = createHash('sha256')
    .update(`${EXPORT_FORMAT}\n${configToJson(config)}\n${stat.size}\n${stat.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  return `${weightsPath.replace(/\.(safetensors|pth|pt)$/, '')}.${key}.onnx`;
}

/** Exports the model from the weights file (loaded as the tfjs engine loads it). */
export function exportFromWeights(config: ModelConfig, weightsPath: string): Uint8Array {
  const model = AttributeRCNN.withWeights(config, weightsPath);
  try {
    return buildModelGraph(config, storeWeights(model.store));
  } finally {
    model.dispose();
  }
}

/**
 * The cached export, or a fresh one written to the cache (through a temporary file and a rename, so a reader never
 * sees half a file). A read-only weights folder only costs the cache: the export is then used from memory.
 */
export function cachedExport(config: ModelConfig, weightsPath: string, log: (line: string) => void = console.error): Uint8Array {
  const cached = cachedModelPath(config, weightsPath);
  if (existsSync(cached)) return readFileSync(cached);
  const model = exportFromWeights(config, weightsPath);
  try {
    const temporary = `${cached}.${process.pid}.tmp`;
    writeFileSync(temporary, model);
    renameSync(temporary, cached);
  } catch (error) {
    log(
      `onnx engine: cannot cache the exported model beside ${path.basename(weightsPath)} (${(error as Error).message}); using it from memory`,
    );
  }
  return model;
}

export interface OnnxEngineOptions {
  /** Environment of the GPU probe's commands (default: this process's, inherited). */
  env?: NodeJS.ProcessEnv;
  /** ONNX Runtime's intra-op threads (default: one per physical core). */
  threads?: number;
  /** Where the provider line and cache notices go (default: console.error). */
  log?: (line: string) => void;
  /** ONNX Runtime's CPU provider even on a GPU host (default false: CUDA when it loads). */
  cpuOnly?: boolean;
}

/** Rows [from, to) of a [N, D, width] output, flattened. */
function rows(tensor: OrtTensor, from: number, to: number): Float32Array {
  const width = tensor.dims.slice(2).reduce((a, b) => a * b, 1);
  return (tensor.data as Float32Array).slice(from * width, to * width);
}

export class OnnxAttributeRCNN implements Predictor {
  private constructor(
    readonly config: ModelConfig,
    private readonly runtime: OnnxRuntime,
    private readonly session: OrtSession,
    readonly provider: ProviderChoice,
  ) {}

  /** The model of a config and weights file (exported once, cached beside the weights). */
  static async create(config: ModelConfig, weightsPath: string, options: OnnxEngineOptions = {}): Promise<OnnxAttributeRCNN> {
    const runtime = loadOnnxRuntime();
    return OnnxAttributeRCNN.fromModel(config, cachedExport(config, weightsPath, options.log), options, runtime);
  }

  static async fromModel(
    config: ModelConfig,
    model: Uint8Array,
    options: OnnxEngineOptions = {},
    runtime = loadOnnxRuntime(),
  ): Promise<OnnxAttributeRCNN> {
    const { sessions, choice } = await createSessions({ model }, options.env, runtime, options.threads, options.cpuOnly);
    (options.log ?? console.error)(
      `[kfashion] onnx engine: ONNX Runtime on ${choice.provider}${choice.cudaSkipped ? ` (CUDA not used: ${choice.cudaSkipped})` : ''}`,
    );
    return new OnnxAttributeRCNN(config, runtime, sessions.model, choice);
  }

  dispose(): void {
    void this.session.release();
  }

  /** Detections per image, best first, boxes in each input image's pixels (as AttributeRCNN.predict). */
  async predict(images: InputImage[]): Promise<Detection[][]> {
    if (images.length === 0) return [];
    const batch = transformInputImages(images, this.config);
    const shape = batch.images.shape;
    const pixels = batch.images.dataSync() as Float32Array;
    batch.images.dispose();
    const out = await this.session.run({
      [INPUTS.images]: new this.runtime.Tensor('float32', pixels, shape),
      [INPUTS.imageSizes]: new this.runtime.Tensor('float32', Float32Array.from(batch.imageSizes.flat()), [images.length, 2]),
    });
    const counts = out[OUTPUTS.counts].data as BigInt64Array;
    const labels = out[OUTPUTS.labels].data as BigInt64Array;
    const detectionsPerImage = out[OUTPUTS.scores].dims[1];
    return batch.imageSizes.map((imageSize, n) => {
      const [from, to] = [n * detectionsPerImage, n * detectionsPerImage + Number(counts[n])];
      const boxes = rows(out[OUTPUTS.boxes], from, to);
      const raw: RawDetections = {
        boxes,
        scores: rows(out[OUTPUTS.scores], from, to),
        labels: Int32Array.from(labels.subarray(from, to), Number),
        attributes: new Map(this.config.attributes.map((spec) => [spec.kind, rows(out[attributeOutput(spec.kind)], from, to)])),
      };
      return toDetections(this.config, raw, scaleBoxes(boxes, imageSize, batch.originalSizes[n]));
    });
  }
}
