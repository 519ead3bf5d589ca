/**
 * `kfashion bench-gpu`: the numbers a GPU user needs first, measured on the real model at real sizes — inference
 * images/s on both engines (tfjs on the backend the model server would choose, ONNX Runtime on the provider it
 * would choose) per batch size, and a training step's images/s and peak tensor memory per backbone — each next to
 * the same run on the CPU (wasm backend, ONNX Runtime's CPU provider) when the run in use is not on the CPU already.
 * The model has random weights: the work per image does not depend on them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendInfo } from '../backend';
import { AttributeRCNN, type InputImage, type TrainingSample } from '../model/attribute-rcnn';
import { resolveConfig, type BackboneName, type ModelConfig } from '../model/config';
import { Sgd } from '../train/sgd';
import { checkStepMemory, trainingMemoryBudget } from '../train/step-memory';
import { OnnxAttributeRCNN, type EngineName, type Predictor } from '../onnx/engine';
import type { ProviderChoice } from '../onnx/runtime';
import { buildModelGraph, storeWeights } from '../onnx/export';
import { probeGpus } from './gpu';

export interface GpuBenchOptions {
  /** Side of the square test images in pixels (the model's min_size and max_size). */
  size: number;
  /** Inference batch sizes; the best one is marked. */
  batches: number[];
  /** Timed calls per measurement, after one warm-up call. */
  iterations: number;
  inferenceBackbone: BackboneName;
  trainingBackbones: BackboneName[];
  /** Images per training step. */
  trainingBatch: number;
  engines: EngineName[];
  /** Also run each measurement on the CPU when the one in use is not (default true). */
  cpuReference: boolean;
  /** The model's classes and attribute heads (config fields), which size its heads. */
  labelSpace: Pick<ModelConfig, 'class_names' | 'attributes'>;
  /** TensorFlow.js backend as for the model server (--backend, else KFASHION_TF_BACKEND, else the best). */
  backend?: string;
  env?: NodeJS.ProcessEnv;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface Measurement {
  /** Null when the run failed. */
  imagesPerSecond: number | null;
  /** Peak bytes of TensorFlow.js tensors during the warm-up call (training only; null for inference). */
  peakBytes: number | null;
  /** Why the run failed (out of memory, most likely), null when it did not: the other runs go on. */
  failed: string | null;
}

export interface BenchRow {
  workload: string;
  batch: number;
  /** "tfjs on tensorflow (cuda)", "onnx on cpu". */
  runsOn: string;
  measured: Measurement;
  /** The run in use is on the CPU already: there is no CPU reference to run. */
  onCpu: boolean;
  /** The same run on the CPU; null when the run in use is on the CPU or the reference was not asked for. */
  cpu: Measurement | null;
  /** The batch with the most images/s of its workload. */
  best: boolean;
}

export interface GpuBenchReport {
  date: string;
  node: string;
  backend: Pick<BackendInfo, 'name' | 'device' | 'detail'>;
  gpus: string[];
  gpuProblem: string | null;
  /** The ONNX Runtime provider of the onnx rows and why not CUDA; null without the onnx engine. */
  onnx: ProviderChoice | null;
  settings: Omit<GpuBenchOptions, 'labelSpace' | 'env' | 'log' | 'backend'>;
  rows: BenchRow[];
}

/** The CPU backend a tfjs measurement is compared with (the model server's choice without tfjs-node). */
const CPU_BACKEND = 'wasm';
/** Small enough that random weights do not send a step's losses to NaN; the cost of a step does not depend on it. */
const TRAINING_SGD = { lr: 1e-6, momentum: 0.9, weightDecay: 1e-4 };

function benchConfig(options: GpuBenchOptions, backbone: BackboneName): ModelConfig {
  return resolveConfig({ backbone, ...options.labelSpace, min_size: options.size, max_size: options.size }, 'bench-gpu model config');
}

/** Deterministic, textured images (flat ones would let the RPN find nothing). */
function testImages(count: number, size: number): InputImage[] {
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(size * size * 3);
    for (let k = 0; k < data.length; k++) data[k] = (k * 31 + (k >> 9) * 7 + i * 17) % 256;
    return { data, width: size, height: size };
  });
}

function trainingSamples(count: number, size: number): TrainingSample[] {
  const box = (a: number, b: number, c: number, d: number) =>
    [a, b, c, d].map((f) => Math.round(f * size)) as [number, number, number, number];
  return testImages(count, size).map((image) => ({
    image,
    garments: [
      { box: box(0.1, 0.05, 0.45, 0.6), label: 1 },
      { box: box(0.2, 0.5, 0.7, 0.95), label: 2 },
    ],
  }));
}

