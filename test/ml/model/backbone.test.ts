/**
 * ResNet-FPN backbone against torchvision 0.14 (fixtures from tools/reference/backbone_reference.py):
 * state_dict names/shapes/trainability for every depth, FPN features of resnet18 (2 images of 70x100: odd
 * sizes at every stage) and resnet50 (64x64) with the synthetic weights of src/ml/weights/synthetic.ts (all
 * frozen batch norms non-trivial), torchvision's fresh init, and which parameters receive gradients.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { BackboneName } from '../../../src/ml/model/config';
import { backboneForward, backboneParameterSpecs, BackboneConfig, defineBackboneParameters, upsampleNearest } from '../../../src/ml/model/fpn';
import { defineParameters, fans, initialValues, ParameterSpec, ParameterStore, SeededRandom } from '../../../src/ml/model/params';
import { readSafetensors } from '../../../src/ml/weights/safetensors';
import { loadStateDict } from '../../../src/ml/weights/state-dict';
import { syntheticTensor } from '../../../src/ml/weights/synthetic';

const FIXTURES = join(__dirname, '..', 'fixtures');
const LEVELS = ['0', '1', '2', '3', 'pool'];
type NameEntry = [string, number[], boolean];
const names = JSON.parse(readFileSync(join(FIXTURES, 'backbone_names.json'), 'utf8')) as Record<string, NameEntry[]>;

const configFor = (backbone: BackboneName, trainable = 3): BackboneConfig => ({ backbone, fpn_out_channels: 256, trainable_backbone_layers: trainable });

/** A backbone whose parameters hold the synthetic weights, loaded through the state_dict path (layout conversion included). */
function syntheticBackbone(backbone: BackboneName): ParameterStore {
  const store = new ParameterStore();
  // Zeros first (cheap), then the synthetic values through the loader.
  const specs = backboneParameterSpecs(configFor(backbone)).map((spec): ParameterSpec => ({ ...spec, init: { kind: 'constant', value: 0 } }));
  defineParameters(store, specs, new SeededRandom(0));
  const dict = new Map(store.names().map((name) => {
    const shape = store.info(name).torchShape;
    return [name, { shape, data: syntheticTensor(name, shape) }];
  }));
  loadStateDict(store, dict, `synthetic ${backbone}`);
  return store;
}

const nchwToNhwc = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;

/** max |ours − reference| / max |reference| */
function relativeError(ours: tf.Tensor, reference: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(ours, reference))).dataSync()[0] / tf.max(tf.abs(reference)).dataSync()[0]);
}

describe('backbone parameters match torchvision resnet_fpn_backbone state_dicts', () => {
  it.each(Object.keys(names))('%s (depth/trainable_layers): names in order, shapes, requires_grad', (key) => {
    const [backbone, trainable] = key.split('/');
    const specs = backboneParameterSpecs(configFor(backbone as BackboneName, Number(trainable)));
    expect(specs.map((s): NameEntry => [s.name, s.torchShape, s.trainable])).toEqual(names[key]);
  });
});

describe('fresh initialisation follows torchvision', () => {
  it('ResNet convs kaiming_normal(fan_out), FPN convs kaiming_uniform(a=1) with zero bias, batch norms identity', () => {
    const specs = backboneParameterSpecs(configFor('resnet18'));
    const random = new SeededRandom(3);
    const check = (name: string) => {
      const spec = specs.find((s) => s.name === name)!;
      const values = Array.from(initialValues(spec.torchShape, spec.init, random));
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      return { values, mean, std, ...(spec.torchShape.length > 1 ? fans(spec.torchShape) : { fanIn: 0, fanOut: 0 }) };
    };
    const conv = check('backbone.body.layer3.0.conv1.weight');
    expect(conv.std / Math.sqrt(2 / conv.fanOut)).toBeCloseTo(1, 1);
    expect(Math.abs(conv.mean)).toBeLessThan(0.01 * conv.std);
    const fpn = check('backbone.fpn.layer_blocks.0.0.weight');
    const bound = Math.sqrt(3 / fpn.fanIn);
    expect(fpn.values.reduce((m, v) => (v > m ? v : -v > m ? -v : m), 0)).toBeLessThanOrEqual(bound);
    expect(fpn.std / (bound / Math.sqrt(3))).toBeCloseTo(1, 1);
    expect(new Set(check('backbone.fpn.inner_blocks.2.0.bias').values)).toEqual(new Set([0]));
    expect(new Set(check('backbone.body.bn1.running_var').values)).toEqual(new Set([1]));
    expect(new Set(check('backbone.body.layer1.1.bn2.running_mean').values)).toEqual(new Set([0]));
  });

  it('is reproducible from the seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const draws = Array.from({ length: 5 }, () => [a.normal(), a.next()]);
    expect(Array.from({ length: 5 }, () => [b.normal(), b.next()])).toEqual(draws);
    expect(new SeededRandom(43).next()).not.toBe(new SeededRandom(42).next());
  });
});

