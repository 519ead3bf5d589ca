/**
 * The training-step memory estimate against the wasm heap measured after two real steps (bench/training-memory,
 * numbers in bench/RESULTS.md "Training memory"), the refusal it gives and its advice, and the bounds and
 * key allow-list of model configs (resolveConfig, config JSON files).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readConfigFile, resolveConfig } from '../../../src/ml/model/config';
import {
  checkStepMemory,
  estimateStepMemory,
  fittingSizes,
  trainingMemoryBudget,
  WASM_HEAP_LIMIT_BYTES,
  type MemoryBudget,
} from '../../../src/ml/train/step-memory';
import { CPU_TRAINING_SIZES, paramsFromOptions } from '../../../src/cli/train';
import { normaliseTrainingParams } from '../../../src/jobs/training-params';

const WASM: MemoryBudget = { bytes: WASM_HEAP_LIMIT_BYTES, of: "the wasm backend's heap limit" };

/** A from-scratch run's model (batch_norm, every stage trained), as measured. */
function fromScratch(keys: Record<string, unknown>) {
  return resolveConfig(
    {
      backbone: 'resnet18',
      trainable_backbone_layers: 5,
      norm_layer: 'batch_norm',
      class_names: ['__background__', 'a', 'b', 'c'],
      ...keys,
    },
    'test',
  );
}

/** wasm heap bytes after two steps (tfjs-backend-wasm 4.22, Node 20): [backbone, norm, height, width, batch, bytes]. */
const MEASURED: [string, string, number, number, number, number][] = [
  ['resnet18', 'batch_norm', 128, 128, 1, 1_167_785_984],
  ['resnet18', 'batch_norm', 128, 128, 2, 1_285_357_568],
  ['resnet18', 'batch_norm', 256, 256, 1, 1_356_922_880],
  ['resnet18', 'batch_norm', 384, 384, 1, 1_867_776_000],
  ['resnet18', 'batch_norm', 512, 512, 1, 2_554_658_816],
  ['resnet18', 'batch_norm', 320, 512, 2, 3_161_980_928],
  ['resnet50', 'batch_norm', 384, 384, 1, 4_217_569_280],
  // As a run from initWeights: frozen batch norm, 3 stages trained.
  ['resnet18', 'frozen_batch_norm', 384, 384, 1, 1_502_806_016],
  ['resnet18', 'frozen_batch_norm', 512, 512, 1, 1_806_000_000],
  ['resnet18', 'frozen_batch_norm', 320, 512, 2, 2_098_000_000],
];

it.each(MEASURED)(
  'estimates %s (%s) on a %i×%i batch of %i within -10%..+16% of the measured wasm heap',
  (backbone, norm, h, w, batch, measured) => {
    const frozen = norm === 'frozen_batch_norm' ? { norm_layer: norm, trainable_backbone_layers: 3 } : {};
    const estimate = estimateStepMemory(
      fromScratch({ backbone, min_size: Math.min(h, w), max_size: Math.max(h, w), ...frozen }),
      batch,
    ).bytes;
    expect(estimate / measured).toBeGreaterThan(0.9);
    expect(estimate / measured).toBeLessThan(1.16);
  },
);

it('grows with the pixels, the batch and the backbone', () => {
  const small = estimateStepMemory(fromScratch({ min_size: 320, max_size: 512 }), 2).bytes;
  expect(estimateStepMemory(fromScratch({ min_size: 640, max_size: 1024 }), 2).bytes).toBeGreaterThan(2.5 * small);
  expect(estimateStepMemory(fromScratch({ min_size: 320, max_size: 512 }), 4).bytes).toBeGreaterThan(1.5 * small);
  expect(estimateStepMemory(fromScratch({ backbone: 'resnet50', min_size: 320, max_size: 512 }), 2).bytes).toBeGreaterThan(1.5 * small);
});

