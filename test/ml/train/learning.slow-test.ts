/**
 * Learning test: a small Attribute R-CNN (ResNet-18 FPN, 64-channel FPN, 160 px images,
 * body frozen as trainable_backbone_layers 0) trained from scratch on the wasm backend overfits four
 * drawn-shape images: afterwards every ground-truth shape is found (IoU ≥ 0.5) with its category and its
 * colour. Run with `npm run test:learning` (jest.learning.config.js; it takes minutes, so it is not part of `npm test`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { AttributeRCNN } from '../../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../../src/ml/model/config';
import { detectionLearningRate, Sgd } from '../../../src/ml/train/sgd';
import { boxIou, COLOUR_NAMES, drawShapes, shapesConfig } from './shapes';

const EPOCHS = Number(process.env.KFASHION_LEARNING_EPOCHS ?? 8);
const STEPS_PER_EPOCH = 20;

test('overfits a handful of drawn-shape images on wasm: boxes, categories and colours', async () => {
  await initBackend('wasm');
  const config = resolveConfig(shapesConfig(), 'learning test config');
  const model = AttributeRCNN.create(config, 1);
  const samples = drawShapes(4, 3);
  // the detection reference's schedule: warm-up over the first epoch, ×0.1 for the last quarter
  const schedule = { baseLr: 0.01, iterationsPerEpoch: STEPS_PER_EPOCH, milestones: [Math.round(EPOCHS * 0.75)] };
  const STEPS = EPOCHS * STEPS_PER_EPOCH;
  const sgd = new Sgd({ lr: schedule.baseLr, momentum: 0.9, weightDecay: 1e-4 });
  const started = Date.now();
  let last: Record<string, number> = {};
  for (let step = 0; step < STEPS; step++) {
    sgd.lr = detectionLearningRate(schedule, Math.floor(step / STEPS_PER_EPOCH), step % STEPS_PER_EPOCH);
    const batch = [samples[(2 * step) % samples.length], samples[(2 * step + 1) % samples.length]];
    // untrained-body features are large: clip as the Python fixture training does
    last = model.trainStep(batch, sgd, { clipGradNorm: 10 });
    if (process.env.KFASHION_LEARNING_LOG && step % 10 === 0) console.log(step, JSON.stringify(last));
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `learning test: ${STEPS} steps of 2 images in ${seconds.toFixed(1)} s (${(seconds / STEPS).toFixed(2)} s/step); last losses ${JSON.stringify(last)}`,
  );

  const detections = await model.predict(samples.map((s) => s.image));
  if (process.env.KFASHION_LEARNING_LOG) {
    detections.forEach((d, i) =>
      console.log(
        i,
        JSON.stringify(samples[i].garments),
        JSON.stringify(d.slice(0, 4).map((x) => [x.label, x.score.toFixed(3), x.box.map(Math.round), x.attributes.color[0].value])),
      ),
    );
  }
  samples.forEach((sample, i) => {
    for (const garment of sample.garments) {
      const found = detections[i].find((d) => d.score > 0.5 && boxIou(d.box, garment.box) >= 0.5 && d.label === garment.label);
      expect({ image: i, garment: garment.box, found: Boolean(found) }).toEqual({ image: i, garment: garment.box, found: true });
      const colour = COLOUR_NAMES[garment.attributes?.color as number];
      expect({ image: i, colour: found?.attributes.color[0].value }).toEqual({ image: i, colour });
    }
  });
  sgd.dispose();
  model.dispose();
  expect(tf.memory().numTensors).toBeLessThan(10);
}, 1_800_000);
