/**
 * SGD (momentum 0.9, weight decay 1e-4) and the detection reference's warm-up + multi-step schedule
 * against torch.optim.SGD / LinearLR / MultiStepLR (heads_sgd.json from tools/reference/heads_reference.py).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { detectionLearningRate, Sgd } from '../../../src/ml/train/sgd';
import { formulaValues } from '../model/heads-formula';

const fixture = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/heads_sgd.json'), 'utf8')) as {
  lr: number;
  momentum: number;
  weight_decay: number;
  iters_per_epoch: number;
  epochs: number;
  milestones: number[];
  gamma: number;
  initial: number[];
  lrs: number[];
  values: number[][];
};

describe.each(['cpu', 'wasm'])('SGD and LR schedule on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  test('matches torch.optim.SGD with the warm-up + MultiStepLR schedule step by step', () => {
    const schedule = {
      baseLr: fixture.lr,
      iterationsPerEpoch: fixture.iters_per_epoch,
      milestones: fixture.milestones,
      gamma: fixture.gamma,
    };
    const before = tf.memory().numTensors;
    const initial = tf.tensor1d(fixture.initial);
    const p = tf.variable(initial, true);
    initial.dispose();
    const sgd = new Sgd({ lr: fixture.lr, momentum: fixture.momentum, weightDecay: fixture.weight_decay });
    let step = 0;
    for (let epoch = 0; epoch < fixture.epochs; epoch++) {
      for (let it = 0; it < fixture.iters_per_epoch; it++) {
        sgd.lr = detectionLearningRate(schedule, epoch, it);
        expect(Math.abs(sgd.lr - fixture.lrs[step])).toBeLessThanOrEqual(1e-12 + 1e-9 * fixture.lrs[step]);
        const grad = tf.tensor1d(formulaValues(`sgd.grad.${step}`, [7]));
        sgd.step(new Map([['p', p]]), new Map([['p', grad]]));
        grad.dispose();
        const values = p.dataSync();
        fixture.values[step].forEach((v, i) => expect(Math.abs(values[i] - v)).toBeLessThan(1e-6));
        step++;
      }
    }
    sgd.dispose();
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('state() and loadState() carry the momentum buffers to a new optimiser', () => {
    const initial = tf.tensor1d(fixture.initial);
    const a = tf.variable(initial, true);
    const b = tf.variable(initial, true);
    initial.dispose();
    const first = new Sgd({ lr: 0.01, momentum: 0.9 });
    const second = new Sgd({ lr: 0.01, momentum: 0.9 });
    const grads = [0, 1].map((i) => tf.tensor1d(formulaValues(`sgd.grad.${i}`, [7])));
    first.step(new Map([['p', a]]), new Map([['p', grads[0]]]));
    second.step(new Map([['p', b]]), new Map([['p', grads[0]]]));
    const resumed = new Sgd({ lr: 0.01, momentum: 0.9 });
    resumed.loadState(second.state());
    second.dispose();
    first.step(new Map([['p', a]]), new Map([['p', grads[1]]]));
    resumed.step(new Map([['p', b]]), new Map([['p', grads[1]]]));
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, ...grads]);
    first.dispose();
    resumed.dispose();
  });

  test('rejects a negative learning rate', () => {
    expect(() => new Sgd({ lr: -1 })).toThrow(/lr must be a non-negative number/);
  });
});
