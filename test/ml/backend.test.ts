/** Backend selection (src/ml/backend.ts): order, overrides, errors and the single log line. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { initBackend, wasmBinaryFolder, BACKEND_ENV_VARIABLE } from '../../src/ml/backend';

/** A module loader for a machine without the native packages (as this one): every require fails. */
function missingNative(tried: string[]) {
  return (name: string) => {
    tried.push(name);
    throw new Error(`Cannot find module '${name}'`);
  };
}

describe('initBackend', () => {
  afterEach(async () => {
    if (tf.findBackend('tensorflow')) tf.removeBackend('tensorflow');
    await tf.setBackend('cpu');
  });

  it('tries tfjs-node-gpu, then tfjs-node, then picks wasm, and logs the choice once', async () => {
    const tried: string[] = [];
    const lines: string[] = [];
    const options = { loadModule: missingNative(tried), log: (line: string) => lines.push(line), env: {} };
    const info = await initBackend(undefined, options);
    expect(info).toEqual({
      name: 'wasm',
      device: 'cpu',
      detail: expect.stringContaining('tfjs-backend-wasm'),
      skipped: [
        { module: '@tensorflow/tfjs-node-gpu', reason: "Cannot find module '@tensorflow/tfjs-node-gpu'" },
        { module: '@tensorflow/tfjs-node', reason: "Cannot find module '@tensorflow/tfjs-node'" },
      ],
    });
    expect(tf.getBackend()).toBe('wasm');
    expect(tried).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/backend: wasm/);
    expect(lines[0]).toMatch(/tfjs-node-gpu: Cannot find module/);
    await initBackend(undefined, options);
    expect(lines).toHaveLength(1);
  });

  it('runs the real require path: tensorflow where a native package is installed, wasm elsewhere', async () => {
    const installed = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((name) => {
      try {
        require.resolve(name);
        return true;
      } catch {
        return false;
      }
    });
    const info = await initBackend(undefined, { log: () => undefined, env: {} });
    expect(info.name).toBe(installed ? 'tensorflow' : 'wasm');
  });

  it('uses the tensorflow backend when the GPU package loads and reports CUDA', async () => {
    const tried: string[] = [];
    const loadModule = (name: string) => {
      tried.push(name);
      // What requiring @tensorflow/tfjs-node-gpu does: register a backend named 'tensorflow'.
      tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
      return {};
    };
    const info = await initBackend(undefined, { loadModule, log: () => undefined, env: {} });
    expect(info.name).toBe('tensorflow');
    expect(info.device).toBe('cuda');
    expect(tried).toEqual(['@tensorflow/tfjs-node-gpu']);
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('falls back to tfjs-node (CPU) when only it loads', async () => {
    const loadModule = (name: string) => {
      if (name.endsWith('-gpu')) throw new Error('libcudart.so.11.0: cannot open shared object file');
      tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
      return {};
    };
    const info = await initBackend(undefined, { loadModule, log: () => undefined, env: {} });
    expect(info).toEqual({
      name: 'tensorflow',
      device: 'cpu',
      detail: expect.stringContaining('@tensorflow/tfjs-node '),
      skipped: [{ module: '@tensorflow/tfjs-node-gpu', reason: 'libcudart.so.11.0: cannot open shared object file' }],
    });
  });

  it(`honours ${BACKEND_ENV_VARIABLE}, and an explicit argument wins over it`, async () => {
    const tried: string[] = [];
    const quiet = { loadModule: missingNative(tried), log: () => undefined };
    expect(await initBackend(undefined, { ...quiet, env: { [BACKEND_ENV_VARIABLE]: 'cpu' } })).toMatchObject({
      name: 'cpu',
      requested: 'cpu',
      skipped: [],
    });
    expect(tf.getBackend()).toBe('cpu');
    expect(tried).toEqual([]);
    expect((await initBackend(undefined, { ...quiet, env: { [BACKEND_ENV_VARIABLE]: ' WASM ' } })).name).toBe('wasm');
    expect((await initBackend('cpu', { ...quiet, env: { [BACKEND_ENV_VARIABLE]: 'wasm' } })).name).toBe('cpu');
    expect((await initBackend('auto', { ...quiet, env: { [BACKEND_ENV_VARIABLE]: 'wasm' } })).name).toBe('wasm');
  });

  it('rejects an unknown value naming the variable and the allowed values', async () => {
    await expect(initBackend(undefined, { log: () => undefined, env: { [BACKEND_ENV_VARIABLE]: 'cuda' } })).rejects.toThrow(
      /KFASHION_TF_BACKEND: unknown TensorFlow.js backend "cuda"; allowed values are tensorflow, wasm, cpu/,
    );
    await expect(initBackend('webgl', { log: () => undefined, env: {} })).rejects.toThrow(/initBackend\(preferred\).*"webgl"/);
  });

  it('fails loudly when tensorflow is requested but no native package loads', async () => {
    const tried: string[] = [];
    await expect(
      initBackend(undefined, { loadModule: missingNative(tried), log: () => undefined, env: { [BACKEND_ENV_VARIABLE]: 'tensorflow' } }),
    ).rejects.toThrow(/'tensorflow' was requested but is not available: @tensorflow\/tfjs-node-gpu: Cannot find module/);
    expect(tried).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
  });

  it('points setWasmPaths at the folder holding the wasm binaries, with a trailing separator', () => {
    const folder = wasmBinaryFolder();
    expect(folder.endsWith(path.sep)).toBe(true);
    expect(fs.existsSync(folder + 'tfjs-backend-wasm-simd.wasm')).toBe(true);
  });

  it('registers gradients (a conv2d gradient works on cpu)', async () => {
    await initBackend('cpu', { log: () => undefined, env: {} });
    const g = tf.tidy(() =>
      tf
        .grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')))(
          tf.ones([2, 2, 1, 1]),
        )
        .dataSync(),
    );
    expect(Array.from(g)).toEqual([4, 4, 4, 4]);
  });
});
