/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * Garment embeddings on the trained fixture model of tools/reference/heads_reference.py (ResNet-18 body, 64-channel
 * FPN, TwoMLPHead of 64):
 * - against an independent computation: the box's FPN level by torchvision's formula in float64, the single-level
 *   roiAlign (tested against torchvision in test/ml/ops), fc6 and fc7 with their ReLUs as float64 loops over the
 *   stored weights, L2-normed;
 * - a detection's embedding equals the embedding of its box given back to the model (same pooling, same head);
 * - the ONNX engine gives the tfjs engine's vectors, for detections and for given boxes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { AttributeRCNN, transformInputImages, type BoxesOfImage } from '../../../src/ml/model/attribute-rcnn';
import { readConfigFile } from '../../../src/ml/model/config';
import { backboneForward } from '../../../src/ml/model/fpn';
import { OnnxAttributeRCNN } from '../../../src/ml/onnx/engine';
import { roiAlign } from '../../../src/ml/ops/roi-align';
import { cosineSimilarity, dequantizeInt8 } from '../../../src/ml/embedding/int8';
import { GarmentEmbedding } from '../../../src/ml/embedding/garment-embedding';
import { fixtureImages, writeTrainedModel } from '../model/heads-trained';

/** The largest difference of two int8 vectors, component by component. */
function maxComponentDifference(a: GarmentEmbedding, b: GarmentEmbedding): number {
  return a.vector.reduce((max, v, i) => Math.max(max, Math.abs(v - b.vector[i])), 0);
}

function present(embedding: GarmentEmbedding | null): GarmentEmbedding {
  expect(embedding).not.toBeNull();
  return embedding!;
}

/** x [rows, in] · W [in, out] + b with ReLU, in float64. */
function linearRelu(x: Float64Array, rows: number, weight: Float32Array, bias: Float32Array): Float64Array {
  const inputs = x.length / rows;
  const outputs = bias.length;
  const out = new Float64Array(rows * outputs);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outputs; o++) {
      let sum = bias[o];
      for (let i = 0; i < inputs; i++) sum += x[r * inputs + i] * weight[i * outputs + o];
      out[r * outputs + o] = Math.max(0, sum);
    }
  return out;
}

