/**
 * The wasm heap one training step needs, against src/ml/train/step-memory's estimate (the numbers its
 * constants were fitted to; bench/RESULTS.md, "Training memory").
 *
 *   npm run bench:training-memory -- resnet18 384 384 1 ['{"trainable_backbone_layers": 3}']
 *
 * Two SGD steps of a from-scratch model (batch_norm, every stage trained, as a run without initWeights) on a
 * batch of `batch` grey HEIGHT×WIDTH images with one garment each, then the size of the wasm module's memory:
 * it only grows, so it is the peak of both steps (the second one adds the momentum buffers).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/ml/backend';
import { AttributeRCNN } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../src/ml/model/config';
import { Sgd } from '../../src/ml/train/sgd';
import { estimateStepMemory } from '../../src/ml/train/step-memory';

async function main(): Promise<void> {
  const [backbone = 'resnet18', height = '384', width = '384', batch = '1', extra = '{}'] = process.argv.slice(2);
  const [h, w, b] = [Number(height), Number(width), Number(batch)];
  await initBackend('wasm');
  const config = resolveConfig(
    {
      backbone,
      min_size: Math.min(h, w),
      max_size: Math.max(h, w),
      class_names: ['__background__', 'a', 'b', 'c'],
      trainable_backbone_layers: 5,
      norm_layer: 'batch_norm',
      ...JSON.parse(extra),
    },
    'bench',
  );
  const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
  const model = AttributeRCNN.create(config, 0);
  const optimizer = new Sgd({ lr: 0.001, momentum: 0.9, weightDecay: 1e-4 });
  const samples = Array.from({ length: b }, () => ({
    image: { data: new Uint8Array(h * w * 3).fill(100), width: w, height: h },
    garments: [{ box: [8, 8, w / 2, h / 2] as [number, number, number, number], label: 1 }],
  }));
  const started = performance.now();
  model.trainStep(samples, optimizer);
  model.trainStep(samples, optimizer);
  const measured = heapBytes();
  const estimated = estimateStepMemory(config, b).bytes;
  const mb = (bytes: number) => Math.round(bytes / 1e6);
  console.log(
    JSON.stringify({
      backbone,
      height: h,
      width: w,
      batch: b,
      extra: JSON.parse(extra),
      heapMB: mb(measured),
      estimateMB: mb(estimated),
      estimateOverMeasured: Number((estimated / measured).toFixed(2)),
      secondsPerStep: Number(((performance.now() - started) / 2000).toFixed(1)),
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
