/**
 * Architecture v2 (torchvision's fasterrcnn_resnet50_fpn_v2): its parameters are torchvision's state_dict
 * names and shapes (checked against the checkpoint torch.save wrote, tools/reference/weights_reference.py),
 * the builder's name selects it, and it trains: the BatchNorm2d layers of the FPN and of the box head learn and
 * move their running statistics, without leaking tensors. Its detections against torchvision are in
 * test/ml/weights-pytorch.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { AttributeRCNN } from '../../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../../src/ml/model/config';
import { Sgd } from '../../../src/ml/train/sgd';
import { readPytorchCheckpoint } from '../../../src/ml/weights/pytorch-checkpoint';
import { fixtureImages, trainedFixture } from './heads-trained';

const FIXTURES = join(__dirname, '..', 'fixtures');
const fixtureConfig = JSON.parse(readFileSync(join(FIXTURES, 'weights_fasterrcnn_v2.json'), 'utf8')).config as Record<string, unknown>;

describe('Faster R-CNN v2 (wasm)', () => {
  let model: AttributeRCNN;

  beforeAll(async () => {
    await initBackend('wasm', { log: () => undefined });
    const dir = mkdtempSync(join(tmpdir(), 'kfashion-v2-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(fixtureConfig));
    model = await AttributeRCNN.load(join(FIXTURES, 'weights_fasterrcnn_v2_zip.pth'), join(dir, 'config.json'));
  });
  afterAll(() => model?.dispose());

  it("has exactly torchvision's parameter names and shapes", () => {
    const torch = [...readPytorchCheckpoint(join(FIXTURES, 'weights_fasterrcnn_v2_zip.pth'))].filter(
      ([name]) => !name.endsWith('num_batches_tracked'),
    );
    expect(model.store.names().sort()).toEqual(torch.map(([name]) => name).sort());
    for (const [name, tensor] of torch) expect(model.store.info(name).torchShape).toEqual(tensor.shape);
  });

  it("is selected by torchvision's builder name too", () => {
    expect(resolveConfig({ ...fixtureConfig, architecture: 'fasterrcnn_resnet50_fpn_v2' }, 'c').architecture).toBe('v2');
    expect(resolveConfig({ ...fixtureConfig, architecture: 'fasterrcnn_resnet50_fpn' }, 'c').architecture).toBe('v1');
    expect(() => resolveConfig({ ...fixtureConfig, architecture: 'v3' }, 'c.json')).toThrow(
      'c.json: architecture: expected one of v1, v2, fasterrcnn_resnet50_fpn, fasterrcnn_resnet50_fpn_v2, got "v3"',
    );
  });

  it('trains its FPN and box-head batch norms with batch statistics, without leaking tensors', () => {
    const trainable = new Set(model.store.trainable().keys());
    const learned = [
      'backbone.fpn.inner_blocks.0.1.weight',
      'backbone.fpn.layer_blocks.3.1.bias',
      'roi_heads.box_head.0.1.weight',
      'roi_heads.box_head.5.weight',
      'rpn.head.conv.1.0.weight',
    ];
    for (const name of learned) expect(trainable.has(name)).toBe(true);
    const watched = [...learned, 'backbone.fpn.inner_blocks.0.1.running_mean', 'roi_heads.box_head.3.1.running_var'];
    const before = watched.map((name) => model.store.torchValues(name));
    const samples = fixtureImages()
      .slice(0, 1)
      .map((image, i) => ({ image, garments: trainedFixture.images[i].garments }));
    const sgd = new Sgd({ lr: 1e-3, momentum: 0.9, weightDecay: 1e-4 });
    model.trainStep(samples, sgd);
    const tensors = tf.memory().numTensors;
    const losses = model.trainStep(samples, sgd);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Object.values(losses).every(Number.isFinite)).toBe(true);
    watched.forEach((name, i) => {
      const after = model.store.torchValues(name);
      expect({ name, changed: after.some((v, j) => v !== before[i][j]) }).toEqual({ name, changed: true });
    });
    sgd.dispose();
  });
});