describe('garment embeddings', () => {
  let dir: string;
  let tfjs: AttributeRCNN;
  let onnx: OnnxAttributeRCNN;

  beforeAll(async () => {
    await initBackend('wasm');
    dir = mkdtempSync(path.join(tmpdir(), 'kfashion-embedding-'));
    const files = writeTrainedModel(dir);
    const config = readConfigFile(files.config);
    tfjs = AttributeRCNN.withWeights(config, files.weights);
    onnx = await OnnxAttributeRCNN.create(config, files.weights, { log: () => undefined });
  });

  afterAll(() => {
    tfjs?.dispose();
    onnx?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a box is embedded as RoIAlign at its FPN level, fc6 and fc7 with ReLU, L2-normed (float64 reference)', async () => {
    const [image] = fixtureImages();
    // √area 64.5 → level 2 (stride 4); √area 140 → level 3 (stride 8); both away from a level boundary.
    const boxes = [
      [87, 54, 150, 120],
      [10, 10, 150, 150],
    ];
    const expectedLevels = [2, 3];
    boxes.forEach(([x1, y1, x2, y2], k) =>
      expect(Math.max(2, Math.min(5, Math.floor(4 + Math.log2(Math.sqrt((x2 - x1) * (y2 - y1)) / 224))))).toBe(expectedLevels[k]),
    );
    const [embedded] = await tfjs.embedBoxes([{ image, boxes: Float32Array.from(boxes.flat()) }]);

    const batch = transformInputImages([image], tfjs.config);
    expect(batch.imageSizes[0]).toEqual([160, 160]);
    const features = tf.tidy(() => backboneForward(tfjs.store, tfjs.config, batch.images));
    const weight = (name: string) => tfjs.store.get(name).dataSync() as Float32Array;
    boxes.forEach((box, k) => {
      const level = expectedLevels[k];
      const pooled = tf.tidy(() =>
        // NHWC [1, 7, 7, C] → torch's C, H, W order, as the fc6 of torchvision flattens it.
        tf.transpose(roiAlign(features[level - 2], tf.tensor2d([box]), Int32Array.of(0), [7, 7], 1 / 2 ** level, 2), [0, 3, 1, 2]),
      );
      const flat = Float64Array.from(pooled.dataSync());
      pooled.dispose();
      const fc6 = linearRelu(flat, 1, weight('roi_heads.box_head.fc6.weight'), weight('roi_heads.box_head.fc6.bias'));
      const fc7 = linearRelu(fc6, 1, weight('roi_heads.box_head.fc7.weight'), weight('roi_heads.box_head.fc7.bias'));
      const reference = present(GarmentEmbedding.fromRepresentation(fc7));
      const actual = present(embedded[k]);
      expect(actual.vector.length).toBe(64);
      expect(cosineSimilarity(dequantizeInt8(actual), fc7)).toBeGreaterThan(0.9999);
      expect(maxComponentDifference(actual, reference)).toBeLessThanOrEqual(1);
    });
    tf.dispose([batch.images, ...features]);
  });

  test("a detection's embedding is its box's embedding", async () => {
    const images = fixtureImages();
    const detections = await tfjs.predict(images);
    const requests: BoxesOfImage[] = images.map((image, i) => ({ image, boxes: Float32Array.from(detections[i].flatMap((d) => d.box)) }));
    const embedded = await tfjs.embedBoxes(requests);
    let compared = 0;
    detections.forEach((list, i) =>
      list.forEach((detection, k) => {
        const own = present(detection.embedding);
        expect(cosineSimilarity(dequantizeInt8(own), dequantizeInt8(present(embedded[i][k])))).toBeGreaterThan(0.9999);
        compared++;
      }),
    );
    expect(compared).toBeGreaterThanOrEqual(3);
  });

  test('the ONNX engine gives the tfjs engine’s vectors, for detections and for given boxes', async () => {
    const images = fixtureImages();
    const [fromTfjs, fromOnnx] = [await tfjs.predict(images), await onnx.predict(images)];
    let worstCosine = 1;
    let worstComponent = 0;
    const compare = (a: GarmentEmbedding | null, b: GarmentEmbedding | null) => {
      worstCosine = Math.min(worstCosine, cosineSimilarity(dequantizeInt8(present(a)), dequantizeInt8(present(b))));
      worstComponent = Math.max(worstComponent, maxComponentDifference(present(a), present(b)));
    };
    fromTfjs.forEach((list, i) => {
      expect(fromOnnx[i].map((d) => d.label)).toEqual(list.map((d) => d.label));
      list.forEach((d, k) => compare(d.embedding, fromOnnx[i][k].embedding));
    });
    // Annotated garments: given boxes, a different number per image (the ONNX batch pads the shorter lists).
    const requests: BoxesOfImage[] = [
      { image: images[0], boxes: Float32Array.of(87, 54, 150, 120, 96, 102, 145, 150, 41, 97, 112, 138) },
      { image: images[1], boxes: Float32Array.of(38, 52, 117, 107) },
      { image: images[2], boxes: new Float32Array(0) },
    ];
    const [givenTfjs, givenOnnx] = [await tfjs.embedBoxes(requests), await onnx.embedBoxes(requests)];
    expect(givenOnnx.map((list) => list.length)).toEqual([3, 1, 0]);
    givenTfjs.forEach((list, i) => list.forEach((e, k) => compare(e, givenOnnx[i][k])));
    // Measured on this machine (wasm backend, ONNX Runtime on the CPU): cosine 1 − 1e-15, no component apart; one
    // step of int8 allowed for a value that falls on a rounding boundary.
    if (process.env.EMBEDDING_PARITY_DEBUG) console.log({ worstCosine, worstComponent });
    expect(worstCosine).toBeGreaterThanOrEqual(0.999);
    expect(worstComponent).toBeLessThanOrEqual(1);
  });

  test('an all-zero representation has no embedding; the wire form round-trips and is checked', () => {
    expect(GarmentEmbedding.fromRepresentation([0, 0, 0])).toBeNull();
    const embedding = present(GarmentEmbedding.fromRepresentation([0.6, -0.8, 0]));
    expect(JSON.parse(JSON.stringify(embedding))).toEqual({ scale: embedding.scale, vector: Buffer.from([95, 129, 0]).toString('base64') });
    const back = GarmentEmbedding.fromJson(JSON.parse(JSON.stringify(embedding)), 'embedding');
    expect(Array.from(back.vector)).toEqual([95, -127, 0]);
    expect(back.scale).toBe(embedding.scale);
    expect(() => GarmentEmbedding.fromJson({ scale: 0, vector: 'AA==' }, 'detections[0].embedding')).toThrow(
      /detections\[0\]\.embedding\.scale: expected a positive number/,
    );
    expect(() => GarmentEmbedding.fromJson({ scale: 1, vector: '%%' }, 'e')).toThrow(/e\.vector: expected base64/);
    expect(() => GarmentEmbedding.fromRepresentation([1, Number.NaN])).toThrow(/component 1 is NaN/);
  });
});
