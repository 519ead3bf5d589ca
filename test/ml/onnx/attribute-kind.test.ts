/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * A new attribute kind is a change to the config only: the trained fixture model (heads-trained.ts) with two kinds
 * added (a single and a multi one, their heads freshly initialised) exports to ONNX through the same exporter, and
 * ONNX Runtime's detections and every kind's probabilities equal the tfjs engine's (the tolerances of
 * onnx-engine.test.ts: boxes 0.5 px, scores and probabilities 1e-3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../../src/ml/backend';
import { AttributeRCNN, type Detection } from '../../../src/ml/model/attribute-rcnn';
import { readConfigFile, resolveConfig, type AttributeSpec, type ModelConfig } from '../../../src/ml/model/config';
import { OnnxAttributeRCNN } from '../../../src/ml/onnx/engine';
import { fixtureImages, writeTrainedModel } from '../model/heads-trained';

const ADDED_KINDS: AttributeSpec[] = [
  { kind: 'sleeve', type: 'single', values: ['none', 'short', 'long'] },
  { kind: 'detail', type: 'multi', values: ['pocket', 'zip', 'button', 'belt', 'hood'] },
];

/** Each detection's probabilities of one kind's values, in the config's value order. */
function probabilities(detections: Detection[], spec: AttributeSpec): number[] {
  return detections.flatMap((d) =>
    spec.values.map((v) => (d.attributes[spec.kind].find((a) => a.value === v) as { probability: number }).probability),
  );
}

function maxAbsDiff(actual: number[], expected: number[]): number {
  expect(actual.length).toBe(expected.length);
  return actual.reduce((max, a, i) => Math.max(max, Math.abs(a - expected[i])), 0);
}

describe('an attribute kind added to the config', () => {
  let dir: string;
  let config: ModelConfig;
  let weights: string;

  beforeAll(async () => {
    await initBackend('wasm', { log: () => undefined });
    dir = mkdtempSync(path.join(tmpdir(), 'kfashion-attribute-kind-'));
    const trained = writeTrainedModel(dir);
    const base = AttributeRCNN.withWeights(readConfigFile(trained.config), trained.weights);
    config = resolveConfig({ ...base.config, attributes: [...base.config.attributes, ...ADDED_KINDS] }, 'extended config');
    const extended = AttributeRCNN.create(config, 11);
    try {
      for (const name of base.store.names()) extended.store.assignFromTorch(name, base.store.torchValues(name));
      weights = path.join(dir, 'extended.safetensors');
      extended.save(weights, path.join(dir, 'extended.json'));
    } finally {
      base.dispose();
      extended.dispose();
    }
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("is exported and run by ONNX Runtime with the tfjs engine's detections and probabilities", async () => {
    const onnx = await OnnxAttributeRCNN.create(config, weights, { log: () => undefined });
    const tfjs = AttributeRCNN.withWeights(config, weights);
    try {
      const images = fixtureImages();
      const fromOnnx = await onnx.predict(images);
      const fromTfjs = await tfjs.predict(images);
      expect(fromOnnx.map((d) => d.length)).toEqual(fromTfjs.map((d) => d.length));
      expect(fromOnnx.flat().length).toBeGreaterThan(0);
      fromOnnx.forEach((detections, i) => {
        expect(detections.map((d) => d.label)).toEqual(fromTfjs[i].map((d) => d.label));
        expect(
          maxAbsDiff(
            detections.flatMap((d) => d.box),
            fromTfjs[i].flatMap((d) => d.box),
          ),
        ).toBeLessThan(0.5);
        expect(
          maxAbsDiff(
            detections.map((d) => d.score),
            fromTfjs[i].map((d) => d.score),
          ),
        ).toBeLessThan(1e-3);
        for (const spec of config.attributes) {
          expect(detections.every((d) => d.attributes[spec.kind].length === spec.values.length)).toBe(true);
          expect(maxAbsDiff(probabilities(detections, spec), probabilities(fromTfjs[i], spec))).toBeLessThan(1e-3);
        }
      });
      // The added single kind is a softmax over its values, the multi kind a sigmoid per value: ONNX must not
      // have turned one into the other.
      const first = fromOnnx.flat()[0];
      const sum = (kind: string) => first.attributes[kind].reduce((s, a) => s + a.probability, 0);
      expect(sum('sleeve')).toBeCloseTo(1, 4);
      expect(Math.abs(sum('detail') - 1)).toBeGreaterThan(1e-2);
    } finally {
      onnx.dispose();
      tfjs.dispose();
    }
  });
});
