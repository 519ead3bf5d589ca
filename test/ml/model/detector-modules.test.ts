/**
 * The detector's modules are the one description of its layers: the model's parameters, the training memory
 * estimate's count and the ONNX export all follow the config's modules, and the architecture (v1/v2) comes from the
 * config, never from which weights happen to be present.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { AttributeRCNN } from '../../../src/ml/model/attribute-rcnn';
import { resolveConfig, type Architecture } from '../../../src/ml/model/config';
import { DetectorModules } from '../../../src/ml/model/detector';
import { buildModelGraph, storeWeights } from '../../../src/ml/onnx/export';
import { parameterCount } from '../../../src/ml/train/step-memory';

const configOf = (architecture: Architecture) =>
  resolveConfig(
    {
      backbone: 'resnet18',
      architecture,
      num_classes: 3,
      fpn_out_channels: 8,
      representation_size: 16,
      attributes: [
        { kind: 'color', type: 'single', values: ['red', 'blue'] },
        { kind: 'pattern', type: 'multi', values: ['dots', 'stripes', 'plain'] },
      ],
    },
    `${architecture} config`,
  );

describe('detector modules', () => {
  beforeAll(async () => {
    await initBackend('cpu', { log: () => undefined });
  });

  test.each<Architecture>(['v1', 'v2'])(
    "%s: the model holds exactly the modules' parameters, and step-memory counts them",
    (architecture) => {
      const config = configOf(architecture);
      const model = AttributeRCNN.create(config, 3);
      try {
        const specs = new DetectorModules(config).parameterSpecs();
        expect(model.store.names()).toEqual(specs.map((s) => s.name));
        const held = model.store.names().reduce((sum, name) => sum + model.store.get(name).size, 0);
        expect(parameterCount(config)).toBe(held);
        // v2's conv box head and two-conv RPN head, v1's TwoMLPHead.
        expect(model.store.has('roi_heads.box_head.5.weight')).toBe(architecture === 'v2');
        expect(model.store.has('rpn.head.conv.1.0.weight')).toBe(architecture === 'v2');
        expect(model.store.has('roi_heads.box_head.fc6.weight')).toBe(architecture === 'v1');
      } finally {
        model.dispose();
      }
    },
  );

  test("the exporter builds the config's architecture: v1 weights under a v2 config are refused, naming the missing tensor", () => {
    const v1 = AttributeRCNN.create(configOf('v1'), 3);
    try {
      expect(() => buildModelGraph(configOf('v2'), storeWeights(v1.store))).toThrow(
        'model parameter "backbone.fpn.inner_blocks.3.1.weight" is not defined',
      );
      expect(buildModelGraph(configOf('v1'), storeWeights(v1.store)).length).toBeGreaterThan(0);
    } finally {
      v1.dispose();
    }
    expect(tf.memory().numTensors).toBe(0);
  });
});
