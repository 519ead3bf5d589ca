/**
 * `kfashion doctor`: is the GPU used, and if not, why; how fast and how exact the backend in use is
 * compared with the plain cpu backend. `backendSummary` is the cheap part (no timing) for /health.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  BACKEND_ENV_VARIABLE,
  initBackend,
  type BackendInfo,
  type BackendName,
  type InitBackendOptions,
  type SkippedBackend,
} from '../backend';
import { findNativeBinding, lddMissing, missingLibraryInError, probeGpus, type GpuProbe } from './gpu';
import { DOCTOR_OPS, relativeError, runOp, type DoctorOp, type OpRun } from './ops';
import { probeOnnxRuntime, type OnnxRuntimeReport } from '../onnx/runtime';

export interface SkippedBackendReport extends SkippedBackend {
  installed: boolean;
  /** The shared object the native binding could not load (`ldd` name), when that was the failure. */
  missingLibrary: string | null;
}

export interface OpReport {
  name: string;
  description: string;
  onHost: boolean;
  coldMs: number;
  warmMs: number;
  /** The same op on the cpu backend; null when the backend in use is cpu itself. */
  cpuColdMs: number | null;
  cpuWarmMs: number | null;
  relativeError: number | null;
  tolerance: number;
  agrees: boolean | null;
}

export interface DoctorReport {
  node: string;
  platform: string;
  /** Installed version of each TensorFlow.js package (null: not installed). */
  packages: Record<string, string | null>;
  backend: {
    name: BackendName;
    device: 'cuda' | 'cpu';
    detail: string;
    requested: BackendName | null;
    /** Why the requested backend could not be used (the doctor then diagnoses the automatic choice). */
    requestedError: string | null;
    skipped: SkippedBackendReport[];
  };
  libtensorflow: string | null;
  /** Whether libtensorflow created a GPU device (tfjs-node's isUsingGpuDevice); null off the tensorflow backend. */
  tensorflowUsesGpu: boolean | null;
  gpu: GpuProbe;
  /** Null when timing was not asked for. */
  ops: OpReport[] | null;
  /** cpu-backend warm time / this backend's warm time, summed over the ops that run on the backend. */
  speedupVsCpu: number | null;
  /** The onnx engine (--engine onnx): onnxruntime-node and the execution provider it would use. */
  onnx: OnnxRuntimeReport;
  verdict: string;
}

export interface DoctorOptions extends Omit<InitBackendOptions, 'env'> {
  /** The host's environment: its KFASHION_TF_BACKEND and CUDA_VISIBLE_DEVICES are reported, its commands run in it (absent: none read, commands inherit this process's). */
  env?: NodeJS.ProcessEnv;
  /** Backend to diagnose (default: the automatic order, or KFASHION_TF_BACKEND). */
  backend?: string;
  /** Time and compare the ops (default true); false keeps to the cheap facts. */
  timing?: boolean;
  /** Resolves a package's files; injectable to point at a fake native binding. */
  resolveModule?: (request: string) => string;
}

const TFJS_PACKAGES = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
];

function packageVersion(name: string, resolve: (request: string) => string): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package.json of a package found at run time
    return (require(resolve(`${name}/package.json`)) as { version: string }).version;
  } catch {
    return null;
  }
}

function isNotInstalled(skipped: SkippedBackend): boolean {
  return skipped.reason.includes(`Cannot find module '${skipped.module}'`);
}

/** Why each better backend did not load, with the missing shared library from the error or from `ldd`. */
export async function explainSkipped(
  skipped: readonly SkippedBackend[],
  env: NodeJS.ProcessEnv | undefined,
  resolve: (request: string) => string,
): Promise<SkippedBackendReport[]> {
  return Promise.all(
    skipped.map(async (entry) => {
      if (isNotInstalled(entry)) return { ...entry, installed: false, missingLibrary: null };
      let missingLibrary = missingLibraryInError(entry.reason);
      const binding = missingLibrary ? null : findNativeBinding(entry.module, resolve);
      if (binding) missingLibrary = (await lddMissing(binding, env))[0] ?? null;
      return { ...entry, installed: true, missingLibrary };
    }),
  );
}

