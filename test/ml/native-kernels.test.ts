/**
 * Native kernel coverage: every TensorFlow.js kernel the Attribute R-CNN calls — inference and a training step
 * (forward and gradients), v1 and v2, every backbone the CLI offers — must be one that @tensorflow/tfjs-node(-gpu)
 * 4.22 registers for its `tensorflow` backend (test/ml/fixtures/tfjs_node_kernels.json, from
 * tools/tfjs-node-kernels.js); on a GPU host a kernel it lacks makes the model throw. The kernels are recorded
 * on the wasm backend (the engine sees the same kernel calls on every backend; the recorder leaves out those
 * that wasm's own shims make), at tiny image sizes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/ml/backend';
import { kernelWorkloads, missingKernels, recordKernels } from '../../src/ml/doctor/kernels';
import { BACKBONES } from '../../src/ml/model/config';

const nativeKernels = (JSON.parse(readFileSync(join(__dirname, 'fixtures/tfjs_node_kernels.json'), 'utf8')) as { kernels: string[] })
  .kernels;

beforeAll(async () => {
  await initBackend('wasm', { log: () => undefined });
});

describe('the kernel recorder', () => {
  it('records the kernels an op calls, including those of its gradient, and not those a kernel calls inside', async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const w = tf.ones([2, 2, 1, 1]) as tf.Tensor4D;
    const used = await recordKernels(() =>
      tf.dispose(tf.grad((input: tf.Tensor) => tf.sum(tf.conv2d(input as tf.Tensor4D, w, 1, 'valid')))(x)),
    );
    expect(used).toEqual(expect.any(Set));
    expect([...used]).toEqual(expect.arrayContaining(['Conv2D', 'Sum', 'Conv2DBackpropInput']));
    expect(used.has('Conv2DBackpropFilter')).toBe(false);
    tf.dispose([x, w]);
  });

  it('restores the engine after the work, also when the work throws', async () => {
    const runKernel = (tf.engine() as unknown as { runKernel: unknown }).runKernel;
    await expect(
      recordKernels(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((tf.engine() as unknown as { runKernel: unknown }).runKernel).toBe(runKernel);
  });

  it('names the kernels a backend lacks', () => {
    expect(missingKernels(['Conv2D', 'RoiAlignMadeUp', 'Add', 'RoiAlignMadeUp'], nativeKernels)).toEqual(['RoiAlignMadeUp']);
  });
});

describe('the tfjs-node 4.22 kernel list', () => {
  it('is the package register list, with the kernels a detector trains with', () => {
    expect(nativeKernels.length).toBeGreaterThan(100);
    expect(nativeKernels).toEqual(
      expect.arrayContaining([
        'Conv2D',
        'Conv2DBackpropFilter',
        'Conv2DBackpropInput',
        'GatherV2',
        'UnsortedSegmentSum',
        'ResizeNearestNeighborGrad',
      ]),
    );
    // Kernels of tfjs-core that the native package does not register (the cpu and wasm backends have them).
    expect(nativeKernels).not.toContain('RaggedGather');
  });
});

/**
 * The kernels each workload calls, committed so that a change of the model's kernels shows in review; after such
 * a change, KFASHION_UPDATE_KERNEL_LIST=1 (with this file run alone) rewrites the list.
 */
const MODEL_KERNELS_FILE = join(__dirname, 'fixtures/model_kernels.json');
const updating = process.env.KFASHION_UPDATE_KERNEL_LIST === '1';
const modelKernels = JSON.parse(readFileSync(MODEL_KERNELS_FILE, 'utf8')) as { workloads: Record<string, string[]> };
const recorded: Record<string, string[]> = {};

afterAll(() => {
  if (!updating) return;
  const note = 'TensorFlow.js kernels each workload of src/ml/doctor/kernels.ts calls (test/ml/native-kernels.test.ts)';
  writeFileSync(MODEL_KERNELS_FILE, `${JSON.stringify({ note, workloads: recorded }, null, 2)}\n`);
});

describe.each(BACKBONES)('%s: every kernel the model calls is registered by the native backend', (backbone) => {
  const workloads = kernelWorkloads([backbone]);
  it.each(workloads.map((w) => [w.name, w] as const))('%s', async (name, workload) => {
    const used = [...(await recordKernels(() => workload.run()))].sort();
    recorded[name] = used;
    expect(used).toContain(workload.phase === 'training' ? 'Conv2DBackpropFilter' : 'FusedConv2D');
    expect(missingKernels(used, nativeKernels)).toEqual([]);
    if (!updating) expect(used).toEqual(modelKernels.workloads[name]);
  });
});
