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

/** onnxruntime-node, or an Error saying why it cannot be used here and what to do. */
export function loadOnnxRuntime(loadModule: (name: string) => unknown = require): OnnxRuntime {
  if (loaded === null) {
    try {
      loaded = { runtime: loadModule(ONNX_RUNTIME_PACKAGE) as OnnxRuntime };
    } catch (error) {
      loaded = { error: firstLine(error) };
    }
  }
  if ('error' in loaded) {
    throw new Error(`the onnx engine needs ${ONNX_RUNTIME_PACKAGE} (an optional dependency), which cannot be loaded here: ${loaded.error}. `
      + `Install it (npm install ${ONNX_RUNTIME_PACKAGE}) or use the tfjs engine (--engine tfjs).`);
  }
  return loaded.runtime;
}

/** Whether onnxruntime-node loads, and its version or the reason it does not. */
export function onnxRuntimeStatus(): { available: true; version: string } | { available: false; reason: string } {
  try {
    const runtime = loadOnnxRuntime();
    return { available: true, version: runtime.env.versions?.node ?? 'unknown' };
  } catch (error) {
    return { available: false, reason: firstLine(error) };
  }
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

async function createAll<K extends string>(runtime: OnnxRuntime, models: Record<K, Uint8Array>, provider: 'cuda' | 'cpu'): Promise<Record<K, OrtSession>> {
  const out = {} as Record<K, OrtSession>;
  try {
    for (const [name, bytes] of Object.entries(models) as [K, Uint8Array][]) {
      out[name] = await runtime.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all' });
    }
    return out;
  } catch (error) {
    await Promise.all(Object.values<OrtSession>(out).map((s) => s.release()));
    throw error;
  }
}

/** Sessions on CUDA when a GPU is visible and the provider loads, else on the CPU (with the reason). */
export async function createSessions<K extends string>(models: Record<K, Uint8Array>, env: NodeJS.ProcessEnv = process.env): Promise<Sessions<K>> {
  const runtime = loadOnnxRuntime();
  const gpus = await probeGpus(env);
  let cudaSkipped: string;
  if (gpus.gpus.length === 0) {
    cudaSkipped = gpus.problem ?? 'no NVIDIA GPU found';
  } else {
    try {
      return { sessions: await createAll(runtime, models, 'cuda'), choice: { provider: 'cuda' } };
    } catch (error) {
      cudaSkipped = `CUDA execution provider did not load: ${firstLine(error)}`;
    }
  }
  return { sessions: await createAll(runtime, models, 'cpu'), choice: { provider: 'cpu', cudaSkipped } };
}
