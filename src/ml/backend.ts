/**
 * TensorFlow.js backend selection for the Attribute R-CNN.
 *
 * Order, fastest first: `tensorflow` from @tensorflow/tfjs-node-gpu (CUDA), else from
 * @tensorflow/tfjs-node, else `wasm` (@tensorflow/tfjs-backend-wasm, SIMD), else the plain `cpu` backend.
 * An explicit choice (the `preferred` argument, e.g. from a CLI flag, else the KFASHION_TF_BACKEND variable)
 * replaces the automatic order and fails loudly when that backend cannot be loaded.
 *
 * Importing this module also registers every gradient of tfjs-core (tfjs-core alone registers none) and the
 * wasm kernels that the wasm backend lacks but training needs (see wasm-kernels.ts).
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
// Registers every gradient of tfjs-core. '@tensorflow/tfjs-core/dist/register_all_gradients' is ES-module only
// (its imports name files without extensions, which neither Node nor jest resolves); tfjs-layers' CommonJS bundle carries
// the same registrations, into the same global registry, and is the documented way to get them in Node.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { registerWasmKernelShims } from './wasm-kernels';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
export const BACKEND_ENV_VARIABLE = 'KFASHION_TF_BACKEND';

/** A better backend that was tried and did not load, with the first line of its error. */
export interface SkippedBackend {
  module: string;
  reason: string;
}

export interface BackendInfo {
  name: BackendName;
  device: 'cuda' | 'cpu';
  detail: string;
  /** The better candidates tried first, in order, and why each failed (empty when the first one loaded or the choice was explicit). */
  skipped: SkippedBackend[];
  /** The explicit choice (argument or KFASHION_TF_BACKEND), when the automatic order was bypassed. */
  requested?: BackendName;
}

export interface InitBackendOptions {
  /** Receives the one line that reports the chosen backend (default: console.error). */
  log?: (message: string) => void;
  /** Loads an optional native package; injectable so tests can simulate a machine where it exists. */
  loadModule?: (name: string) => unknown;
  /** Where KFASHION_TF_BACKEND is read from (the CLI passes the environment; absent: not set). */
  env?: { readonly KFASHION_TF_BACKEND?: string };
}

/** The native packages in the order they are tried; the GPU build first. */
const NATIVE_PACKAGES: { module: string; device: 'cuda' | 'cpu' }[] = [
  { module: '@tensorflow/tfjs-node-gpu', device: 'cuda' },
  { module: '@tensorflow/tfjs-node', device: 'cpu' },
];

let current: BackendInfo | null = null;
let lastLogged: string | null = null;
let wasmPathsSet = false;

/** Parses an explicit backend choice; `undefined`/empty/`auto` mean "best available". */
export function parseBackendName(value: string | undefined, source: string): BackendName | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim().toLowerCase();
  if (trimmed === '' || trimmed === 'auto') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(trimmed)) return trimmed as BackendName;
  throw new Error(`${source}: unknown TensorFlow.js backend "${value}"; allowed values are ${BACKEND_NAMES.join(', ')} (or auto)`);
}

/** Folder of the wasm binaries, as the prefix setWasmPaths wants: it must end with a separator. */
export function wasmBinaryFolder(): string {
  const entry = require.resolve('@tensorflow/tfjs-backend-wasm');
  return path.dirname(entry) + path.sep;
}

function defaultRequire(name: string): unknown {
  // A computed name keeps bundlers and tsc from resolving the optional native packages statically.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional package, loaded by name at run time
  return require(name);
}

type Chosen = Omit<BackendInfo, 'skipped' | 'requested'>;

async function tryTensorflow(loadModule: (name: string) => unknown): Promise<{ info?: Chosen; failures: SkippedBackend[] }> {
  const failures: SkippedBackend[] = [];
  for (const candidate of NATIVE_PACKAGES) {
    try {
      loadModule(candidate.module);
    } catch (error) {
      failures.push({ module: candidate.module, reason: firstLine(error) });
      continue;
    }
    if (await tf.setBackend('tensorflow')) {
      return {
        info: {
          name: 'tensorflow',
          device: candidate.device,
          detail: `${candidate.module} (libtensorflow, ${candidate.device === 'cuda' ? 'CUDA' : 'CPU'})`,
        },
        failures,
      };
    }
    failures.push({ module: candidate.module, reason: "loaded but the 'tensorflow' backend did not initialise" });
  }
  return { failures };
}

const WASM_MODULE = '@tensorflow/tfjs-backend-wasm';
/** The priority tfjs-backend-wasm registers its factory with (its WASM_PRIORITY). */
const WASM_PRIORITY = 2;

async function tryWasm(): Promise<{ info?: Chosen; failure?: SkippedBackend }> {
  try {
    // Loaded lazily so that processes that pick another backend never pay for it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: a static import would load wasm in every process
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const folder = wasmBinaryFolder();
    if (!wasmPathsSet) {
      wasm.setWasmPaths(folder);
      wasmPathsSet = true;
    }
    registerWasmKernelShims();
    if (await tf.setBackend('wasm')) {
      return { info: { name: 'wasm', device: 'cpu', detail: `@tensorflow/tfjs-backend-wasm (binaries from ${folder})` } };
    }
    return { failure: { module: WASM_MODULE, reason: `setBackend('wasm') returned false (binaries looked up in ${folder})` } };
  } catch (error) {
    return { failure: { module: WASM_MODULE, reason: firstLine(error) } };
  }
}

