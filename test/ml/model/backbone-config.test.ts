/** Model config: torchvision FasterRCNN defaults, validation errors naming the key, file reading. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configToJson, evalMinSize, readConfigFile, resolveConfig } from '../../../src/ml/model/config';

const minimal = { backbone: 'resnet18', class_names: ['__background__', 'rectangle', 'ellipse', 'triangle'] };

describe('resolveConfig', () => {
  it('fills torchvision 0.14 FasterRCNN defaults for absent keys', () => {
    const config = resolveConfig(minimal, 'c.json');
    expect(config).toMatchObject({
      backbone: 'resnet18',
      num_classes: 4,
      attributes: [],
      min_size: 800,
      max_size: 1333,
      image_mean: [0.485, 0.456, 0.406],
      image_std: [0.229, 0.224, 0.225],
      rpn_pre_nms_top_n_train: 2000,
      rpn_pre_nms_top_n_test: 1000,
      rpn_post_nms_top_n_train: 2000,
      rpn_post_nms_top_n_test: 1000,
      rpn_nms_thresh: 0.7,
      rpn_fg_iou_thresh: 0.7,
      rpn_bg_iou_thresh: 0.3,
      rpn_batch_size_per_image: 256,
      rpn_positive_fraction: 0.5,
      rpn_score_thresh: 0,
      box_score_thresh: 0.05,
      box_nms_thresh: 0.5,
      box_detections_per_img: 100,
      box_fg_iou_thresh: 0.5,
      box_bg_iou_thresh: 0.5,
      box_batch_size_per_image: 512,
      box_positive_fraction: 0.25,
      bbox_reg_weights: [10, 10, 5, 5],
      trainable_backbone_layers: 3,
      representation_size: 1024,
      fpn_out_channels: 256,
    });
  });

  it('keeps given values, resolves bbox_reg_weights null, accepts a full example config', () => {
    const config = resolveConfig(
      {
        ...minimal,
        num_classes: 4,
        min_size: [640, 672, 704],
        max_size: 1000,
        bbox_reg_weights: null,
        box_score_thresh: 0.2,
        attributes: [
          { kind: 'color', type: 'single', values: ['red', 'green'] },
          { kind: 'pattern', type: 'multi', values: ['stripes', 'dots'] },
        ],
      },
      'c.json',
    );
    expect(config.bbox_reg_weights).toEqual([10, 10, 5, 5]);
    expect(evalMinSize(config)).toBe(704);
    expect(config.box_score_thresh).toBe(0.2);
    expect(config.attributes[1]).toEqual({ kind: 'pattern', type: 'multi', values: ['stripes', 'dots'] });
    expect(resolveConfig(JSON.parse(configToJson(config)), 'again')).toEqual(config);
  });

  it('derives class names from num_classes', () => {
    expect(resolveConfig({ num_classes: 3 }, 'c').class_names).toEqual(['__background__', 'class_1', 'class_2']);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['unknown key', { ...minimal, rpn_nms_threshold: 0.5 }, 'c.json: unknown config key "rpn_nms_threshold"'],
    [
      'bad backbone',
      { ...minimal, backbone: 'resnet152' },
      'c.json: backbone: expected one of resnet18, resnet34, resnet50, resnet101, got "resnet152"',
    ],
    ['threshold out of range', { ...minimal, box_nms_thresh: 1.5 }, 'c.json: box_nms_thresh: expected a number in [0, 1], got 1.5'],
    [
      'non-integer count',
      { ...minimal, rpn_batch_size_per_image: 25.5 },
      'c.json: rpn_batch_size_per_image: expected an integer in [1, 100000], got 25.5',
    ],
    ['short mean', { ...minimal, image_mean: [0.5, 0.5] }, 'c.json: image_mean: expected an array of 3 numbers'],
    ['zero std', { ...minimal, image_std: [0.2, 0, 0.2] }, 'c.json: image_std: expected positive numbers'],
    ['min_size element', { ...minimal, min_size: [800, 'x'] }, 'c.json: min_size[1]: expected an integer in [32, 2048], got "x"'],
    [
      'trainable layers',
      { ...minimal, trainable_backbone_layers: 6 },
      'c.json: trainable_backbone_layers: expected an integer in [0, 5], got 6',
    ],
    ['class count mismatch', { ...minimal, num_classes: 3 }, 'c.json: class_names: has 4 names but num_classes is 3'],
    ['no classes', { backbone: 'resnet18' }, 'c.json: num_classes: missing'],
    ['duplicate class', { class_names: ['bg', 'a', 'a'] }, 'c.json: class_names: duplicate name "a"'],
    [
      'attribute type',
      { ...minimal, attributes: [{ kind: 'color', type: 'one', values: ['red'] }] },
      'c.json: attributes[0].type: expected "single" or "multi", got "one"',
    ],
    [
      'attribute kind',
      { ...minimal, attributes: [{ kind: 'sleeve length', type: 'single', values: ['long'] }] },
      'c.json: attributes[0].kind: expected an identifier',
    ],
    [
      'duplicate kind',
      {
        ...minimal,
        attributes: [
          { kind: 'a', type: 'single', values: ['x'] },
          { kind: 'a', type: 'multi', values: ['y'] },
        ],
      },
      'c.json: attributes[1].kind: duplicate attribute kind "a"',
    ],
    [
      'empty values',
      { ...minimal, attributes: [{ kind: 'a', type: 'single', values: [] }] },
      'c.json: attributes[0].values: expected at least one value',
    ],
    [
      'extra attribute key',
      { ...minimal, attributes: [{ kind: 'a', type: 'single', values: ['x'], weight: 2 }] },
      'c.json: attributes[0].weight: unknown key',
    ],
  ])('%s → error naming the key', (_label, input, message) => {
    expect(() => resolveConfig(input, 'c.json')).toThrow(message);
  });

  it('rejects a non-object', () => {
    expect(() => resolveConfig([1], 'c.json')).toThrow('c.json: model config must be a JSON object');
  });
});

describe('readConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kfashion-config-'));

  it('reads a JSON file (with a BOM) and resolves it', () => {
    const path = join(dir, 'model.json');
    writeFileSync(path, `\uFEFF${JSON.stringify({ ...minimal, min_size: 512 })}`);
    expect(readConfigFile(path)).toMatchObject({ backbone: 'resnet18', min_size: 512, num_classes: 4 });
  });

  it('names the file for bad JSON, a missing file, and a bad key', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"backbone": ');
    expect(() => readConfigFile(bad)).toThrow(`${bad}: model config is not valid JSON`);
    expect(() => readConfigFile(join(dir, 'none.json'))).toThrow(`${join(dir, 'none.json')}: cannot read model config`);
    const badKey = join(dir, 'key.json');
    writeFileSync(badKey, JSON.stringify({ ...minimal, max_size: -1 }));
    expect(() => readConfigFile(badKey)).toThrow(`${badKey}: max_size: expected an integer in [32, 4096], got -1`);
  });
});
