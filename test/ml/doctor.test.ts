/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * `kfashion doctor` (src/ml/doctor): the real report on this machine's wasm and cpu backends (numbers
 * compared with the cpu backend, timings measured), and the host probes — nvidia-smi, dlopen errors, ldd —
 * through fake commands on the PATH and an injected module loader, as on a GPU host.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { explainSkipped, runDoctor, timeOps, verdict, backendSummary, type DoctorReport } from '../../src/ml/doctor/report';
import { missingLibraryInError, parseNvidiaSmiCsv, probeGpus } from '../../src/ml/doctor/gpu';
import { relativeError, DOCTOR_OPS, type DoctorOp } from '../../src/ml/doctor/ops';
import { initBackend } from '../../src/ml/backend';
import { loadOnnxRuntime, probeOnnxRuntime } from '../../src/ml/onnx/runtime';
import { runCli } from './run-cli';

const SYSTEM_PATH = '/usr/bin:/bin';

/** A folder holding one executable shell script `name`; put it first on a PATH. */
function fakeCommand(name: string, script: string): string {
  const dir = mkdtempSync(join(tmpdir(), `kfashion-fake-${name}-`));
  writeFileSync(join(dir, name), `#!/bin/sh\n${script}\n`);
  chmodSync(join(dir, name), 0o755);
  return dir;
}

/** nvidia-smi as a 550 driver answers the doctor's query on a two-H100 host; other arguments are refused. */
const H100_SMI = fakeCommand(
  'nvidia-smi',
  [
    'test "$1" = "--query-gpu=index,name,compute_cap,driver_version,memory.total,memory.used" || { echo "unexpected: $*" >&2; exit 9; }',
    'test "$2" = "--format=csv,noheader,nounits" || { echo "unexpected: $*" >&2; exit 9; }',
    "printf '0, NVIDIA H100 80GB HBM3, 9.0, 550.54.15, 81559, 1\\n1, NVIDIA H100 80GB HBM3, 9.0, 550.54.15, 81559, 4\\n'",
  ].join('\n'),
);
/** A driver before 510 does not know compute_cap. */
const OLD_DRIVER_SMI = fakeCommand(
  'nvidia-smi',
  [
    'case "$1" in *compute_cap*) echo \'Field "compute_cap" is not a valid field to query.\'; exit 2;; esac',
    "printf '0, Tesla T4, 470.57.02, 15109, 0\\n'",
  ].join('\n'),
);
const BROKEN_DRIVER_SMI = fakeCommand(
  'nvidia-smi',
  'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."; exit 9',
);
const NO_SMI = mkdtempSync(join(tmpdir(), 'kfashion-no-smi-'));
const onPath = (dir: string) => ({ PATH: `${dir}:${SYSTEM_PATH}` });

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('nvidia-smi', () => {
  it('parses the CSV of --query-gpu with units off', () => {
    expect(parseNvidiaSmiCsv('0, NVIDIA A100-SXM4-40GB, 8.0, 535.104.05, 40960, 3\n\n')).toEqual([
      {
        index: 0,
        name: 'NVIDIA A100-SXM4-40GB',
        computeCapability: '8.0',
        driverVersion: '535.104.05',
        memoryTotalMiB: 40960,
        memoryUsedMiB: 3,
      },
    ]);
    expect(() => parseNvidiaSmiCsv('0, NVIDIA L4, 8.9, 550.54.15, [N/A], 0')).toThrow(
      /memory\.total "\[N\/A\]" is not a number in line "0, NVIDIA L4/,
    );
    expect(() => parseNvidiaSmiCsv('0, NVIDIA L4, 8.9')).toThrow(/expected 6 fields .* got 3/);
  });

  it('lists the GPUs of a fake nvidia-smi on the PATH, and CUDA_VISIBLE_DEVICES', async () => {
    const probe = await probeGpus({ ...onPath(H100_SMI), CUDA_VISIBLE_DEVICES: '1' });
    expect(probe).toEqual({
      gpus: [0, 1].map((index) => ({
        index,
        name: 'NVIDIA H100 80GB HBM3',
        computeCapability: '9.0',
        driverVersion: '550.54.15',
        memoryTotalMiB: 81559,
        memoryUsedMiB: index === 0 ? 1 : 4,
      })),
      problem: null,
      cudaVisibleDevices: '1',
    });
  });

  it('retries without compute_cap for a driver before 510', async () => {
    const probe = await probeGpus(onPath(OLD_DRIVER_SMI));
    expect(probe.gpus).toEqual([
      { index: 0, name: 'Tesla T4', computeCapability: null, driverVersion: '470.57.02', memoryTotalMiB: 15109, memoryUsedMiB: 0 },
    ]);
  });

  it('says why there is no GPU: no nvidia-smi, or a driver that does not answer', async () => {
    expect(await probeGpus(onPath(NO_SMI))).toEqual({
      gpus: [],
      problem: 'no NVIDIA GPU/driver found: nvidia-smi is not on the PATH',
      cudaVisibleDevices: null,
    });
    const broken = await probeGpus(onPath(BROKEN_DRIVER_SMI));
    expect(broken.gpus).toEqual([]);
    expect(broken.problem).toMatch(/^no usable NVIDIA driver: nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate/);
  });
});

