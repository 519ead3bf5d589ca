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
import {
  AttributeRCNN,
  scaleBoxes,
  toDetections,
  transformInputImages,
  type BoxesOfImage,
  type Detection,
  type InputImage,
} from '../model/attribute-rcnn';
import type { RawDetections } from '../model/roi-heads';
import { GarmentEmbedding } from '../embedding/garment-embedding';
import {
  attributeOutput,
  buildGraph,
  EMBEDDING_INPUTS,
  EMBEDDING_OUTPUTS,
  EXPORT_FORMAT,
  INPUTS,
  OUTPUTS,
  storeWeights,
  type GraphKind,
} from './export';
import {
  createSessionOn,
  createSessions,
  loadOnnxRuntime,
  type OnnxRuntime,
  type OrtSession,
  type OrtTensor,
  type ProviderChoice,
} from './runtime';
import { ENGINES, type EngineName } from './engine-names';

/** What both engines offer the model server and `kfashion predict`. */
export interface Predictor {
  readonly config: ModelConfig;
  predict(images: InputImage[]): Promise<Detection[][]>;
  /** The appearance embedding of each given box (boxes in each image's pixels), per image in the boxes' order. */
  embedBoxes(requests: BoxesOfImage[]): Promise<(GarmentEmbedding | null)[][]>;
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

/**
 * The cache file beside the weights, keyed by the exporter's format, the config and the weights file's size and time;
 * the embedding graph's ends in `.embed.onnx`.
 */
export function cachedModelPath(config: ModelConfig, weightsPath: string, kind: GraphKind = 'detect'): string {
  const stat = statSync(weightsPath);
  const key = createHash('sha256')
    .update(`${EXPORT_FORMAT}\n${configToJson(config)}\n${stat.size}\n${stat.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  return `${weightsPath.replace(/\.(safetensors|pth|pt)$/, '')}.${key}${kind === 'embed' ? '.embed' : ''}.onnx`;
}

/** Exports the model (or its embedding graph) from the weights file (loaded as the tfjs engine loads it). */
export function exportFromWeights(config: ModelConfig, weightsPath: string, kind: GraphKind = 'detect'): Uint8Array {
  const model = AttributeRCNN.withWeights(config, weightsPath);
  try {
    return buildGraph(kind, config, storeWeights(model.store));
  } finally {
    model.dispose();
  }
}

/**
 * The cached export, or a fresh one written to the cache (through a temporary file and a rename, so a reader never
 * sees half a file). A read-only weights folder only costs the cache: the export is then used from memory.
 */
export function cachedExport(
  config: ModelConfig,
  weightsPath: string,
  log: (line: string) => void = console.error,
  kind: GraphKind = 'detect',
): Uint8Array {
  const cached = cachedModelPath(config, weightsPath, kind);
  if (existsSync(cached)) return readFileSync(cached);
  const model = exportFromWeights(config, weightsPath, kind);
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

/** A box every image holds (the padding of embedBoxes' lists; its rows are dropped). */
const PADDING_BOX = Float32Array.of(0, 0, 1, 1);

/** Rows [from, to) of a [N, D, width] output, flattened. */
function rows(tensor: OrtTensor, from: number, to: number): Float32Array {
  const width = tensor.dims.slice(2).reduce((a, b) => a * b, 1);
  return (tensor.data as Float32Array).slice(from * width, to * width);
}

/** Where the embedding graph comes from when it is first needed (an export, or its cache). */
export type EmbeddingGraphSource = () => Uint8Array;

export class OnnxAttributeRCNN implements Predictor {
  /** The embedding graph's session, created on the first embedBoxes: a server that only detects never loads it. */
  private embedding: Promise<OrtSession> | null = null;

  private constructor(
    readonly config: ModelConfig,
    private readonly runtime: OnnxRuntime,
    private readonly session: OrtSession,
    readonly provider: ProviderChoice,
    private readonly embeddingGraph: EmbeddingGraphSource | null,
    private readonly threads: number | undefined,
  ) {}

  /** The model of a config and weights file (exported once, cached beside the weights; the embedding graph too, when first used). */
  static async create(config: ModelConfig, weightsPath: string, options: OnnxEngineOptions = {}): Promise<OnnxAttributeRCNN> {
    const runtime = loadOnnxRuntime();
    return OnnxAttributeRCNN.fromModel(config, cachedExport(config, weightsPath, options.log), options, runtime, () =>
      cachedExport(config, weightsPath, options.log, 'embed'),
    );
  }

  /** The model of an exported graph; `embeddingGraph` (null: embedBoxes refuses) gives the embedding graph of the same weights. */
  static async fromModel(
    config: ModelConfig,
    model: Uint8Array,
    options: OnnxEngineOptions = {},
    runtime = loadOnnxRuntime(),
    embeddingGraph: EmbeddingGraphSource | null = null,
  ): Promise<OnnxAttributeRCNN> {
    const { sessions, choice } = await createSessions({ model }, options.env, runtime, options.threads, options.cpuOnly);
    (options.log ?? console.error)(
      `[kfashion] onnx engine: ONNX Runtime on ${choice.provider}${choice.cudaSkipped ? ` (CUDA not used: ${choice.cudaSkipped})` : ''}`,
    );
    return new OnnxAttributeRCNN(config, runtime, sessions.model, choice, embeddingGraph, options.threads);
  }

  dispose(): void {
    void this.session.release();
    void this.embedding?.then((session) => session.release()).catch(() => undefined);
  }

  private embeddingSession(): Promise<OrtSession> {
    if (!this.embeddingGraph) throw new Error('onnx engine: this model was built without its embedding graph');
    if (!this.embedding) {
      const graph = this.embeddingGraph;
      this.embedding = (async () => createSessionOn(this.runtime, graph(), this.provider.provider, this.threads))();
      // A failed creation is retried by the next call, not remembered.
      this.embedding.catch(() => (this.embedding = null));
    }
    return this.embedding;
  }

  /**
   * The appearance embedding of each given box (as AttributeRCNN.embedBoxes): the boxes scaled to the transformed
   * images, each image's list padded to the longest with copies of a valid box whose rows are then dropped.
   */
  async embedBoxes(requests: BoxesOfImage[]): Promise<(GarmentEmbedding | null)[][]> {
    const counts = requests.map((r) => r.boxes.length / 4);
    const longest = Math.max(0, ...counts);
    if (longest === 0) return counts.map(() => []);
    const session = await this.embeddingSession();
    const batch = transformInputImages(
      requests.map((r) => r.image),
      this.config,
    );
    const shape = batch.images.shape;
    const pixels = batch.images.dataSync() as Float32Array;
    batch.images.dispose();
    const boxes = new Float32Array(requests.length * longest * 4);
    requests.forEach((r, n) => {
      const scaled = scaleBoxes(r.boxes, batch.originalSizes[n], batch.imageSizes[n]);
      for (let k = 0; k < longest; k++) boxes.set(k < counts[n] ? scaled.subarray(k * 4, k * 4 + 4) : PADDING_BOX, (n * longest + k) * 4);
    });
    const out = await session.run({
      [EMBEDDING_INPUTS.images]: new this.runtime.Tensor('float32', pixels, shape),
      [EMBEDDING_INPUTS.boxes]: new this.runtime.Tensor('float32', boxes, [requests.length, longest, 4]),
    });
    const representations = out[EMBEDDING_OUTPUTS.representations];
    return counts.map((count, n) => GarmentEmbedding.ofRows(rows(representations, n * longest, n * longest + count), count));
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
        representations: rows(out[OUTPUTS.representations], from, to),
      };
      return toDetections(this.config, raw, scaleBoxes(boxes, imageSize, batch.originalSizes[n]));
    });
  }
}
