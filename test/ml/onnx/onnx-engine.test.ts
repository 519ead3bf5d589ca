/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * The ONNX engine against the tfjs engine and torchvision, on the trained fixture model of
 * tools/reference/heads_reference.py (ResNet-18 body, 64-channel FPN and heads): same labels and order, boxes
 * within 0.5 px, scores and attribute probabilities within 1e-3.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../../src/ml/backend';
import { AttributeRCNN, type Detection } from '../../../src/ml/model/attribute-rcnn';
import { readConfigFile } from '../../../src/ml/model/config';
import { OnnxAttributeRCNN } from '../../../src/ml/onnx/engine';
import { fixtureImages, trainedFixture, writeTrainedModel } from '../model/heads-trained';

type Reference = { boxes: number[]; scores: number[]; labels: number[]; attributes: Record<string, number[]> };

function flatten(detections: Detection[], kinds: { kind: string; values: string[] }[]): Reference {
  return {
    boxes: detections.flatMap((d) => d.box),
    scores: detections.map((d) => d.score),
    labels: detections.map((d) => d.label),
    attributes: Object.fromEntries(kinds.map(({ kind, values }) => [kind, detections.flatMap((d) =>
      values.map((v) => (d.attributes[kind].find((a) => a.value === v) as { probability: number }).probability))])),
  };
}

function maxAbsDiff(actual: number[], expected: number[]): number {
  expect(actual.length).toBe(expected.length);
  return actual.reduce((worst, a, i) => Math.max(worst, Math.abs(a - expected[i])), 0);
}

function expectSameDetections(actual: Reference, expected: Reference): void {
  expect(actual.labels).toEqual(expected.labels);
  expect(maxAbsDiff(actual.boxes, expected.boxes)).toBeLessThan(0.5);
  expect(maxAbsDiff(actual.scores, expected.scores)).toBeLessThan(1e-3);
  for (const kind of Object.keys(expected.attributes)) expect(maxAbsDiff(actual.attributes[kind], expected.attributes[kind])).toBeLessThan(1e-3);
}

describe('ONNX engine', () => {
  let dir: string;
  let onnx: OnnxAttributeRCNN;
  let tfjs: AttributeRCNN;
  const kinds = trainedFixture.config.attributes as { kind: string; values: string[] }[];

  beforeAll(async () => {
    await initBackend('wasm');
    dir = mkdtempSync(path.join(tmpdir(), 'kfashion-onnx-'));
    const files = writeTrainedModel(dir);
    const config = readConfigFile(files.config);
    onnx = await OnnxAttributeRCNN.create(config, files.weights);
    tfjs = AttributeRCNN.withWeights(config, files.weights);
  });

  afterAll(() => {
    onnx?.dispose();
    tfjs?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('detections of the fixture images equal torchvision and the tfjs engine', async () => {
    const images = fixtureImages();
    const fromOnnx = await onnx.predict(images);
    const fromTfjs = await tfjs.predict(images);
    expect(fromOnnx.map((d) => d.length)).toEqual(trainedFixture.detections.map((d) => d.labels.length));
    fromOnnx.forEach((detections, i) => {
      expectSameDetections(flatten(detections, kinds), trainedFixture.detections[i]);
      expectSameDetections(flatten(detections, kinds), flatten(fromTfjs[i], kinds));
    });
  });

  test('the export is cached beside the weights', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()).toEqual([expect.stringMatching(/\.features\.onnx$/), expect.stringMatching(/\.roi-heads\.onnx$/)]);
  });
});