describe('why a better backend did not load', () => {
  it('reads the missing shared object from the dlopen error, and tells "not installed" apart', async () => {
    const report = await explainSkipped(
      [
        { module: '@tensorflow/tfjs-node-gpu', reason: 'libcudnn.so.8: cannot open shared object file: No such file or directory' },
        { module: '@tensorflow/tfjs-node', reason: "Cannot find module '@tensorflow/tfjs-node'" },
      ],
      onPath(NO_SMI),
      require.resolve,
    );
    expect(report).toEqual([
      { module: '@tensorflow/tfjs-node-gpu', reason: expect.any(String), installed: true, missingLibrary: 'libcudnn.so.8' },
      { module: '@tensorflow/tfjs-node', reason: expect.any(String), installed: false, missingLibrary: null },
    ]);
  });

  it('finds the library in a dlopen error that starts with the binding path', () => {
    expect(
      missingLibraryInError(
        '/app/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node: libtensorflow.so.2: cannot open shared object file: No such file or directory',
      ),
    ).toBe('libtensorflow.so.2');
    expect(missingLibraryInError("Cannot find module '@tensorflow/tfjs-node-gpu'")).toBeNull();
  });

  it('runs ldd on the installed binding when the error does not name the library', async () => {
    const packageDir = mkdtempSync(join(tmpdir(), 'kfashion-tfjs-node-gpu-'));
    mkdirSync(join(packageDir, 'lib/napi-v8'), { recursive: true });
    writeFileSync(join(packageDir, 'package.json'), '{"version":"4.22.0"}');
    const binding = join(packageDir, 'lib/napi-v8/tfjs_binding.node');
    writeFileSync(binding, '');
    // ldd's format for a binding whose libtensorflow finds libcudart but not cuDNN.
    const ldd = fakeCommand(
      'ldd',
      `test "$1" = "${binding}" || exit 1\nprintf '\\tlinux-vdso.so.1 (0x00007ffc)\\n\\tlibtensorflow.so.2 => ${packageDir}/lib/napi-v8/libtensorflow.so.2 (0x00007f)\\n\\tlibcudnn.so.8 => not found\\n'`,
    );
    const resolve = (request: string) => {
      if (request === '@tensorflow/tfjs-node-gpu/package.json') return join(packageDir, 'package.json');
      throw new Error(`Cannot find module '${request}'`);
    };
    const [report] = await explainSkipped(
      [{ module: '@tensorflow/tfjs-node-gpu', reason: "loaded but the 'tensorflow' backend did not initialise" }],
      onPath(ldd),
      resolve,
    );
    expect(report).toMatchObject({ installed: true, missingLibrary: 'libcudnn.so.8' });
  });
});

