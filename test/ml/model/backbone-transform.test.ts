/**
 * GeneralizedRCNNTransform against torchvision 0.14 (fixture from tools/reference/backbone_reference.py):
 * three uint8 images (short side binds, long side binds with a float32-rounded scale) → padded batch,
 * resized sizes, and boxes mapped back to the original sizes. Plus real K-Fashion JPEGs through sharp.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { resolveConfig } from '../../../src/ml/model/config';
import { paddedBatchSize, postprocessBoxes, resizeBoxes, resizedSize, rgbTensor, transformImages } from '../../../src/ml/model/transform';
import { readSafetensors } from '../../../src/ml/weights/safetensors';
import { readImageFile } from '../../../src/images/image-input';

const fixture = readSafetensors(join(__dirname, '..', 'fixtures', 'backbone_transform.safetensors')).tensors;
const config = resolveConfig({ num_classes: 2, min_size: 128, max_size: 200 }, 'test config');
const IMAGES = [0, 1, 2];
import { SAMPLES_DIR as SAMPLES } from '../../support/samples';

const uint8Image = (i: number) => {
  const entry = fixture.get(`image.${i}`)!;
  return rgbTensor(Uint8Array.from(entry.data), entry.shape[0], entry.shape[1], 3);
};

describe('resize arithmetic as torchvision', () => {
  it('sizes: short side to min_size unless the long side would pass max_size; float32 scale', () => {
    const sizes = Array.from(fixture.get('image_sizes')!.data);
    IMAGES.forEach((i) => {
      const [h, w] = fixture.get(`image.${i}`)!.shape;
      expect(resizedSize([h, w], 128, 200)).toEqual([sizes[2 * i], sizes[2 * i + 1]]);
    });
    // float32 scales: fround(fround(1/230)·200) = 0.86956519 makes the long side 199, not 200 (as torch),
    // while fround(fround(1/480)·800) = 1.6666667 keeps 800 (a plain fround(800/480) would give 799).
    expect(resizedSize([50, 230], 128, 200)).toEqual([43, 199]);
    expect(resizedSize([480, 640], 800, 1333)).toEqual([800, 1066]);
    expect(
      paddedBatchSize([
        [128, 170],
        [192, 128],
        [43, 199],
      ]),
    ).toEqual([192, 224]);
  });
});

describe.each(['cpu', 'wasm'])('transform on %s matches torchvision GeneralizedRCNNTransform', (backend) => {
  beforeAll(async () => {
    await initBackend(backend, { log: () => undefined });
  });

  it('padded batch equal to a few float32 ulps, sizes equal, no leaks', () => {
    const images = IMAGES.map(uint8Image);
    const before = tf.memory().numTensors;
    const batch = transformImages(images, config);
    const expected = fixture.get('batch')!;
    const reference = tf.tidy(() => tf.transpose(tf.tensor(expected.data, expected.shape), [0, 2, 3, 1]));
    expect(batch.images.shape).toEqual(reference.shape);
    expect(batch.imageSizes).toEqual(IMAGES.map((i) => Array.from(fixture.get('image_sizes')!.data.slice(2 * i, 2 * i + 2))));
    expect(batch.originalSizes).toEqual([
      [96, 128],
      [150, 100],
      [50, 230],
    ]);
    const maxError = tf.tidy(() => tf.max(tf.abs(tf.sub(batch.images, reference))).dataSync()[0]);
    expect(maxError).toBeLessThan(2e-6); // a couple of float32 ulps: torch may fuse multiply-adds
    // The padding is exact zeros, as torchvision's new_full(…, 0).
    const pad = tf.tidy(() => tf.max(tf.abs(tf.slice(batch.images, [2, 43, 0, 0], [1, -1, -1, -1]))).dataSync()[0]);
    expect(pad).toBe(0);
    tf.dispose([batch.images, reference]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(images);
  });

  it('postprocess: boxes back to the original sizes exactly as resize_boxes', () => {
    const sizes = fixture.get('image_sizes')!.data;
    const batch = {
      imageSizes: IMAGES.map((i): [number, number] => [sizes[2 * i], sizes[2 * i + 1]]),
      originalSizes: IMAGES.map((i): [number, number] => [fixture.get(`image.${i}`)!.shape[0], fixture.get(`image.${i}`)!.shape[1]]),
    };
    const boxes = IMAGES.map((i) => tf.tensor2d(fixture.get(`boxes.${i}`)!.data, [5, 4]));
    const back = postprocessBoxes(boxes, batch);
    IMAGES.forEach((i) => expect(back[i].dataSync()).toEqual(fixture.get(`boxes_original.${i}`)!.data));
    tf.dispose([...boxes, ...back]);
  });

  it('training mode picks min_size from the list with the given random source', () => {
    const image = tf.zeros([100, 50, 3], 'int32') as tf.Tensor3D;
    const multi = { ...config, min_size: [64, 96, 128] };
    const pick = (r: number) => {
      const batch = transformImages([image], multi, { training: true, random: () => r });
      batch.images.dispose();
      return batch.imageSizes[0];
    };
    // torchvision gives (127, 63) and (191, 95) here: fround(fround(1/50)·64) = 1.2799999.
    expect(pick(0)).toEqual([127, 63]);
    expect(pick(0.5)).toEqual([191, 95]);
    expect(transformImages([image], multi).imageSizes[0]).toEqual([200, 100]); // eval: last size, long side caps at 200
    tf.dispose([image]);
  });
});

describe('images from files', () => {
  beforeAll(async () => {
    await initBackend('wasm', { log: () => undefined });
  });

  it('decodes a real K-Fashion JPEG to RGB and maps a box back to its pixels', async () => {
    const decoded = await readImageFile(join(SAMPLES, '100026.jpg'));
    const image = rgbTensor(decoded.data, decoded.height, decoded.width, 3);
    const [height, width, channels] = image.shape;
    expect(channels).toBe(3);
    expect(image.dtype).toBe('int32');
    const k = resolveConfig({ num_classes: 2 }, 'defaults');
    const batch = transformImages([image], k);
    expect(batch.originalSizes[0]).toEqual([height, width]);
    expect(batch.imageSizes[0]).toEqual(resizedSize([height, width], 800, 1333));
    expect(batch.images.shape[1] % 32).toBe(0);
    expect(batch.images.shape[2] % 32).toBe(0);
    const [rh, rw] = batch.imageSizes[0];
    const full = tf.tensor2d([[0, 0, rw, rh]]);
    const back = resizeBoxes(full, batch.imageSizes[0], batch.originalSizes[0]);
    const [x1, y1, x2, y2] = Array.from(back.dataSync());
    expect([x1, y1]).toEqual([0, 0]);
    expect(x2).toBeCloseTo(width, 3);
    expect(y2).toBeCloseTo(height, 3);
    tf.dispose([image, batch.images, full, back]);
  });

  it('names the file it cannot decode', async () => {
    const path = join(SAMPLES, '100026.json');
    await expect(readImageFile(path)).rejects.toThrow(`${path}: cannot read image: not a JPEG, PNG or WebP image`);
  });

  it('turns grey and RGBA pixels into RGB', () => {
    const grey = rgbTensor(Uint8Array.from([10, 20]), 1, 2, 1);
    const rgba = rgbTensor(Uint8Array.from([1, 2, 3, 255, 4, 5, 6, 128]), 1, 2, 4);
    expect(grey.arraySync()).toEqual([
      [
        [10, 10, 10],
        [20, 20, 20],
      ],
    ]);
    expect(rgba.arraySync()).toEqual([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    ]);
    tf.dispose([grey, rgba]);
  });

  it('rejects pixel buffers of the wrong length', () => {
    expect(() => rgbTensor(new Uint8Array(10), 2, 2, 3, 'x.raw')).toThrow('x.raw: 10 bytes do not make a 2x2x3 image');
  });
});
