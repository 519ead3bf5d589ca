/**
 * Fine-tuning from a checkpoint of another label space against training from scratch (issue 12).
 *
 *   npm run bench:finetune            # KFASHION_FINETUNE_SOURCE_STEPS / _TARGET_STEPS / _EVAL_EVERY to change the lengths
 *
 * Source: a drawn-shape detector whose classes are the shapes' colours (red / green / blue / yellow), trained
 * from scratch on 16 images and saved as safetensors. Target: other images of the same kind labelled with
 * another label space, the shape as the class (rectangle / ellipse / triangle) with a pattern attribute head.
 * Two runs of the same length, seed and batches train the target: one initialised from the source checkpoint
 * through the loader `--init-weights` uses (class heads re-initialised: 5 classes there, 4 here; no attribute
 * head in the file), one from scratch. (The other way round, a shape source, learned too little in a few
 * hundred steps on this frozen random body to have anything to transfer: AP@0.5 0.013 on held-out images.)
 * Box AP@0.5 on 8 held-out images is measured every few steps; the bench reports the step at which each run first
 * reaches the target AP. Small model (ResNet-18 body frozen as in the learning test, 64-channel FPN, 160 px),
 * wasm backend.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/ml/backend';
import { AttributeRCNN, type TrainingSample } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../src/ml/model/config';
import { evaluate, evaluationConfigOf } from '../../src/ml/eval';
import { detectionLearningRate, Sgd } from '../../src/ml/train/sgd';
import { loadMatchingWeights } from '../../src/model-server/training/init-weights';
import { COLOUR_NAMES, drawShapes, shapesConfig } from '../../test/ml/train/shapes';

const env = process.env;
const SOURCE_STEPS = Number(env.KFASHION_FINETUNE_SOURCE_STEPS ?? 160);
const TARGET_STEPS = Number(env.KFASHION_FINETUNE_TARGET_STEPS ?? 120);
const EVAL_EVERY = Number(env.KFASHION_FINETUNE_EVAL_EVERY ?? 20);
const TARGET_AP50 = Number(env.KFASHION_FINETUNE_TARGET_AP50 ?? 0.3);
const STEPS_PER_EPOCH = 20;

/** The source label space: each shape's colour is its class; no attribute annotations. */
function byColour(samples: TrainingSample[]): TrainingSample[] {
  return samples.map((s) => ({ image: s.image, garments: s.garments.map((g) => ({ box: g.box, label: 1 + (g.attributes?.color as number) })) }));
}

function train(model: AttributeRCNN, samples: TrainingSample[], steps: number, onStep?: (step: number) => Promise<void>): Promise<void> {
  const schedule = { baseLr: 0.01, iterationsPerEpoch: STEPS_PER_EPOCH, milestones: [1000] };
  const sgd = new Sgd({ lr: schedule.baseLr, momentum: 0.9, weightDecay: 1e-4 });
  return (async () => {
    for (let step = 0; step < steps; step++) {
      sgd.lr = detectionLearningRate(schedule, Math.floor(step / STEPS_PER_EPOCH), step % STEPS_PER_EPOCH);
      model.trainStep([samples[(2 * step) % samples.length], samples[(2 * step + 1) % samples.length]], sgd, { clipGradNorm: 10 });
      await onStep?.(step + 1);
    }
    sgd.dispose();
  })();
}

async function boxAp50(model: AttributeRCNN, samples: TrainingSample[]): Promise<number> {
  const detections = await model.predict(samples.map((s) => s.image));
  const truth = samples.map((s) => s.garments.map((g) => ({ box: g.box, label: g.label })));
  const detected = detections.map((d) => d.map((x) => ({ box: x.box, label: x.label, score: x.score, attributes: x.attributes })));
  return evaluate(truth, detected, evaluationConfigOf(model.config)).box.ap50 ?? 0;
}

async function targetRun(name: string, init: string | null, train_: TrainingSample[], held: TrainingSample[]): Promise<{ name: string; curve: [number, number][]; reached: number | null; seconds: number }> {
  const config = resolveConfig(shapesConfig({ attributes: [{ kind: 'pattern', type: 'multi', values: ['stripes'] }] }), 'target config');
  const model = AttributeRCNN.create(config, 2);
  if (init) {
    const report = loadMatchingWeights(model.store, init);
    console.error(`${name}: ${report.loaded} tensors loaded, re-initialised ${report.reinitialised.length} (${report.reinitialised.map((r) => r.split(' ')[0]).join(', ')}), unused ${report.unused.length}`);
  }
  const curve: [number, number][] = [[0, await boxAp50(model, held)]];
  const started = Date.now();
  await train(model, train_, TARGET_STEPS, async (step) => {
    if (step % EVAL_EVERY === 0) {
      curve.push([step, await boxAp50(model, held)]);
      console.error(`${name}: step ${step} AP@0.5 ${curve[curve.length - 1][1].toFixed(3)}`);
    }
  });
  const seconds = (Date.now() - started) / 1000;
  model.dispose();
  return { name, curve, reached: curve.find(([, ap]) => ap >= TARGET_AP50)?.[0] ?? null, seconds };
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm', { log: () => undefined });
  const dir = mkdtempSync(join(tmpdir(), 'kfashion-finetune-'));
  const source = AttributeRCNN.create(resolveConfig(shapesConfig({ class_names: ['__background__', ...COLOUR_NAMES], attributes: [] }), 'source config'), 1);
  const sourceStarted = Date.now();
  await train(source, byColour(drawShapes(16, 3)), SOURCE_STEPS);
  const sourceSeconds = (Date.now() - sourceStarted) / 1000;
  // How well the source learned its own label space, on held-out images: what the checkpoint has to offer.
  const sourceAp50 = await boxAp50(source, byColour(drawShapes(8, 99)));
  const checkpoint = join(dir, 'source.safetensors');
  source.save(checkpoint, join(dir, 'source.json'));
  source.dispose();
  console.error(`source: ${SOURCE_STEPS} steps in ${sourceSeconds.toFixed(0)} s, AP@0.5 on its own label space ${sourceAp50.toFixed(3)}`);
  const trainTarget = drawShapes(16, 5).map((s) => ({ image: s.image, garments: s.garments.map((g) => ({ box: g.box, label: g.label, attributes: { pattern: g.attributes?.pattern } })) }));
  const held = drawShapes(8, 99);
  const runs = [await targetRun('from checkpoint', checkpoint, trainTarget, held), await targetRun('from scratch', null, trainTarget, held)];
  console.log(JSON.stringify({ backend: backend.name, sourceSteps: SOURCE_STEPS, sourceAp50, targetSteps: TARGET_STEPS, targetAp50: TARGET_AP50, sourceSeconds, runs }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