describe('the verdict', () => {
  const base: Omit<DoctorReport, 'verdict'> = {
    node: 'v20',
    platform: 'linux x64',
    packages: {},
    libtensorflow: '2.9.1',
    tensorflowUsesGpu: true,
    ops: null,
    speedupVsCpu: 23.4,
    backend: {
      name: 'tensorflow',
      device: 'cuda',
      detail: '@tensorflow/tfjs-node-gpu (libtensorflow, CUDA)',
      requested: null,
      requestedError: null,
      skipped: [],
    },
    gpu: {
      gpus: [
        {
          index: 0,
          name: 'NVIDIA A100-SXM4-40GB',
          computeCapability: '8.0',
          driverVersion: '535.104.05',
          memoryTotalMiB: 40960,
          memoryUsedMiB: 3,
        },
      ],
      problem: null,
      cudaVisibleDevices: null,
    },
    onnx: { version: '1.30.0', problem: null, provider: 'cpu', cudaSkipped: null, probeOk: true },
  };

  it('names the GPU in use and the speed-up, or the CPU fallback of tfjs-node-gpu without a GPU', () => {
    expect(verdict(base)).toBe('GPU in use (NVIDIA A100-SXM4-40GB), 23× the cpu backend');
    const noDriver = {
      ...base,
      speedupVsCpu: 3.14,
      gpu: { gpus: [], problem: 'no NVIDIA GPU/driver found: nvidia-smi is not on the PATH', cudaVisibleDevices: null },
    };
    expect(verdict({ ...base, tensorflowUsesGpu: false, speedupVsCpu: 1.2 })).toBe(
      "GPU found (NVIDIA A100-SXM4-40GB) but not used because libtensorflow created no GPU device (its CUDA/cuDNN libraries or the driver: see TensorFlow's log lines): TensorFlow computes on the CPU, 1.2× the cpu backend",
    );
    expect(verdict(noDriver)).toBe(
      '@tensorflow/tfjs-node-gpu loaded but no NVIDIA GPU/driver found: nvidia-smi is not on the PATH: TensorFlow computes on the CPU, 3.1× the cpu backend',
    );
  });
});

