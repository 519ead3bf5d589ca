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
    throw new Error(`the onnx engine needs ${ONNX_RUNTIME_PACKAGE} (an optional dependency), which cannot be loaded here: ${result.error}. `
      + `Install it (npm install ${ONNX_RUNTIME_PACKAGE}) or use the tfjs engine (--engine tfjs).`);
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

async function createAll<K extends string>(runtime: OnnxRuntime, models: Record<K, Uint8Array>, provider: 'cuda' | 'cpu', threads?: number): Promise<Record<K, OrtSession>> {
  const out = {} as Record<K, OrtSession>;
  try {
    for (const [name, bytes] of Object.entries(models) as [K, Uint8Array][]) {
      out[name] = await runtime.InferenceSession.create(bytes, {
        executionProviders: [provider], graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}),
      });
    }
    return out;
  } catch (error) {
    await Promise.all(Object.values<OrtSession>(out).map((s) => s.release()));
    throw error;
  }
}

/**
 * Sessions on CUDA when a GPU is visible and the provider loads, else on the CPU (with the reason). `threads`: the
 * intra-op thread count (default: ONNX Runtime's, one per physical core).
 */
export async function createSessions<K extends string>(
  models: Record<K, Uint8Array>, env: NodeJS.ProcessEnv = process.env, runtime: OnnxRuntime = loadOnnxRuntime(), threads?: number,
): Promise<Sessions<K>> {
  const gpus = await probeGpus(env);
  let cudaSkipped: string;
  if (gpus.gpus.length === 0) {
    cudaSkipped = gpus.problem ?? 'no NVIDIA GPU found';
  } else {
    try {
      return { sessions: await createAll(runtime, models, 'cuda', threads), choice: { provider: 'cuda' } };
    } catch (error) {
      cudaSkipped = `CUDA execution provider did not load: ${firstLine(error)}`;
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
  /** A one-node graph (Relu) run on that provider gave the right answer. */
  probeOk: boolean | null;
}

/** What `kfashion doctor` says about the onnx engine: loads onnxruntime-node and runs a probe graph as a model would. */
export async function probeOnnxRuntime(env: NodeJS.ProcessEnv = process.env, loadModule?: (name: string) => unknown): Promise<OnnxRuntimeReport> {
  let runtime: OnnxRuntime;
  try {
    runtime = loadOnnxRuntime(loadModule);
  } catch (error) {
    return { version: null, problem: (error as Error).message, provider: null, cudaSkipped: null, probeOk: null };
  }
  const graph = new GraphBuilder('probe');
  graph.output(graph.op('Relu', [graph.input('x', 'float32', [2])]), 'y', 'float32', [2]);
  const version = runtime.env.versions?.node ?? null;
  try {
    const { sessions, choice } = await createSessions({ probe: graph.encode('kfashion doctor probe') }, env, runtime);
    try {
      const out = await sessions.probe.run({ x: new runtime.Tensor('float32', Float32Array.of(-1, 2), [2]) });
      const y = Array.from(out.y.data as Float32Array);
      return { version, problem: null, provider: choice.provider, cudaSkipped: choice.cudaSkipped ?? null, probeOk: y[0] === 0 && y[1] === 2 };
    } finally {
      await sessions.probe.release();
    }
  } catch (error) {
    return { version, problem: `the probe graph did not run: ${firstLine(error)}`, provider: null, cudaSkipped: null, probeOk: false };
  }
}