describe.each(['cpu', 'wasm'])('backboneForward on %s matches torchvision', (backend) => {
  beforeAll(async () => {
    await initBackend(backend, { log: () => undefined });
  });

  it.each<[BackboneName]>([['resnet18'], ['resnet50']])('%s: FPN features P2..P6, relative error < 1e-4, no leaks', (backbone) => {
    const fixture = readSafetensors(join(FIXTURES, `backbone_${backbone}.safetensors`)).tensors;
    for (const [key, entry] of fixture) {
      if (key.startsWith('weights.')) expect(syntheticTensor(key.slice(8), entry.shape)).toEqual(entry.data);
    }
    const store = syntheticBackbone(backbone);
    const before = tf.memory().numTensors;
    const input = fixture.get('images')!;
    const images = tf.tidy(() => nchwToNhwc(tf.tensor(input.data, input.shape)));
    const features = backboneForward(store, { backbone }, images);
    expect(features).toHaveLength(5);
    LEVELS.forEach((level, i) => {
      const expected = fixture.get(`features.${level}`)!;
      const reference = tf.tidy(() => nchwToNhwc(tf.tensor(expected.data, expected.shape)));
      expect(features[i].shape).toEqual(reference.shape);
      expect(relativeError(features[i], reference)).toBeLessThan(1e-4);
      reference.dispose();
    });
    tf.dispose([...features, images]);
    expect(tf.memory().numTensors).toBe(before);
    store.dispose();
  });
});

// Which parameters get gradients does not depend on the backend; the cpu backend's conv backprop kernels
// are ~50x slower than wasm's (about a minute of CPU here), so this runs on wasm only.
describe('backward pass on wasm', () => {
  beforeAll(async () => {
    await initBackend('wasm', { log: () => undefined });
  });

  it('gradients reach exactly the trainable stages (trainable_backbone_layers 3: layer2..4 and the FPN)', () => {
    const store = new ParameterStore();
    defineBackboneParameters(store, configFor('resnet18'), new SeededRandom(5));
    const images = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => tf.addN(backboneForward(store, { backbone: 'resnet18' }, images).map((p) => tf.mean(tf.square(p))))) as tf.Scalar);
    const graded = Object.keys(grads);
    const byName = new Map([...store.trainable()].map(([name, variable]) => [variable.name, name]));
    const gradedNames = graded.map((id) => byName.get(id));
    expect(gradedNames.sort()).toEqual([...store.trainable().keys()].sort());
    expect(gradedNames.some((n) => n?.startsWith('backbone.body.layer1'))).toBe(false);
    expect(gradedNames).toContain('backbone.body.layer2.0.downsample.0.weight');
    expect(gradedNames).toContain('backbone.fpn.layer_blocks.0.0.weight');
    expect(gradedNames).not.toContain('backbone.body.layer4.1.bn2.weight');
    for (const id of graded) expect(tf.max(tf.abs(grads[id])).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([value, images, ...Object.values(grads)]);
    store.dispose();
  });
});

describe('nearest upsampling as F.interpolate(size=lateral)', () => {
  it('equals the floor(dst · in/out) rule for even, odd and general sizes', async () => {
    await initBackend('cpu', { log: () => undefined });
    const x = tf.tensor4d(Array.from({ length: 3 * 4 * 2 }, (_, i) => i), [1, 3, 4, 2]);
    for (const [outH, outW] of [[6, 8], [5, 7], [6, 7], [7, 10]]) {
      const y = upsampleNearest(x, [outH, outW]).arraySync()[0];
      const xs = x.arraySync()[0];
      for (let r = 0; r < outH; r++) {
        for (let c = 0; c < outW; c++) expect(y[r][c]).toEqual(xs[Math.floor(r * 3 / outH)][Math.floor(c * 4 / outW)]);
      }
    }
    x.dispose();
  });
});