describe('runDoctor on this machine', () => {
  it('auto: wasm (the native packages are not installed), no GPU, every op timed and equal to the cpu backend', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const report = await runDoctor({ env: onPath(NO_SMI) });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(report.backend).toMatchObject({ name: 'wasm', device: 'cpu', requested: null });
    expect(report.backend.skipped).toEqual([
      expect.objectContaining({ module: '@tensorflow/tfjs-node-gpu', installed: false }),
      expect.objectContaining({ module: '@tensorflow/tfjs-node', installed: false }),
    ]);
    expect(report.packages['@tensorflow/tfjs-core']).toBe(tf.version_core);
    expect(report.packages['@tensorflow/tfjs-node-gpu']).toBeNull();
    expect(report.libtensorflow).toBeNull();
    expect(report.tensorflowUsesGpu).toBeNull();
    expect(report.gpu.problem).toMatch(/no NVIDIA GPU\/driver found/);
    const ops = report.ops ?? [];
    expect(ops.map((op) => op.name)).toEqual(DOCTOR_OPS.map((op) => op.name));
    for (const op of ops) {
      expect({ name: op.name, agrees: op.agrees }).toEqual({ name: op.name, agrees: true });
      expect(op.relativeError).toBeLessThanOrEqual(op.tolerance);
      // wasm computes in float32 throughout (no TF32): far inside the tolerances a GPU needs
      expect(op.relativeError).toBeLessThan(1e-5);
      for (const ms of [op.coldMs, op.warmMs, op.cpuColdMs, op.cpuWarmMs]) expect(ms).toBeGreaterThan(0);
    }
    expect(report.speedupVsCpu).toBeGreaterThan(0);
    const speed =
      /^no GPU \(no NVIDIA GPU\/driver found: nvidia-smi is not on the PATH\): running on wasm, ([\d.]+)× the cpu backend$/.exec(
        report.verdict,
      );
    expect(speed).not.toBeNull();
    expect(Number(speed?.[1])).toBeCloseTo(report.speedupVsCpu as number, (report.speedupVsCpu as number) >= 10 ? -1 : 1);
    expect(tf.getBackend()).toBe('wasm');
    expect(report.onnx).toEqual({
      version: '1.30.0',
      problem: null,
      provider: 'cpu',
      cudaSkipped: expect.stringMatching(/^no NVIDIA GPU\/driver found/),
      probeOk: true,
    });
  }, 120_000);

  it('cpu on a GPU host: GPU found but not used because cpu was requested; nothing to compare with', async () => {
    const report = await runDoctor({ backend: 'cpu', env: onPath(H100_SMI) });
    expect(report.backend).toMatchObject({ name: 'cpu', requested: 'cpu', skipped: [] });
    expect(report.verdict).toBe(
      'GPU found (NVIDIA H100 80GB HBM3, NVIDIA H100 80GB HBM3) but not used because the cpu backend was requested (--backend or KFASHION_TF_BACKEND): running on cpu',
    );
    for (const op of report.ops ?? []) {
      expect(op).toMatchObject({ cpuWarmMs: null, relativeError: null, agrees: null });
      expect(op.warmMs).toBeGreaterThan(0);
    }
    expect(report.speedupVsCpu).toBeNull();
  }, 120_000);

  const withoutCudnn = (name: string) => {
    throw new Error(
      name.endsWith('-gpu') ? 'libcudnn.so.8: cannot open shared object file: No such file or directory' : `Cannot find module '${name}'`,
    );
  };

  it('a GPU whose tfjs-node-gpu cannot load cuDNN: says so in the verdict', async () => {
    const report = await runDoctor({ env: onPath(H100_SMI), loadModule: withoutCudnn, timing: false });
    expect(report.ops).toBeNull();
    // onnxruntime-node's CUDA provider is not installed here (its install script is not run): tried, then the CPU
    expect(report.onnx).toMatchObject({
      provider: 'cpu',
      probeOk: true,
      cudaSkipped: expect.stringMatching(/^CUDA execution provider did not load: .*Failed to load shared library/),
    });
    expect(report.verdict).toBe(
      'GPU found (NVIDIA H100 80GB HBM3, NVIDIA H100 80GB HBM3) but not used because @tensorflow/tfjs-node-gpu cannot load libcudnn.so.8: running on wasm',
    );
  });

  it('KFASHION_TF_BACKEND=tensorflow (as in the image) that cannot load: still a report, on the automatic choice, with the error', async () => {
    const report = await runDoctor({
      env: { ...onPath(H100_SMI), KFASHION_TF_BACKEND: 'tensorflow' },
      loadModule: withoutCudnn,
      timing: false,
    });
    expect(report.backend).toMatchObject({
      name: 'wasm',
      requested: null,
      requestedError: expect.stringMatching(
        /^TensorFlow.js backend 'tensorflow' was requested but is not available: @tensorflow\/tfjs-node-gpu: libcudnn\.so\.8/,
      ),
    });
    expect(report.backend.skipped[0]).toMatchObject({ module: '@tensorflow/tfjs-node-gpu', missingLibrary: 'libcudnn.so.8' });
    expect(report.verdict).toMatch(
      /^GPU found \(NVIDIA H100 80GB HBM3, NVIDIA H100 80GB HBM3\) but not used because @tensorflow\/tfjs-node-gpu cannot load libcudnn\.so\.8: running on wasm; TensorFlow.js backend 'tensorflow' was requested but is not available: /,
    );
  });
});