/** One warm-up call (its peak tensor memory when asked), then `iterations` timed calls of `images` images each. */
async function measure(images: number, iterations: number, call: () => Promise<unknown>, withMemory: boolean): Promise<Measurement> {
  let peakBytes: number | null = null;
  if (withMemory)
    peakBytes = (
      await tf.profile(async () => {
        await call();
      })
    ).peakBytes;
  else await call();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await call();
  const seconds = (performance.now() - start) / 1000;
  return { imagesPerSecond: (images * iterations) / seconds, peakBytes, failed: null };
}

/** A run's measurement, or its failure: one run out of memory must not lose the table. */
async function attempt(run: () => Promise<Measurement>): Promise<Measurement> {
  try {
    return await run();
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return { imagesPerSecond: null, peakBytes: null, failed: message };
  }
}

async function tfjsInference(options: GpuBenchOptions, batch: number): Promise<Measurement> {
  const model = AttributeRCNN.create(benchConfig(options, options.inferenceBackbone), 0);
  try {
    const images = testImages(batch, options.size);
    return await measure(batch, options.iterations, () => model.predict(images), false);
  } finally {
    model.dispose();
  }
}

async function onnxPredictor(options: GpuBenchOptions, cpuOnly: boolean): Promise<OnnxAttributeRCNN> {
  const config = benchConfig(options, options.inferenceBackbone);
  const model = AttributeRCNN.create(config, 0);
  let graph: Uint8Array;
  try {
    graph = buildModelGraph(config, storeWeights(model.store));
  } finally {
    model.dispose();
  }
  return OnnxAttributeRCNN.fromModel(config, graph, { env: options.env, cpuOnly, log: () => undefined });
}

async function predictorInference(predictor: Predictor, options: GpuBenchOptions, batch: number): Promise<Measurement> {
  const images = testImages(batch, options.size);
  return measure(batch, options.iterations, () => predictor.predict(images), false);
}

