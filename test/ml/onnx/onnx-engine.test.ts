/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * The ONNX engine against the tfjs engine and torchvision, on the trained fixture model of
 * tools/reference/heads_reference.py (ResNet-18 body, 64-channel FPN and heads): same labels and order, boxes
 * within 0.5 px, scores and attribute probabilities within 1e-3. Images: the fixture's three squares, and
 * tools/reference/onnx_reference.py's non-square ones (112×160 padded, 160×240 resized and padded, in one batch)
 * and a blank image torchvision finds nothing in.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../../src/ml/backend';
import { AttributeRCNN, type Detection } from '../../../src/ml/model/attribute-rcnn';
import { readConfigFile, resolveConfig } from '../../../src/ml/model/config';
import { OnnxAttributeRCNN, resolveEngine } from '../../../src/ml/onnx/engine';
import { fixtureImages, trainedFixture, writeTrainedModel } from '../model/heads-trained';
import { runCli } from '../run-cli';
import { predictFiles } from '../../../src/cli/predict';
import { samplePath } from '../../support/samples';

const parity: { images: { width: number; height: number; rgb_base64: string }[]; detections: Reference[] } = JSON.parse(
  readFileSync(path.join(__dirname, '../fixtures/onnx_parity.json'), 'utf8'),
);

interface PredictedImage {
  image: string;
  width: number;
  height: number;
  detections: Detection[];
}

type Reference = { boxes: number[]; scores: number[]; labels: number[]; attributes: Record<string, number[]> };

function flatten(detections: Detection[], kinds: { kind: string; values: string[] }[]): Reference {
  return {
    boxes: detections.flatMap((d) => d.box),
    scores: detections.map((d) => d.score),
    labels: detections.map((d) => d.label),
    attributes: Object.fromEntries(
      kinds.map(({ kind, values }) => [
        kind,
        detections.flatMap((d) =>
          values.map((v) => (d.attributes[kind].find((a) => a.value === v) as { probability: number }).probability),
        ),
      ]),
    ),
  };
}

function maxAbsDiff(actual: number[], expected: number[], what: string): number {
  expect(actual.length).toBe(expected.length);
  const worst = actual.reduce((max, a, i) => Math.max(max, Math.abs(a - expected[i])), 0);
  if (process.env.ONNX_PARITY_DEBUG) console.log(`max |difference| ${what}`, worst);
  return worst;
}

function expectSameDetections(actual: Reference, expected: Reference): void {
  expect(actual.labels).toEqual(expected.labels);
  expect(maxAbsDiff(actual.boxes, expected.boxes, 'boxes')).toBeLessThan(0.5);
  expect(maxAbsDiff(actual.scores, expected.scores, 'scores')).toBeLessThan(1e-3);
  for (const kind of Object.keys(expected.attributes))
    expect(maxAbsDiff(actual.attributes[kind], expected.attributes[kind], 'attributes')).toBeLessThan(1e-3);
}

