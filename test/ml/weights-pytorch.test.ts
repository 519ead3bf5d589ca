/**
 * PyTorch checkpoints read without Python, against files torch 1.13's torch.save wrote
 * (tools/reference/weights_reference.py): every storage dtype, views with offsets and strides, nested and
 * `module.`-prefixed state dicts, both the zip and the legacy format; an ImageNet ResNet-18 loaded into the
 * detector's body gives torchvision's layer1..layer4 features; a whole Faster R-CNN (current and pre-0.13 key
 * names, float32 and float16) gives torchvision's detections; a malicious pickle is refused unexecuted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/ml/backend';
import { AttributeRCNN, type Detection } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../src/ml/model/config';
import { resnetForward } from '../../src/ml/model/resnet';
import { readPytorchCheckpoint } from '../../src/ml/weights/pytorch-checkpoint';
import { readSafetensors } from '../../src/ml/weights/safetensors';
import { detectorNames } from '../../src/ml/weights/state-dict';
import { readWeightsFile } from '../../src/ml/weights/weights-file';
import { loadMatchingWeights } from '../../src/model-server/training/init-weights';
import { fixtureImages } from './model/heads-trained';

const FIXTURES = join(__dirname, 'fixtures');
const fixture = (name: string) => join(FIXTURES, name);
const MALICIOUS_MARKER = '/tmp/kfashion-malicious-pickle-ran';
const DTYPE_NAMES: Record<string, string> = {
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  float32: 'F32',
  int64: 'I64',
  bool: 'BOOL',
};

interface Expected {
  shape: number[];
  dtype: string;
  values: number[];
}
const expected = JSON.parse(readFileSync(fixture('weights_tensors.json'), 'utf8')) as Record<string, Expected>;

describe.each(['zip', 'legacy'])('PyTorch checkpoint reader, %s format', (format) => {
  const tensors = readPytorchCheckpoint(fixture(`weights_tensors_${format}.pth`));

  it('unwraps {"model": state_dict}, drops "module.", skips what is not the model (optimizer, epoch)', () => {
    expect([...tensors.keys()]).toEqual(Object.keys(expected));
  });

  it.each(Object.keys(expected))('%s: dtype, shape and float32 values as torch has them', (name) => {
    const tensor = tensors.get(name)!;
    expect(tensor.dtype).toBe(DTYPE_NAMES[expected[name].dtype]);
    expect(tensor.shape).toEqual(expected[name].shape);
    expect(Array.from(tensor.data)).toEqual(expected[name].values.map(Math.fround));
  });

  it('is told from safetensors by its bytes, not its name', () => {
    expect(readWeightsFile(fixture(`weights_tensors_${format}.pth`)).format).toBe('pytorch');
    expect(readWeightsFile(fixture('backbone_dtypes.safetensors')).format).toBe('safetensors');
  });

  it('refuses a pickle that calls os.system, naming the global, without running it', () => {
    rmSync(MALICIOUS_MARKER, { force: true });
    expect(() => readPytorchCheckpoint(fixture(`weights_malicious_${format}.pth`))).toThrow(
      /global "os\.system", which is not on the allow-list/,
    );
    expect(existsSync(MALICIOUS_MARKER)).toBe(false);
  });
});

describe('PyTorch checkpoint errors name the file and the problem', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kfashion-pth-'));

  it('a truncated zip checkpoint', () => {
    const bytes = readFileSync(fixture('weights_tensors_zip.pth'));
    const path = join(scratch, 'cut.pth');
    writeFileSync(path, bytes.subarray(0, bytes.length - 40));
    expect(() => readPytorchCheckpoint(path)).toThrow(new RegExp(`${path}: `));
  });

  it('a truncated legacy checkpoint', () => {
    const bytes = readFileSync(fixture('weights_tensors_legacy.pth'));
    const path = join(scratch, 'cut-legacy.pth');
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    expect(() => readPytorchCheckpoint(path)).toThrow(new RegExp(`${path}: .*(truncated|ends unexpectedly)`));
  });

  it('a pickle that is not a state dict', () => {
    const path = join(scratch, 'list.pth');
    // Legacy header pickles (magic, protocol 1001, system info), then a pickled list [1, 2].
    const header = Buffer.from(readFileSync(fixture('weights_malicious_legacy.pth')));
    const payloadStart = header.lastIndexOf(Buffer.from([0x80, 0x02]));
    writeFileSync(
      path,
      Buffer.concat([header.subarray(0, payloadStart), Buffer.from([0x80, 0x02, 0x5d, 0x28, 0x4b, 1, 0x4b, 2, 0x65, 0x2e])]),
    );
    expect(() => readPytorchCheckpoint(path)).toThrow(`${path}: not a state dict (the checkpoint holds a list)`);
  });
});

describe('ImageNet classification ResNet-18 → detector body', () => {
  it('maps conv1/bn1/layer1-4 under backbone.body. and leaves fc out', () => {
    const names = detectorNames(['conv1.weight', 'bn1.running_mean', 'layer4.1.bn2.bias', 'fc.weight']);
    expect([...names.values()]).toEqual([
      'backbone.body.conv1.weight',
      'backbone.body.bn1.running_mean',
      'backbone.body.layer4.1.bn2.bias',
      'fc.weight',
    ]);
    expect(
      detectorNames(['backbone.body.conv1.weight', 'backbone.fpn.inner_blocks.0.weight']).get('backbone.fpn.inner_blocks.0.weight'),
    ).toBe('backbone.fpn.inner_blocks.0.0.weight');
  });

  describe.each(['cpu', 'wasm'])('on %s', (backend) => {
    beforeAll(async () => {
      await initBackend(backend, { log: () => undefined });
    });

    const reference = readSafetensors(fixture('weights_resnet18_features.safetensors')).tensors;
    const config = resolveConfig({ backbone: 'resnet18', num_classes: 3, class_names: ['__background__', 'a', 'b'] }, 'test config');

    it.each([
      ['zip', 'float'],
      ['legacy', 'float'],
      ['half', 'half'],
    ])('%s checkpoint: body features equal torchvision (%s weights)', (file, variant) => {
      const model = AttributeRCNN.create(config, 0);
      try {
        const report = loadMatchingWeights(model.store, fixture(`weights_resnet18_${file}.pth`));
        const bodyNames = model.store.names().filter((name) => name.startsWith('backbone.body.'));
        expect(report.loaded).toBe(bodyNames.length);
        expect(report.unused.sort()).toEqual(['fc.bias', 'fc.weight']);
        expect(report.reinitialised.length).toBe(model.store.names().length - bodyNames.length);
        expect(report.reinitialised.every((line) => !line.startsWith('backbone.body.') && line.endsWith('(not in the file)'))).toBe(true);
        const image = reference.get('image')!;
        const features = tf.tidy(() =>
          resnetForward(model.store, 'resnet18', tf.tensor4d(image.data, image.shape as [number, number, number, number])).map((t) =>
            t.dataSync(),
          ),
        );
        features.forEach((ours, level) => {
          const theirs = reference.get(`${variant}.layer${level + 1}`)!.data;
          expect(ours.length).toBe(theirs.length);
          const scale = Math.max(...theirs.map(Math.abs));
          const worst = Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i])));
          expect(worst / scale).toBeLessThan(1e-4);
        });
      } finally {
        model.dispose();
      }
    });
  });
});

interface ReferenceDetections {
  boxes: number[];
  scores: number[];
  labels: number[];
}
interface DetectorFixture {
  config: Record<string, unknown>;
  image: number;
  float: ReferenceDetections;
  half: ReferenceDetections;
}
const detectorFixtures: Record<string, DetectorFixture> = Object.fromEntries(
  ['weights_fasterrcnn', 'weights_fasterrcnn_v2'].map((stem) => [
    stem,
    JSON.parse(readFileSync(fixture(`${stem}.json`), 'utf8')) as DetectorFixture,
  ]),
);
const detectorFixture = detectorFixtures.weights_fasterrcnn;

/** Each of torchvision's detections has one of ours with its label, its box within 0.5 px and its score within 1e-3 (order aside: near-equal scores may swap). */
function expectSameDetections(ours: Detection[], theirs: ReferenceDetections): void {
  expect(ours).toHaveLength(theirs.labels.length);
  const unmatched = [...ours];
  theirs.labels.forEach((label, k) => {
    const box = theirs.boxes.slice(4 * k, 4 * k + 4);
    const index = unmatched.findIndex(
      (d) => d.label === label && Math.abs(d.score - theirs.scores[k]) < 1e-3 && d.box.every((v, j) => Math.abs(v - box[j]) < 0.5),
    );
    expect({ detection: k, label, box, score: theirs.scores[k], matched: index >= 0 }).toMatchObject({ matched: true });
    unmatched.splice(index, 1);
  });
}

