/**
 * What the host offers for the tensorflow backend: the NVIDIA GPUs as `nvidia-smi` lists them, and, when
 * a native TensorFlow.js package failed to load, which shared library it misses (from the dlopen error, else
 * from `ldd` on its binding). Commands are looked up on the PATH of the given environment, so tests can put
 * a fake `nvidia-smi` or `ldd` in front.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface GpuInfo {
  index: number;
  name: string;
  /** "9.0" for an H100; null when the driver is too old to report it (nvidia-smi before 510). */
  computeCapability: string | null;
  driverVersion: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
}

export interface GpuProbe {
  gpus: GpuInfo[];
  /** Why no GPU is listed (nvidia-smi missing or failing), null when nvidia-smi answered. */
  problem: string | null;
  /** CUDA_VISIBLE_DEVICES as this process sees it (TensorFlow only uses those GPUs), null when unset. */
  cudaVisibleDevices: string | null;
}

interface CommandResult {
  stdout: string;
  stderr: string;
  /** ENOENT when the command is not on the PATH, the exit code otherwise (0 on success). */
  status: number | 'ENOENT' | 'TIMEOUT';
}

const COMMAND_TIMEOUT_MS = 10_000;

/** Runs a command in `env`, or (absent) in the environment this process was started with, which a child inherits. */
function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv | undefined): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr, status: 0 });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return resolve({ stdout, stderr, status: 'ENOENT' });
      if ((error as { killed?: boolean }).killed) return resolve({ stdout, stderr, status: 'TIMEOUT' });
      resolve({ stdout, stderr, status: typeof code === 'number' ? code : 1 });
    });
  });
}

const QUERY_FIELDS = ['index', 'name', 'compute_cap', 'driver_version', 'memory.total', 'memory.used'];

function queryArgs(fields: string[]): string[] {
  return [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
}

function parseNumber(text: string, field: string, line: string): number {
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) throw new Error(`nvidia-smi output: ${field} "${text}" is not a number in line "${line}"`);
  return value;
}

/** Rows of `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits`; compute_cap may be absent from `fields`. */
export function parseNvidiaSmiCsv(output: string, fields: readonly string[] = QUERY_FIELDS): GpuInfo[] {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.map((line) => {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== fields.length) {
      throw new Error(`nvidia-smi output: expected ${fields.length} fields (${fields.join(', ')}), got ${cells.length} in line "${line}"`);
    }
    const cell = (field: string) => cells[fields.indexOf(field)];
    const capability = fields.includes('compute_cap') ? cell('compute_cap') : null;
    return {
      index: parseNumber(cell('index'), 'index', line),
      name: cell('name'),
      computeCapability: capability && /^\d+\.\d+$/.test(capability) ? capability : null,
      driverVersion: cell('driver_version'),
      memoryTotalMiB: parseNumber(cell('memory.total'), 'memory.total', line),
      memoryUsedMiB: parseNumber(cell('memory.used'), 'memory.used', line),
    };
  });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** The GPUs nvidia-smi lists; a driver before 510 rejects compute_cap, so the query is retried without it. */
export async function probeGpus(env?: NodeJS.ProcessEnv): Promise<GpuProbe> {
  const cudaVisibleDevices = env?.CUDA_VISIBLE_DEVICES ?? null;
  let fields = QUERY_FIELDS;
  let result = await runCommand('nvidia-smi', queryArgs(fields), env);
  if (result.status !== 0 && /compute_cap/.test(result.stdout + result.stderr)) {
    fields = QUERY_FIELDS.filter((f) => f !== 'compute_cap');
    result = await runCommand('nvidia-smi', queryArgs(fields), env);
  }
  if (result.status === 'ENOENT') {
    return { gpus: [], problem: 'no NVIDIA GPU/driver found: nvidia-smi is not on the PATH', cudaVisibleDevices };
  }
  if (result.status === 'TIMEOUT') {
    return { gpus: [], problem: `nvidia-smi did not answer within ${COMMAND_TIMEOUT_MS / 1000} s`, cudaVisibleDevices };
  }
  if (result.status !== 0) {
    const said = firstLine(result.stdout) || firstLine(result.stderr) || `exit status ${result.status}`;
    return { gpus: [], problem: `no usable NVIDIA driver: nvidia-smi failed: ${said}`, cudaVisibleDevices };
  }
  let gpus: GpuInfo[];
  try {
    gpus = parseNvidiaSmiCsv(result.stdout, fields);
  } catch (error) {
    return { gpus: [], problem: `cannot read the GPU list: ${(error as Error).message}`, cudaVisibleDevices };
  }
  return { gpus, problem: gpus.length === 0 ? 'no NVIDIA GPU found: nvidia-smi lists none' : null, cudaVisibleDevices };
}

/** The shared object a dlopen error names ("libcudnn.so.8: cannot open shared object file: …"), else null. */
export function missingLibraryInError(message: string): string | null {
  return /([\w.+-]+\.so(?:\.[\w.]+)?): cannot open shared object file/.exec(message)?.[1] ?? null;
}

/** The libraries `ldd` reports as "=> not found". */
export function missingLibrariesInLdd(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /^\s*(\S+)\s+=>\s+not found/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** The compiled binding (tfjs_binding.node) of an installed native package, or null. */
export function findNativeBinding(moduleName: string, resolve: (request: string) => string = require.resolve): string | null {
  let packageDir: string;
  try {
    packageDir = dirname(resolve(`${moduleName}/package.json`));
  } catch {
    return null;
  }
  const search = (dir: string): string | null => {
    if (!existsSync(dir)) return null;
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (entry === 'tfjs_binding.node') return path;
      if (statSync(path).isDirectory()) {
        const found = search(path);
        if (found) return found;
      }
    }
    return null;
  };
  return search(join(packageDir, 'lib'));
}

/** Missing shared libraries of a binding, as `ldd` lists them; empty when ldd is unavailable or finds all. */
export async function lddMissing(bindingPath: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  const result = await runCommand('ldd', [bindingPath], env);
  return missingLibrariesInLdd(result.stdout);
}