describe('the comparison with the cpu backend', () => {
  it('is the relative L2 error', () => {
    expect(relativeError(Float32Array.of(1, 2, 2), Float32Array.of(1, 2, 3))).toBeCloseTo(1 / Math.sqrt(14), 7);
    expect(relativeError(Float32Array.of(0, 0), Float32Array.of(0, 0))).toBe(0);
    expect(relativeError(Float32Array.of(1), Float32Array.of(1, 2))).toBe(Infinity);
  });

  it('catches an op whose result depends on the backend', async () => {
    await initBackend('wasm', { log: () => undefined });
    const biased: DoctorOp = {
      name: 'biased',
      description: 'adds 1e-3 off the cpu backend',
      onHost: false,
      tolerance: 1e-4,
      prepare: () => ({ call: async () => Float32Array.of(1 + (tf.getBackend() === 'cpu' ? 0 : 1e-3), 2), dispose: () => undefined }),
    };
    const [op] = await timeOps([biased]);
    expect(op.agrees).toBe(false);
    expect(op.relativeError).toBeCloseTo(1e-3 / Math.sqrt(5), 6);
  });
});

describe('backendSummary (for /health)', () => {
  it('reports the backend, why better ones were skipped, and the GPU names without timing anything', async () => {
    const info = await initBackend(undefined, {
      loadModule: () => {
        throw new Error('libcuda.so.1: cannot open shared object file');
      },
      log: () => undefined,
      env: {},
    });
    expect(await backendSummary(info, onPath(H100_SMI))).toEqual({
      backend: 'wasm',
      device: 'cpu',
      notUsed: [
        '@tensorflow/tfjs-node-gpu: libcuda.so.1: cannot open shared object file',
        '@tensorflow/tfjs-node: libcuda.so.1: cannot open shared object file',
      ],
      gpus: ['NVIDIA H100 80GB HBM3', 'NVIDIA H100 80GB HBM3'],
      gpuProblem: null,
      tensorflowUsesGpu: null,
    });
  });
});

describe('kfashion doctor (the command)', () => {
  it('--json prints the report as one JSON object; --no-timing skips the ops', async () => {
    const report = JSON.parse(await runCli(['doctor', '--json', '--no-timing', '--backend', 'cpu'])) as DoctorReport;
    expect(report).toMatchObject({ node: process.version, backend: { name: 'cpu', requested: 'cpu' }, ops: null, speedupVsCpu: null });
    expect(report.verdict).toMatch(/running on cpu$/);
  });

  it('prints a text report ending with the verdict', async () => {
    const text = await runCli(['doctor', '--no-timing', '--backend', 'wasm']);
    expect(text).toMatch(/^Node v\d+\.[\s\S]*\nBackend: wasm on cpu: [\s\S]*\nVerdict: .*running on wasm\n$/);
    expect(text).toMatch(/\nONNX Runtime \(--engine onnx\): onnxruntime-node 1\.30\.0 on cpu \(CUDA not used: .*\), probe graph ok\n/);
  });

  it('names --backend when its value is not a backend', async () => {
    await expect(runCli(['doctor', '--backend', 'gpu'])).rejects.toThrow(
      /--backend: unknown TensorFlow.js backend "gpu"; allowed values are tensorflow, wasm, cpu/,
    );
  });
});

describe('the onnx engine where onnxruntime-node cannot load', () => {
  it('the doctor says why and what to do; loading the runtime fails with the same message', async () => {
    const missing = (name: string) => {
      throw new Error(`Cannot find module '${name}'\nRequire stack: ...`);
    };
    const report = await probeOnnxRuntime(onPath(NO_SMI), missing);
    expect(report).toEqual({
      version: null,
      provider: null,
      cudaSkipped: null,
      probeOk: null,
      problem:
        "the onnx engine needs onnxruntime-node (an optional dependency), which cannot be loaded here: Cannot find module 'onnxruntime-node'. Install it (npm install onnxruntime-node) or use the tfjs engine (--engine tfjs).",
    });
    expect(() => loadOnnxRuntime(missing)).toThrow(report.problem as string);
  });
});