// The assembled model runs on wasm (the plain cpu backend's conv2d takes minutes at this size; see heads-model.test.ts).
describe('Faster R-CNN checkpoints written by torch: detections equal torchvision (wasm)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kfashion-pth-detector-'));

  beforeAll(async () => {
    await initBackend('wasm', { log: () => undefined });
  });

  it.each([
    ['weights_fasterrcnn', 'zip', 'float'],
    ['weights_fasterrcnn', 'legacy', 'float'],
    ['weights_fasterrcnn', 'half', 'half'],
    ['weights_fasterrcnn_v2', 'zip', 'float'],
    ['weights_fasterrcnn_v2', 'legacy', 'float'],
    ['weights_fasterrcnn_v2', 'half', 'half'],
  ] as const)('%s, %s checkpoint (%s weights)', async (stem, file, variant) => {
    const configPath = join(scratch, `${stem}.json`);
    writeFileSync(configPath, JSON.stringify(detectorFixtures[stem].config));
    const model = await AttributeRCNN.load(fixture(`${stem}_${file}.pth`), configPath);
    try {
      const [detections] = await model.predict([fixtureImages()[detectorFixtures[stem].image]]);
      expectSameDetections(detections, detectorFixtures[stem][variant]);
    } finally {
      model.dispose();
    }
  });

  it('into an Attribute R-CNN of another label space: class heads re-initialised, other heads kept out, the rest loaded', () => {
    const config = resolveConfig(
      {
        ...detectorFixture.config,
        num_classes: 3,
        class_names: ['__background__', 'top', 'bottom'],
        attributes: [
          { kind: 'color', type: 'single', values: ['red', 'green', 'blue', 'yellow'] },
          { kind: 'material', type: 'multi', values: ['denim', 'knit', 'lace'] },
        ],
      },
      'other label space',
    );
    const model = AttributeRCNN.create(config, 0);
    try {
      const report = loadMatchingWeights(model.store, fixture('weights_fasterrcnn_legacy.pth'));
      expect(report.unused.sort()).toEqual(['roi_heads.box_predictor.pattern_score.bias', 'roi_heads.box_predictor.pattern_score.weight']);
      expect(report.reinitialised.sort()).toEqual([
        'roi_heads.box_predictor.bbox_pred.bias (shape [16] in the file, [12] in the model)',
        'roi_heads.box_predictor.bbox_pred.weight (shape [16,64] in the file, [12,64] in the model)',
        'roi_heads.box_predictor.cls_score.bias (shape [4] in the file, [3] in the model)',
        'roi_heads.box_predictor.cls_score.weight (shape [4,64] in the file, [3,64] in the model)',
        'roi_heads.box_predictor.material_score.bias (not in the file)',
        'roi_heads.box_predictor.material_score.weight (not in the file)',
      ]);
      expect(report.loaded).toBe(model.store.names().length - 6);
    } finally {
      model.dispose();
    }
  });

  it('the legacy file really has the pre-0.13 names', () => {
    const names = [...readPytorchCheckpoint(fixture('weights_fasterrcnn_legacy.pth')).keys()];
    expect(names).toContain('backbone.fpn.inner_blocks.0.weight');
    expect(names).toContain('rpn.head.conv.weight');
  });
});