it("refuses torchvision's sizes on the wasm heap with the estimate, the limit and sizes that fit", () => {
  const refusal = checkStepMemory(fromScratch({}), 2, WASM);
  expect(refusal?.field).toBe('max_size');
  expect(refusal?.message).toMatch(
    /^one training step needs about 13\.\d GiB \(2 image\(s\) of up to 800×1344 px, resnet18\) but the wasm backend's heap limit is 4\.0 GiB; use min_size (\d+) and max_size (\d+), or a native backend/,
  );
  const [, min, max] = /min_size (\d+) and max_size (\d+)/.exec(refusal!.message)!.map(Number);
  expect(checkStepMemory(fromScratch({ min_size: min, max_size: max }), 2, WASM)).toBeNull();
  expect(fittingSizes(fromScratch({}), 2, WASM)).toEqual({ min_size: min, max_size: max });
  // A batch of one that fits is named first.
  expect(checkStepMemory(fromScratch({ min_size: 384, max_size: 640 }), 4, WASM)).toMatchObject({
    field: 'batchSize',
    message: expect.stringMatching(/use a batch size of 1, or/),
  });
  expect(checkStepMemory(fromScratch({}), 2, null)).toBeNull();
});

it('kfashion train defaults to its CPU sizes on a CPU backend, which fit the wasm heap with a batch of 2 and room to spare', () => {
  expect(estimateStepMemory(fromScratch(CPU_TRAINING_SIZES), 2).bytes).toBeLessThan(0.8 * WASM_HEAP_LIMIT_BYTES);
  const onCpu = normaliseTrainingParams(paramsFromOptions({ attributeKinds: 'color' }, { device: 'cpu' }), { memoryBudget: WASM });
  expect(onCpu.model).toMatchObject({ backbone: 'resnet18', ...CPU_TRAINING_SIZES });
  expect(onCpu.batchSize).toBe(2);
  // A GPU keeps torchvision's sizes; a size given in --model-config is kept.
  expect(paramsFromOptions({}, { device: 'cuda' }).model).toEqual({});
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-train-options-'));
  try {
    fs.writeFileSync(path.join(dir, 'm.json'), '{"max_size": 640}');
    expect(paramsFromOptions({ modelConfig: path.join(dir, 'm.json') }, { device: 'cpu' }).model).toEqual({ max_size: 640 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('budgets the wasm heap limit on wasm and the free RAM on a native CPU backend', async () => {
  expect(await trainingMemoryBudget({ name: 'wasm', device: 'cpu' })).toEqual(WASM);
  const ram = await trainingMemoryBudget({ name: 'tensorflow', device: 'cpu' });
  expect(ram?.of).toBe('the free RAM of this host');
  expect(ram!.bytes).toBeGreaterThan(0);
  expect(ram!.bytes).toBeLessThanOrEqual(os.totalmem());
});

describe('model config bounds and keys', () => {
  const config = (keys: Record<string, unknown>) => () => resolveConfig({ num_classes: 2, ...keys }, 'cfg');

  it('refuses integers outside the documented bounds, naming the key', () => {
    expect(config({ rpn_pre_nms_top_n_train: 2147483647 })).toThrow(
      'cfg: rpn_pre_nms_top_n_train: expected an integer in [1, 20000], got 2147483647',
    );
    expect(config({ fpn_out_channels: 1000000 })).toThrow('cfg: fpn_out_channels: expected an integer in [1, 1024], got 1000000');
    expect(config({ min_size: [512, 100000] })).toThrow('cfg: min_size[1]: expected an integer in [32, 2048], got 100000');
    expect(config({ box_detections_per_img: 0 })).toThrow('cfg: box_detections_per_img: expected an integer in [1, 1000], got 0');
    expect(config({ rpn_pre_nms_top_n_train: 20000, fpn_out_channels: 1024 })()).toMatchObject({
      rpn_pre_nms_top_n_train: 20000,
      fpn_out_channels: 1024,
    });
  });

  it('accepts only its own keys: constructor and __proto__ are unknown keys', () => {
    expect(config({ constructor: 1 })).toThrow('cfg: unknown config key "constructor"');
    expect(config(JSON.parse('{"__proto__": {"min_size": 64}}'))).toThrow('cfg: unknown config key "__proto__"');
    expect(config({ toString: 'x' })).toThrow('cfg: unknown config key "toString"');
  });

  it('names the file and the key of a config JSON file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-config-'));
    try {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, '{"num_classes": 2, "__proto__": {"fpn_out_channels": 8}}');
      expect(() => readConfigFile(file)).toThrow(`${file}: unknown config key "__proto__"`);
      fs.writeFileSync(file, '{"num_classes": 2, "representation_size": 100000}');
      expect(() => readConfigFile(file)).toThrow(`${file}: representation_size: expected an integer in [1, 4096], got 100000`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
