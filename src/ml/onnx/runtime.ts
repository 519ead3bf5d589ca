/**
 * onnxruntime-node, loaded on demand: it is an optional dependency, so the project installs and runs (on the
 * TensorFlow.js engine) where it is absent or its native library cannot load. Only the few members the ONNX
 * engine uses are typed here, which keeps type checking independent of the optional package.
 *
 * Execution providers: CUDA is tried when an NVIDIA GPU is visible (onnxruntime-node's CUDA 12 provider is an
 * extra download of its install script, which this project does not run: a GPU host installs it), and the
 * session falls back to the CPU provider, keeping the reason.
 */
import { probeGpus } from '../doctor/gpu';
import { GraphBuilder } from './graph';

export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}

export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtSessionOptions {
  executionProviders: string[];
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  intraOpNumThreads?: number;
}

export interface OnnxRuntime {
  InferenceSession: { create(model: Uint8Array, options: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;
  env: { versions?: { node?: string } };
}

export const ONNX_RUNTIME_PACKAGE = 'onnxruntime-node';

let loaded: { runtime: OnnxRuntime } | { error: string } | null = null;

/** The first line of an error (native loader messages go on for pages). */
function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}

function tryLoad(loadModule: (name: string) => unknown): { runtime: OnnxRuntime } | { error: string } {
  try {
    return { runtime: loadModule(ONNX_RUNTIME_PACKAGE) as OnnxRuntime };
  } catch (error) {
    return { error: firstLine(error) };
  }
}

/**
 * onnxruntime-node, or an Error saying why it cannot be used here and what to do. `loadModule` is injectable so
 * tests can simulate a machine where it does not load (the default loader's result is kept for the process).
 */
export function loadOnnxRuntime(loadModule?: (name: string) => unknown): OnnxRuntime {
  const result = loadModule ? tryLoad(loadModule) : (loaded ??= tryLoad(require));
  if ('error' in result) {
    throw new Error(
      `the onnx engine needs ${ONNX_RUNTIME_PACKAGE} (an optional dependency), which cannot be loaded here: ${result.error}. ` +
        `Install it (npm install ${ONNX_RUNTIME_PACKAGE}) or use the tfjs engine (--engine tfjs).`,
    );
  }
  return result.runtime;
}

export interface ProviderChoice {
  provider: 'cuda' | 'cpu';
  /** Why CUDA is not used (absent when it is). */
  cudaSkipped?: string;
}

/** The sessions of one model, created with the same provider. */
export interface Sessions<K extends string> {
  sessions: Record<K, OrtSession>;
  choice: ProviderChoice;
}

async function createAll<K extends string>(
  runtime: OnnxRuntime,
  models: Record<K, Uint8Array>,
  provider: 'cuda' | 'cpu',
  threads?: number,
): Promise<Record<K, OrtSession>> {
  const out = {} as Record<K, OrtSession>;
  try {
    for (const [name, bytes] of Object.entries(models) as [K, Uint8Array][]) {
      out[name] = await runtime.InferenceSession.create(bytes, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        ...(threads ? { intraOpNumThreads: threads } : {}),
      });
    }
    return out;
  } catch (error) {
    await Promise.all(Object.values<OrtSession>(out).map((s) => s.release()));
    throw error;
  }
}

/** One more session on the provider another session of the same model was given (a graph created on first use). */
export async function createSessionOn(
  runtime: OnnxRuntime,
  model: Uint8Array,
  provider: 'cuda' | 'cpu',
  threads?: number,
): Promise<OrtSession> {
  return (await createAll(runtime, { model }, provider, threads)).model;
}

/**
 * Sessions on CUDA when a GPU is visible and the provider loads, else on the CPU (with the reason). `threads`: the
 * intra-op thread count (default: ONNX Runtime's, one per physical core). `cpuOnly`: the CPU provider whatever the
 * host has (the CPU reference of `kfashion bench-gpu`).
 */
export async function createSessions<K extends string>(
  models: Record<K, Uint8Array>,
  env: NodeJS.ProcessEnv | undefined = undefined,
  runtime: OnnxRuntime = loadOnnxRuntime(),
  threads?: number,
  cpuOnly = false,
): Promise<Sessions<K>> {
  if (cpuOnly)
    return {
      sessions: await createAll(runtime, models, 'cpu', threads),
      choice: { provider: 'cpu', cudaSkipped: 'the CPU provider was asked for' },
    };
  const gpus = await probeGpus(env);
  let cudaSkipped: string;
  if (gpus.gpus.length === 0) {
    cudaSkipped = gpus.problem ?? 'no NVIDIA GPU found';
  } else {
    try {
      return { sessions: await createAll(runtime, models, 'cuda', threads), choice: { provider: 'cuda' } };
    } catch (error) {
      cudaSkipped =
        `CUDA execution provider did not load: ${firstLine(error)} (it needs CUDA 12 and cuDNN 9; fetch it with ` +
        `\`cd node_modules/${ONNX_RUNTIME_PACKAGE} && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install\`)`;
    }
  }
  return { sessions: await createAll(runtime, models, 'cpu', threads), choice: { provider: 'cpu', cudaSkipped } };
}