interface TfjsNodeBinding {
  TF_Version?: unknown;
  isUsingGpuDevice?: () => boolean;
}

/** What tfjs-node's binding says about libtensorflow: its version and whether it runs on a GPU device. */
function libtensorflowFacts(): Pick<DoctorReport, 'libtensorflow' | 'tensorflowUsesGpu'> {
  const binding = tf.getBackend() === 'tensorflow' ? (tf.backend() as unknown as { binding?: TfjsNodeBinding }).binding : undefined;
  return {
    libtensorflow: typeof binding?.TF_Version === 'string' ? binding.TF_Version : null,
    tensorflowUsesGpu: typeof binding?.isUsingGpuDevice === 'function' ? binding.isUsingGpuDevice() : null,
  };
}

async function onBackend<T>(name: string, work: () => Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  if (!(await tf.setBackend(name))) throw new Error(`kfashion doctor: the ${name} backend did not initialise`);
  try {
    return await work();
  } finally {
    await tf.setBackend(previous);
  }
}

/** Microseconds are the resolution that means anything for a timing taken once. */
function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function compare(op: DoctorOp, run: OpRun, reference: OpRun | null): OpReport {
  const error = reference ? Math.max(...run.outputs.map((output, i) => relativeError(output, reference.outputs[i]))) : null;
  return {
    name: op.name,
    description: op.description,
    onHost: op.onHost,
    coldMs: roundMs(run.coldMs),
    warmMs: roundMs(run.warmMs),
    cpuColdMs: reference ? roundMs(reference.coldMs) : null,
    cpuWarmMs: reference ? roundMs(reference.warmMs) : null,
    relativeError: error,
    tolerance: op.tolerance,
    agrees: error === null ? null : error <= op.tolerance,
  };
}

/** Every op on the backend in use, then (unless that is cpu) on the cpu backend for reference. */
export async function timeOps(ops: readonly DoctorOp[] = DOCTOR_OPS): Promise<OpReport[]> {
  const inUse = tf.getBackend();
  const runs: OpRun[] = [];
  for (const op of ops) runs.push(await runOp(op.prepare));
  const references: (OpRun | null)[] = [];
  for (const op of ops) references.push(inUse === 'cpu' ? null : await onBackend('cpu', () => runOp(op.prepareReference ?? op.prepare)));
  return ops.map((op, i) => compare(op, runs[i], references[i]));
}

export function speedupVsCpu(ops: readonly OpReport[]): number | null {
  const onBackendOps = ops.filter((op) => !op.onHost && op.cpuWarmMs !== null);
  if (onBackendOps.length === 0) return null;
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return sum(onBackendOps.map((op) => op.cpuWarmMs as number)) / sum(onBackendOps.map((op) => op.warmMs));
}

function skipReason(skipped: SkippedBackendReport): string {
  if (!skipped.installed) return `${skipped.module} is not installed`;
  if (skipped.missingLibrary) return `${skipped.module} cannot load ${skipped.missingLibrary}`;
  return `${skipped.module} failed to load: ${skipped.reason}`;
}

function whyNotCuda(report: Pick<DoctorReport, 'backend'>): string {
  const gpuPackage = report.backend.skipped.find((s) => s.module === '@tensorflow/tfjs-node-gpu');
  if (gpuPackage) return skipReason(gpuPackage);
  if (report.backend.requested) return `the ${report.backend.requested} backend was requested (--backend or KFASHION_TF_BACKEND)`;
  return `the tensorflow backend runs on the CPU (${report.backend.detail})`;
}