async function useCpu(): Promise<Chosen> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the plain cpu backend of TensorFlow.js did not initialise');
  return { name: 'cpu', device: 'cpu', detail: '@tensorflow/tfjs-backend-cpu (plain JavaScript)' };
}

/**
 * Selects and initialises the TensorFlow.js backend, logs the choice once, and returns it.
 * `preferred` (if given and not "auto") wins over KFASHION_TF_BACKEND, which wins over the automatic order.
 */
export async function initBackend(preferred?: string, options: InitBackendOptions = {}): Promise<BackendInfo> {
  const env = options.env ?? {};
  const explicit =
    parseBackendName(preferred, 'initBackend(preferred)') ?? parseBackendName(env[BACKEND_ENV_VARIABLE], BACKEND_ENV_VARIABLE);
  const loadModule = options.loadModule ?? defaultRequire;
  const failures: SkippedBackend[] = [];
  let info: Chosen | undefined;

  if (explicit === undefined || explicit === 'tensorflow') {
    const result = await tryTensorflow(loadModule);
    failures.push(...result.failures);
    info = result.info;
    if (!info && explicit === 'tensorflow') {
      throw new Error(`TensorFlow.js backend 'tensorflow' was requested but is not available: ${describeSkipped(failures)}`);
    }
  }
  if (!info && (explicit === undefined || explicit === 'wasm')) {
    const result = await tryWasm();
    if (result.failure) failures.push(result.failure);
    info = result.info;
    if (!info && explicit === 'wasm') {
      throw new Error(`TensorFlow.js backend 'wasm' was requested but is not available: ${describeSkipped(failures)}`);
    }
  }
  const chosen: BackendInfo = { ...(info ?? (await useCpu())), skipped: failures, ...(explicit ? { requested: explicit } : {}) };

  current = chosen;
  const message =
    `[kfashion] TensorFlow.js backend: ${chosen.name} on ${chosen.device} — ${chosen.detail}` +
    (explicit ? ` (requested: ${explicit})` : '') +
    (failures.length > 0 && !explicit ? `; skipped: ${describeSkipped(failures)}` : '');
  const key = `${chosen.name}|${chosen.detail}`;
  if (lastLogged !== key) {
    lastLogged = key;
    (options.log ?? ((line: string) => console.error(line)))(message);
  }
  return chosen;
}

/** "module: reason; module: reason", as the log line and errors show skipped candidates. */
export function describeSkipped(skipped: readonly SkippedBackend[]): string {
  return skipped.map((s) => `${s.module}: ${s.reason}`).join('; ');
}

/** The backend chosen by the last initBackend call, or null before any. */
export function currentBackend(): BackendInfo | null {
  return current;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}

// Node's global, which the project's TypeScript libs (no DOM) do not declare.
const WASM_RUNTIME_ERROR = (globalThis as unknown as { WebAssembly: { RuntimeError: new () => Error } }).WebAssembly.RuntimeError;

/**
 * Whether `error` is a trap of the wasm module (`Aborted()` when its heap cannot grow, `memory access out of
 * bounds`, `unreachable`): after one, the module's memory and allocator cannot be trusted (an abort makes
 * every later call abort too), so the backend must be re-created.
 */
export function isBackendAbort(error: unknown): boolean {
  return error instanceof WASM_RUNTIME_ERROR;
}

/** What a run reports for a backend trap: what happened and what to do, without the module's own words (they stay in `cause`). */
function describeBackendAbort(): string {
  return (
    `the ${current?.name ?? 'TensorFlow.js'} backend aborted during the step, most likely out of memory, and was restarted; ` +
    'lower min_size/max_size or the batch size, or train on a native backend (@tensorflow/tfjs-node) or a GPU'
  );
}

/** A run or request that failed because the backend trapped; the backend has been replaced (message: describeBackendAbort). */
export class BackendAborted extends Error {}

/** A wasm trap becomes BackendAborted once the backend is replaced; any other error is returned as it is. */
export async function afterBackendError(error: unknown): Promise<unknown> {
  if (error instanceof BackendAborted || !isBackendAbort(error)) return error;
  await recoverBackend();
  return new BackendAborted(describeBackendAbort(), { cause: error });
}

let recovering: Promise<void> | null = null;

/**
 * Replaces the wasm backend after its module trapped: the dead instance's dispose calls become no-ops (its
 * memory is gone, and freeing into a broken allocator aborts again), the backend is registered anew from the
 * same factory and selected, which instantiates a fresh module and sets up its kernels. Every tensor made
 * before belongs to the dead module: callers drop them (disposing them is harmless). Concurrent callers share
 * one recovery. Other backends do not trap this way; nothing to do for them.
 */
export async function recoverBackend(): Promise<void> {
  if (current?.name !== 'wasm') return;
  recovering ??= (async () => {
    const dead = tf.engine().findBackend('wasm') as unknown as { disposeData(): boolean; dispose(): void } | null;
    const factory = tf.findBackendFactory('wasm');
    if (!factory) throw new Error('the wasm backend is not registered');
    if (dead) {
      dead.disposeData = () => true;
      dead.dispose = () => undefined;
    }
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', factory, WASM_PRIORITY);
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise again after it aborted');
  })().finally(() => {
    recovering = null;
  });
  return recovering;
}