/** A training step on `backend`; one that cannot fit its memory is refused before it starts, as a run would be. */
async function trainingStep(
  options: GpuBenchOptions,
  backbone: BackboneName,
  backend: Pick<BackendInfo, 'name' | 'device'>,
): Promise<Measurement> {
  const config = benchConfig(options, backbone);
  const refusal = checkStepMemory(config, options.trainingBatch, await trainingMemoryBudget(backend, options.env));
  if (refusal) return { imagesPerSecond: null, peakBytes: null, failed: `refused before the step: ${refusal.message}` };
  const model = AttributeRCNN.create(config, 0);
  const optimizer = new Sgd(TRAINING_SGD);
  try {
    const samples = trainingSamples(options.trainingBatch, options.size);
    return await measure(options.trainingBatch, options.iterations, async () => model.trainStep(samples, optimizer), true);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

interface Workload {
  workload: string;
  batch: number;
  engine: EngineName;
  /**
   * `cpuOnly`: an onnx run makes a session on ONNX Runtime's CPU provider; a tfjs run always uses the current
   * backend, which runGpuBench switches to wasm before the CPU runs.
   */
  run(cpuOnly: boolean): Promise<Measurement>;
}

function workloads(
  options: GpuBenchOptions,
  backend: Pick<BackendInfo, 'name' | 'device'>,
  onnx: { predictor: OnnxAttributeRCNN | null; cpu: () => Promise<OnnxAttributeRCNN> },
): Workload[] {
  const list: Workload[] = [];
  const inference = `inference ${options.inferenceBackbone} ${options.size}×${options.size}`;
  if (options.engines.includes('tfjs')) {
    for (const batch of options.batches)
      list.push({ workload: inference, batch, engine: 'tfjs', run: () => tfjsInference(options, batch) });
  }
  if (onnx.predictor) {
    const onGpu = onnx.predictor;
    for (const batch of options.batches) {
      list.push({
        workload: inference,
        batch,
        engine: 'onnx',
        run: async (cpuOnly) => predictorInference(cpuOnly ? await onnx.cpu() : onGpu, options, batch),
      });
    }
  }
  for (const backbone of options.trainingBackbones) {
    list.push({
      workload: `training step ${backbone} ${options.size}×${options.size}`,
      batch: options.trainingBatch,
      engine: 'tfjs',
      run: (cpuOnly) => trainingStep(options, backbone, cpuOnly ? { name: CPU_BACKEND, device: 'cpu' } : backend),
    });
  }
  return list;
}

function markBest(rows: BenchRow[]): BenchRow[] {
  const best = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.workload} ${row.runsOn}`;
    best.set(key, Math.max(best.get(key) ?? 0, row.measured.imagesPerSecond ?? 0));
  }
  return rows.map((row) => ({
    ...row,
    best: row.measured.imagesPerSecond !== null && best.get(`${row.workload} ${row.runsOn}`) === row.measured.imagesPerSecond,
  }));
}

/** Runs every measurement on the backend and provider in use, then (unless they are the CPU) on the CPU. */
export async function runGpuBench(options: GpuBenchOptions): Promise<GpuBenchReport> {
  const log = options.log ?? (() => undefined);
  const info = await initBackend(options.backend, { env: options.env, log });
  const gpu = await probeGpus(options.env);
  const predictor = options.engines.includes('onnx') ? await onnxPredictor(options, false) : null;
  let cpuPredictor: OnnxAttributeRCNN | null = null;
  const onnxCpu = async () => (cpuPredictor ??= await onnxPredictor(options, true));
  const list = workloads(options, info, { predictor, cpu: onnxCpu });
  const onCpu = (engine: EngineName) => (engine === 'tfjs' ? info.device === 'cpu' : predictor?.provider.provider !== 'cuda');
  const runsOn = (engine: EngineName) =>
    engine === 'tfjs' ? `tfjs on ${info.name} (${info.device})` : `onnx on ${predictor?.provider.provider}`;
  try {
    const measured: Measurement[] = [];
    for (const item of list) {
      log(`bench-gpu: ${item.workload}, batch ${item.batch}, ${runsOn(item.engine)}`);
      measured.push(await attempt(() => item.run(false)));
    }
    const cpu: (Measurement | null)[] = list.map(() => null);
    if (options.cpuReference) {
      if (list.some((item) => item.engine === 'tfjs' && !onCpu('tfjs'))) await initBackend(CPU_BACKEND, { env: options.env, log });
      for (const [i, item] of list.entries()) {
        if (onCpu(item.engine)) continue;
        log(`bench-gpu: ${item.workload}, batch ${item.batch}, the same on the CPU`);
        cpu[i] = await attempt(() => item.run(true));
      }
    }
    const rows = list.map((item, i) => ({
      workload: item.workload,
      batch: item.batch,
      runsOn: runsOn(item.engine),
      measured: measured[i],
      onCpu: onCpu(item.engine),
      cpu: cpu[i],
      best: false,
    }));
    const { labelSpace: _labels, env: _env, log: _log, backend: _backend, ...settings } = options;
    return {
      date: new Date().toISOString(),
      node: process.version,
      backend: { name: info.name, device: info.device, detail: info.detail },
      gpus: gpu.gpus.map(
        (g) => `${g.name} (compute capability ${g.computeCapability ?? 'unknown'}, ${g.memoryTotalMiB} MiB, driver ${g.driverVersion})`,
      ),
      gpuProblem: gpu.problem,
      onnx: predictor?.provider ?? null,
      settings,
      rows: markBest(rows),
    };
  } finally {
    predictor?.dispose();
    (cpuPredictor as OnnxAttributeRCNN | null)?.dispose();
  }
}

function rate(value: number): string {
  return value >= 10 ? value.toFixed(1) : value.toPrecision(3);
}

function ratePerImage({ imagesPerSecond, failed }: Measurement): [string, string] {
  return imagesPerSecond === null ? [`failed: ${failed}`, '—'] : [rate(imagesPerSecond), rate(1 / imagesPerSecond)];
}

function mebibytes(bytes: number | null): string {
  return bytes === null ? '—' : `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** The report as one Markdown table (with a line naming the host above it), to paste into an issue. */
export function formatGpuBenchMarkdown(report: GpuBenchReport): string {
  const gpus = report.gpus.length > 0 ? report.gpus.join('; ') : `no GPU (${report.gpuProblem})`;
  const onnx = report.onnx
    ? `, ONNX Runtime on ${report.onnx.provider}${report.onnx.cudaSkipped ? ` (CUDA not used: ${report.onnx.cudaSkipped})` : ''}`
    : '';
  const lines = [
    `kfashion bench-gpu, ${report.date}: Node ${report.node}, TensorFlow.js backend ${report.backend.name} (${report.backend.device})${onnx}, ${gpus}; ${report.settings.iterations} timed call(s) after a warm-up, random weights`,
    '',
    '| workload | batch | runs on | images/s | s/image | peak tensor memory | CPU images/s | × CPU |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of report.rows) {
    const cpu = row.cpu !== null ? ratePerImage(row.cpu)[0] : row.onCpu ? '— (runs on the CPU)' : '— (--no-cpu)';
    const both = row.measured.imagesPerSecond !== null && row.cpu?.imagesPerSecond;
    const speedup = both ? `${((row.measured.imagesPerSecond as number) / (row.cpu?.imagesPerSecond as number)).toFixed(1)}×` : '—';
    const best = row.best && report.settings.batches.length > 1 && row.workload.startsWith('inference') ? ' (best)' : '';
    const [imagesPerSecond, secondsPerImage] = ratePerImage(row.measured);
    lines.push(
      `| ${row.workload} | ${row.batch}${best} | ${row.runsOn} | ${imagesPerSecond} | ${secondsPerImage} | ${mebibytes(row.measured.peakBytes)} | ${cpu} | ${speedup} |`,
    );
  }
  return lines.join('\n');
}