export interface OnnxRuntimeReport {
  /** onnxruntime-node's version, null when it does not load. */
  version: string | null;
  /** Why it does not load (null when it does). */
  problem: string | null;
  /** The execution provider a model would run on (null when onnxruntime-node does not load). */
  provider: 'cuda' | 'cpu' | null;
  cudaSkipped: string | null;
  /** The probe graph (the model's detection ops, see probeGraph) gave the hand-computed answers on that provider. */
  probeOk: boolean | null;
}

/**
 * The ops a provider must get right for the model beyond convolutions, on inputs with hand-computed answers:
 * - RoiAlign (output_half_pixel, sampling ratio 2) of the box [0, 0, 4, 4] on a 4×4 map whose value is x: one bin,
 *   samples at x = 1 and 3 → 2 (torchvision's aligned=False; half_pixel would give 1.5);
 * - NonMaxSuppression (IoU 0.5) of [0,0,10,10] 0.9, [1,1,11,11] 0.8 (IoU 81/119 with the first) and [20,20,30,30]
 *   0.7 → boxes 0 and 2;
 * - TopK (k 2) of [3, 1, 2] → 3, 2.
 */
function probeGraph(): { model: Uint8Array; check: (out: Record<string, OrtTensor>) => boolean } {
  const g = new GraphBuilder('probe');
  // Every op's input goes through the graph input `zero`, so that no constant folding runs them on the CPU at load.
  const zero = g.input('zero', 'float32', [1]);
  const fed = (data: Float32Array, dims: number[]) => g.op('Add', [g.constant(data, dims), zero]);
  const feature = fed(
    Float32Array.from({ length: 16 }, (_, i) => i % 4),
    [1, 1, 4, 4],
  );
  const pooled = g.op('RoiAlign', [feature, g.constant(Float32Array.of(0, 0, 4, 4), [1, 4]), g.ints([0])], {
    mode: 'avg',
    output_height: 1,
    output_width: 1,
    sampling_ratio: 2,
    spatial_scale: { float: 1 },
    coordinate_transformation_mode: 'output_half_pixel',
  });
  g.output(pooled, 'pooled', 'float32', [1, 1, 1, 1]);
  const boxes = fed(Float32Array.of(0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30), [1, 3, 4]);
  const selected = g.op('NonMaxSuppression', [
    boxes,
    fed(Float32Array.of(0.9, 0.8, 0.7), [1, 1, 3]),
    g.ints([3]),
    g.constant(Float32Array.of(0.5), [1]),
  ]);
  g.output(selected, 'selected', 'int64', ['selected', 3]);
  const [top] = g.node('TopK', [fed(Float32Array.of(3, 1, 2), [3]), g.ints([2])], { axis: 0 }, 2);
  g.output(top, 'top', 'float32', [2]);
  const check = (out: Record<string, OrtTensor>) => {
    const kept = Array.from(out.selected.data as BigInt64Array, Number);
    return (
      Math.abs((out.pooled.data as Float32Array)[0] - 2) < 1e-6 &&
      kept.join() === '0,0,0,0,0,2' &&
      Array.from(out.top.data as Float32Array).join() === '3,2'
    );
  };
  return { model: g.encode('kfashion doctor probe'), check };
}

/** What `kfashion doctor` says about the onnx engine: loads onnxruntime-node and runs the probe graph as a model would. */
export async function probeOnnxRuntime(env?: NodeJS.ProcessEnv, loadModule?: (name: string) => unknown): Promise<OnnxRuntimeReport> {
  let runtime: OnnxRuntime;
  try {
    runtime = loadOnnxRuntime(loadModule);
  } catch (error) {
    return { version: null, problem: (error as Error).message, provider: null, cudaSkipped: null, probeOk: null };
  }
  const probe = probeGraph();
  const version = runtime.env.versions?.node ?? null;
  try {
    const { sessions, choice } = await createSessions({ probe: probe.model }, env, runtime);
    try {
      const out = await sessions.probe.run({ zero: new runtime.Tensor('float32', Float32Array.of(0), [1]) });
      return { version, problem: null, provider: choice.provider, cudaSkipped: choice.cudaSkipped ?? null, probeOk: probe.check(out) };
    } finally {
      await sessions.probe.release();
    }
  } catch (error) {
    return { version, problem: `the probe graph did not run: ${firstLine(error)}`, provider: null, cudaSkipped: null, probeOk: false };
  }
}
