/**
 * Speed of the ML-OPS pieces training leans on, on one backend (default wasm; KFASHION_TF_BACKEND or argv[2]):
 * - multiScaleRoiAlign forward and forward+backward: 512 RoIs over P2–P5 of a 512×512 image, 256 channels, 7×7,
 *   sampling ratio 2 (the Faster R-CNN box head's pooling during training);
 * - the conv2d filter and input gradients (the wasm kernels of src/ml/wasm-kernels.ts) next to the forward conv
 *   of the same layer.
 * Run: npx tsc -p bench/ml-ops/tsconfig.json && node dist/bench/ml-ops/run.js [wasm|cpu]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/ml/backend';
import { RoiAlignImplementation, multiScaleRoiAlign, setRoiAlignImplementation } from '../../src/ml/ops/roi-align';
import { seededRandom } from '../../src/util/random';

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(label: string, runs: number, body: () => void): number {
  body(); // warm-up
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    body();
    const cpu = process.cpuUsage(cpuStart);
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    cpuSeconds.push((cpu.user + cpu.system) / 1e6);
  }
  // CPU time of this process too: on a shared machine wall time includes waiting for the cores.
  const m = median(seconds);
  console.log(
    `${label}: median ${m.toFixed(3)} s wall, ${median(cpuSeconds).toFixed(3)} s CPU over ${runs} runs (min wall ${Math.min(...seconds).toFixed(3)})`,
  );
  return m;
}

function randomBoxes(count: number, imageSize: number, random: () => number): Float32Array {
  const values = new Float32Array(count * 4);
  for (let k = 0; k < count; k++) {
    // Sizes from 16 to 512 px, log-uniform, so every FPN level gets RoIs.
    const w = 16 * 32 ** random();
    const h = 16 * 32 ** random();
    const x = random() * (imageSize - w);
    const y = random() * (imageSize - h);
    values.set([x, y, x + w, y + h], 4 * k);
  }
  return values;
}

function measureRoiAlign(
  path: RoiAlignImplementation,
  levels: tf.Tensor4D[],
  boxes: tf.Tensor2D,
  cotangent: tf.Tensor,
): { forward: number; forwardBackward: number } {
  setRoiAlignImplementation(path);
  const label = `multiScaleRoiAlign [${path} path] 512 RoIs, P2-P5 of 512x512, C=256`;
  // Block bodies: a tidy that returned the read values would walk millions of numbers looking for tensors.
  const forward = time(`${label}: forward`, 3, () => {
    tf.tidy(() => {
      multiScaleRoiAlign(levels, [boxes], [[512, 512]]).dataSync();
    });
  });
  const forwardBackward = time(`${label}: forward+backward`, 3, () => {
    tf.tidy(() => {
      const loss = (...fs: tf.Tensor[]) => tf.sum(tf.mul(multiScaleRoiAlign(fs as tf.Tensor4D[], [boxes], [[512, 512]]), cotangent));
      tf.grads(loss)(levels).forEach((g) => g.dataSync());
    });
  });
  setRoiAlignImplementation('auto');
  return { forward, forwardBackward };
}

function measureConvFilterGradient(): { convForwardGflops: number; filterGradGflops: number; inputGradGflops: number } {
  const x = tf.randomNormal([1, 128, 128, 256]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 256, 256]) as tf.Tensor4D;
  const dy = tf.randomNormal([1, 128, 128, 256]) as tf.Tensor4D;
  const conv = time('conv2d 3x3 256->256 at 128x128: forward', 3, () => {
    tf.tidy(() => {
      tf.conv2d(x, w, 1, 'same').dataSync();
    });
  });
  const filterGrad = time('conv2d 3x3 256->256 at 128x128: Conv2DBackpropFilter', 3, () => {
    tf.tidy(() => {
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 256, 256] } as unknown as tf.NamedAttrMap;
      (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor).dataSync();
    });
  });
  const inputGrad = time('conv2d 3x3 256->256 at 128x128: Conv2DBackpropInput', 3, () => {
    tf.tidy(() => {
      tf.conv2dTranspose(dy, w, [1, 128, 128, 256], 1, 'same').dataSync();
    });
  });
  tf.dispose([x, w, dy]);
  const gflop = (2 * 128 * 128 * 9 * 256 * 256) / 1e9;
  return { convForwardGflops: gflop / conv, filterGradGflops: gflop / filterGrad, inputGradGflops: gflop / inputGrad };
}

async function main(): Promise<void> {
  const backend = await initBackend(process.argv[2], { env: process.env });
  const random = seededRandom(5);
  const channels = 256;
  const levels = [128, 64, 32, 16].map((s) => tf.randomNormal([1, s, s, channels]) as tf.Tensor4D);
  const boxes = tf.tensor2d(randomBoxes(512, 512, random), [512, 4]);
  const cotangent = tf.randomNormal([512, 7, 7, channels]);
  const roiAlign = { host: measureRoiAlign('host', levels, boxes, cotangent), tensor: measureRoiAlign('tensor', levels, boxes, cotangent) };
  const conv = measureConvFilterGradient();
  console.log(JSON.stringify({ backend: backend.name, roiAlign, ...conv, numTensors: tf.memory().numTensors }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