describe('ONNX engine', () => {
  let dir: string;
  let files: { weights: string; config: string };
  let onnx: OnnxAttributeRCNN;
  let tfjs: AttributeRCNN;
  const kinds = trainedFixture.config.attributes as { kind: string; values: string[] }[];

  beforeAll(async () => {
    await initBackend('wasm');
    dir = mkdtempSync(path.join(tmpdir(), 'kfashion-onnx-'));
    files = writeTrainedModel(dir);
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

  test('non-square images and an image without detections equal torchvision and the tfjs engine', async () => {
    const images = parity.images.map((image) => ({
      width: image.width,
      height: image.height,
      data: new Uint8Array(Buffer.from(image.rgb_base64, 'base64')),
    }));
    expect(images.map((i) => i.width !== i.height)).toEqual([true, true, false]);
    const fromOnnx = await onnx.predict(images);
    const fromTfjs = await tfjs.predict(images);
    expect(fromOnnx.map((d) => d.length)).toEqual(parity.detections.map((d) => d.labels.length));
    expect(fromOnnx[2]).toEqual([]);
    expect(fromOnnx[0].length).toBeGreaterThan(0);
    // Alone in its batch, the blank image leaves the graph with no rows at all past the RPN: still a clean answer.
    expect(await onnx.predict([images[2]])).toEqual([[]]);
    fromOnnx.forEach((detections, i) => {
      expectSameDetections(flatten(detections, kinds), parity.detections[i]);
      expectSameDetections(flatten(detections, kinds), flatten(fromTfjs[i], kinds));
    });
  });

  test('kfashion predict --engine onnx prints what the tfjs engine gives (a K-Fashion JPEG and a non-square PNG)', async () => {
    const image = parity.images[0];
    const png = path.join(dir, 'shapes.png');
    await sharp(Buffer.from(image.rgb_base64, 'base64'), { raw: { width: image.width, height: image.height, channels: 3 } })
      .png()
      .toFile(png);
    const paths = [samplePath('1070263.jpg'), png];
    const printed: PredictedImage[] = JSON.parse(
      await runCli(['predict', ...paths, '--weights', files.weights, '--config', files.config, '--json', '--engine', 'onnx']),
    );
    const expected = await predictFiles(tfjs, paths);
    expect(printed.map(({ detections, ...rest }) => rest)).toEqual(expected.map(({ detections, ...rest }) => rest));
    expect(printed.map((p) => p.width !== p.height)).toEqual([true, true]);
    expect(printed[1].detections.length).toBeGreaterThan(0);
    printed.forEach((predicted, i) => {
      expect(predicted.detections.map((d) => [d.className, Object.keys(d).sort()])).toEqual(
        expected[i].detections.map((d) => [d.className, Object.keys(d).sort()]),
      );
      expectSameDetections(flatten(predicted.detections, kinds), flatten(expected[i].detections, kinds));
    });
  });

  // The file's structure (ops, input and output types) is checked by onnx-check.test.ts with the ONNX project's checker.
  test('kfashion export-onnx writes one model, which gives the same detections', async () => {
    const written = path.join(dir, 'exported.onnx');
    expect(await runCli(['export-onnx', written, '--weights', files.weights, '--config', files.config])).toBe(`${written}\n`);
    const exported = await OnnxAttributeRCNN.fromModel(onnx.config, readFileSync(written), { log: () => undefined });
    try {
      const image = fixtureImages().slice(0, 1);
      expect(await exported.predict(image)).toEqual(await onnx.predict(image));
    } finally {
      exported.dispose();
    }
  });

  test('the export is cached beside the weights (the CLI above used the cache)', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.onnx') && !f.startsWith('exported.'))).toEqual([
      expect.stringMatching(/\.[0-9a-f]{16}\.onnx$/),
    ]);
  });

  test('an unknown engine is named with where it came from', async () => {
    await expect(runCli(['predict', 'x.jpg', '--weights', files.weights, '--config', files.config, '--engine', 'gpu'])).rejects.toThrow(
      '--engine: unknown engine "gpu" (expected tfjs or onnx)',
    );
    expect(() => resolveEngine(undefined, { KFASHION_ENGINE: 'tensorrt' })).toThrow(
      'KFASHION_ENGINE: unknown engine "tensorrt" (expected tfjs or onnx)',
    );
    expect(resolveEngine(undefined, { KFASHION_ENGINE: 'onnx' })).toBe('onnx');
    expect(resolveEngine(undefined, {})).toBe('tfjs');
  });
});

interface DetectorFixture {
  config: Record<string, unknown>;
  image: number;
  float: { boxes: number[]; scores: number[]; labels: number[] };
}

// torchvision's fasterrcnn_resnet50_fpn (v1) and _v2 (BatchNorm FPN, two-conv RPN head, conv box head) on a small
// ResNet-18 checkpoint written by torch.save (tools/reference/weights_reference.py): the ONNX engine's detections
// equal torchvision's (no attribute heads in these checkpoints).
describe.each(['weights_fasterrcnn', 'weights_fasterrcnn_v2'])('ONNX engine on the %s checkpoint', (stem) => {
  const fixture: DetectorFixture = JSON.parse(readFileSync(path.join(__dirname, `../fixtures/${stem}.json`), 'utf8'));
  let dir: string;

  beforeAll(async () => {
    await initBackend('wasm', { log: () => undefined });
    dir = mkdtempSync(path.join(tmpdir(), 'kfashion-onnx-pth-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('detections equal torchvision', async () => {
    const weights = path.join(dir, 'model.pth');
    copyFileSync(path.join(__dirname, `../fixtures/${stem}_zip.pth`), weights);
    const model = await OnnxAttributeRCNN.create(resolveConfig(fixture.config, stem), weights);
    try {
      const [detections] = await model.predict([fixtureImages()[fixture.image]]);
      expect(detections.length).toBeGreaterThan(0);
      expectSameDetections(flatten(detections, []), { ...fixture.float, attributes: {} });
    } finally {
      model.dispose();
    }
  });
});