/** The one-line answer to "is my GPU used, and how fast is it?". */
export function verdict(report: Omit<DoctorReport, 'verdict'>): string {
  const { backend, gpu } = report;
  const speed = report.speedupVsCpu === null ? '' : `, ${formatSpeedup(report.speedupVsCpu)}× the cpu backend`;
  const gpuNames = gpu.gpus.map((g) => g.name).join(', ');
  let line: string;
  if (backend.device === 'cuda' && gpu.gpus.length > 0 && report.tensorflowUsesGpu === false) {
    line = `GPU found (${gpuNames}) but not used because libtensorflow created no GPU device (its CUDA/cuDNN libraries or the driver: see TensorFlow's log lines): TensorFlow computes on the CPU${speed}`;
  } else if (backend.device === 'cuda' && gpu.gpus.length > 0) line = `GPU in use (${gpuNames})${speed}`;
  else if (backend.device === 'cuda') line = `@tensorflow/tfjs-node-gpu loaded but ${gpu.problem}: TensorFlow computes on the CPU${speed}`;
  else if (gpu.gpus.length > 0)
    line = `GPU found (${gpuNames}) but not used because ${whyNotCuda(report)}: running on ${backend.name}${speed}`;
  else line = `no GPU (${gpu.problem}): running on ${backend.name}${speed}`;
  if (backend.requestedError) line += `; ${backend.requestedError}`;
  const disagreeing = (report.ops ?? []).filter((op) => op.agrees === false);
  if (disagreeing.length > 0) {
    line += `; WARNING: results differ from the cpu backend for ${disagreeing.map((op) => `${op.name} (relative error ${op.relativeError?.toExponential(1)})`).join(', ')}`;
  }
  return line;
}

function formatSpeedup(value: number): string {
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}

/**
 * The backend as the model server would choose it; when a requested backend cannot load (the model
 * server would stop there), the automatic choice instead, with the error, so that there is still a report.
 */
async function chooseBackend(
  options: DoctorOptions,
  env: NodeJS.ProcessEnv | undefined,
): Promise<{ info: BackendInfo; requestedError: string | null }> {
  const init = { ...options, env, log: options.log ?? (() => undefined) };
  try {
    return { info: await initBackend(options.backend, init), requestedError: null };
  } catch (error) {
    const automatic = await initBackend(undefined, { ...init, env: { ...env, [BACKEND_ENV_VARIABLE]: undefined } });
    return { info: automatic, requestedError: (error as Error).message };
  }
}

/** Initialises the backend as the model server would, probes the host and, unless told not to, times the ops. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env;
  const resolve = options.resolveModule ?? require.resolve;
  const { info, requestedError } = await chooseBackend(options, env);
  const [skipped, gpu, onnx] = await Promise.all([explainSkipped(info.skipped, env, resolve), probeGpus(env), probeOnnxRuntime(env)]);
  const ops = options.timing === false ? null : await timeOps();
  const partial: Omit<DoctorReport, 'verdict'> = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    packages: Object.fromEntries(TFJS_PACKAGES.map((name) => [name, packageVersion(name, resolve)])),
    backend: { name: info.name, device: info.device, detail: info.detail, requested: info.requested ?? null, requestedError, skipped },
    ...libtensorflowFacts(),
    gpu,
    ops,
    speedupVsCpu: ops ? speedupVsCpu(ops) : null,
    onnx,
  };
  return { ...partial, verdict: verdict(partial) };
}

export interface BackendSummary {
  backend: BackendName;
  device: 'cuda' | 'cpu';
  /** Why each better backend was not used ("<module>: <reason>"). */
  notUsed: string[];
  gpus: string[];
  gpuProblem: string | null;
  /** Whether libtensorflow created a GPU device; null off the tensorflow backend. */
  tensorflowUsesGpu: boolean | null;
}

/** The cheap part of the doctor (no timing, one nvidia-smi call): what /health reports. */
export async function backendSummary(info: BackendInfo, env?: NodeJS.ProcessEnv): Promise<BackendSummary> {
  const gpu = await probeGpus(env);
  const notUsed = info.skipped.map((s) => `${s.module}: ${s.reason}`);
  if (info.requested) notUsed.push(`requested ${info.requested} (--backend or KFASHION_TF_BACKEND)`);
  const { tensorflowUsesGpu } = libtensorflowFacts();
  return {
    backend: info.name,
    device: info.device,
    notUsed,
    gpus: gpu.gpus.map((g) => g.name),
    gpuProblem: gpu.problem,
    tensorflowUsesGpu,
  };
}
