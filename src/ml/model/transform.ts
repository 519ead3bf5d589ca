/**
 * Input/output transform of the detector: torchvision 0.14's GeneralizedRCNNTransform.
 *
 * forward (per image, then batched):
 *   x = uint8 RGB / 255 (float32); x = (x − mean) / std;
 *   scale = min(min_size / short_side, max_size / long_side)   — float32 arithmetic, as torch computes it
 *   out_size = floor(size · scale)                             — F.interpolate(scale_factor, recompute_scale_factor=True)
 *   x = bilinear resize to out_size, align_corners=False, sampling scale in/out (the recomputed factor),
 *       replicating ATen's float32 index/weight arithmetic (resizeBilinearTorch).
 *   batch: zero-pad bottom/right to the largest H and W, each rounded up to a multiple of 32.
 * postprocess: boxes × (original / resized) per axis, the ratio in float32 (torchvision resize_boxes).
 *
 * Tensors are NHWC. Training picks min_size at random from a list (torch_choice); evaluation uses the last.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config';
import { evalMinSize } from './config';

export const SIZE_DIVISIBLE = 32;

export type ImageSize = [height: number, width: number];

export interface TransformedBatch {
  /** [N, H, W, 3] normalised, resized, zero-padded images (H, W multiples of 32). */
  images: tf.Tensor4D;
  /** Size of each resized image inside the batch (torchvision ImageList.image_sizes). */
  imageSizes: ImageSize[];
  /** Size of each input image. */
  originalSizes: ImageSize[];
}

export type TransformConfig = Pick<ModelConfig, 'min_size' | 'max_size' | 'image_mean' | 'image_std'>;

export interface TransformOptions {
  /** Training mode: min_size is drawn from the list with `random` (uniform in [0, 1)). */
  training?: boolean;
  random?: () => number;
}

/**
 * The resized size torchvision's _resize_image_and_masks produces: the scale in float32
 * (torch.min of float32 tensors), the size floor(float(size) · scale) in double. Checked against
 * torchvision on 3000 random (size, min_size, max_size) cases.
 */
export function resizedSize([height, width]: ImageSize, minSize: number, maxSize: number): ImageSize {
  // `python_float / float32_tensor` is Tensor.__rtruediv__ = reciprocal() * other: two float32 roundings.
  const scaleFor = (target: number, side: number) => Math.fround(Math.fround(1 / side) * target);
  const scale = Math.min(scaleFor(minSize, Math.min(height, width)), scaleFor(maxSize, Math.max(height, width)));
  return [Math.floor(height * scale), Math.floor(width * scale)];
}

/**
 * Source indices and weights of one axis for torch's bilinear upsampling (align_corners=False, no
 * explicit scale: ratio = in/out), as ATen's CPU kernel computes them (area_pixel_compute_source_index,
 * compute_source_index_and_lambda): ratio in float32, source index and weights in double, weights
 * stored as float32.
 */
export function bilinearAxis(
  inSize: number,
  outSize: number,
): { index0: Int32Array; index1: Int32Array; lambda0: Float32Array; lambda1: Float32Array } {
  const index0 = new Int32Array(outSize);
  const index1 = new Int32Array(outSize);
  const lambda0 = new Float32Array(outSize);
  const lambda1 = new Float32Array(outSize);
  const ratio = Math.fround(inSize / outSize);
  for (let dst = 0; dst < outSize; dst++) {
    if (inSize === outSize) {
      index0[dst] = dst;
      index1[dst] = dst;
      lambda0[dst] = 1;
      continue;
    }
    // The float32 ratio enters a double-precision source index (measured against torch 1.13 by probing
    // its weights with one-hot inputs); the weights are rounded to float32 at the end.
    const source = Math.max(ratio * (dst + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.trunc(source), inSize - 1);
    const t = Math.min(Math.max(source - i0, 0), 1);
    index0[dst] = i0;
    index1[dst] = i0 < inSize - 1 ? i0 + 1 : i0;
    lambda1[dst] = t;
    lambda0[dst] = 1 - t;
  }
  return { index0, index1, lambda0, lambda1 };
}

/**
 * F.interpolate(mode="bilinear", align_corners=False) of an [H, W, C] image to `size`, with torch's
 * index/weight arithmetic and its evaluation order (columns within each source row, then rows):
 *   out = (x[r0, c0]·w0 + x[r0, c1]·w1)·h0 + (x[r1, c0]·w0 + x[r1, c1]·w1)·h1
 * tf.image.resizeBilinear(halfPixelCenters) samples the same points but computes the coordinates in
 * double and interpolates as a + (b − a)·t, which differs from torch by up to ~2e-5 on normalised images.
 */
export function resizeBilinearTorch(image: tf.Tensor3D, [outH, outW]: ImageSize): tf.Tensor3D {
  return tf.tidy(() => {
    const [inH, inW, channels] = image.shape;
    const rows = bilinearAxis(inH, outH);
    const cols = bilinearAxis(inW, outW);
    const colWeight = (w: Float32Array) => tf.tensor3d(w, [1, outW, 1]);
    const columns = tf.add(
      tf.mul(tf.gather(image, cols.index0, 1), colWeight(cols.lambda0)),
      tf.mul(tf.gather(image, cols.index1, 1), colWeight(cols.lambda1)),
    ) as tf.Tensor3D;
    const rowWeight = (w: Float32Array) => tf.tensor3d(w, [outH, 1, 1]);
    const out = tf.add(
      tf.mul(tf.gather(columns, rows.index0, 0), rowWeight(rows.lambda0)),
      tf.mul(tf.gather(columns, rows.index1, 0), rowWeight(rows.lambda1)),
    );
    return tf.reshape(out, [outH, outW, channels]) as tf.Tensor3D;
  });
}

/** The batch size: largest H and W rounded up to a multiple of 32 (torchvision batch_images). */
export function paddedBatchSize(sizes: readonly ImageSize[], divisible = SIZE_DIVISIBLE): ImageSize {
  const maxH = Math.max(...sizes.map(([h]) => h));
  const maxW = Math.max(...sizes.map(([, w]) => w));
  return [Math.ceil(maxH / divisible) * divisible, Math.ceil(maxW / divisible) * divisible];
}

function chooseMinSize(config: TransformConfig, options: TransformOptions): number {
  if (!options.training || !Array.isArray(config.min_size)) return evalMinSize(config);
  const random = options.random ?? Math.random;
  return config.min_size[Math.floor(random() * config.min_size.length)];
}

/** One RGB uint8-valued image [H, W, 3] → normalised, resized float32 [h, w, 3]. */
function normaliseAndResize(image: tf.Tensor3D, config: TransformConfig, minSize: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [height, width, channels] = image.shape;
    if (channels !== 3) throw new Error(`transform: expected an RGB image [H, W, 3], got shape [${image.shape.join(', ')}]`);
    const unit = tf.div(tf.cast(image, 'float32'), 255);
    const normalised = tf.div(tf.sub(unit, tf.tensor1d(config.image_mean)), tf.tensor1d(config.image_std)) as tf.Tensor3D;
    const size = resizedSize([height, width], minSize, config.max_size);
    if (size[0] === height && size[1] === width) return normalised;
    return resizeBilinearTorch(normalised, size);
  });
}

/** GeneralizedRCNNTransform.forward on images given as [H, W, 3] tensors of 0..255 values. */
export function transformImages(images: readonly tf.Tensor3D[], config: TransformConfig, options: TransformOptions = {}): TransformedBatch {
  if (images.length === 0) throw new Error('transform: no images');
  const originalSizes = images.map((image): ImageSize => [image.shape[0], image.shape[1]]);
  return tf.tidy(() => {
    const resized = images.map((image) => normaliseAndResize(image, config, chooseMinSize(config, options)));
    const imageSizes = resized.map((image): ImageSize => [image.shape[0], image.shape[1]]);
    const [batchH, batchW] = paddedBatchSize(imageSizes);
    const padded = resized.map((image) =>
      tf.pad(image, [
        [0, batchH - image.shape[0]],
        [0, batchW - image.shape[1]],
        [0, 0],
      ]),
    );
    return { images: tf.stack(padded) as tf.Tensor4D, imageSizes, originalSizes };
  });
}

/**
 * torchvision resize_boxes: boxes [N, 4] (x1, y1, x2, y2) from an image of size `from` to one of size `to`,
 * ratio per axis = to / from in float32. Postprocess uses (resized → original); training targets the reverse.
 */
export function resizeBoxes(boxes: tf.Tensor2D, from: ImageSize, to: ImageSize): tf.Tensor2D {
  const ratioH = Math.fround(to[0] / from[0]);
  const ratioW = Math.fround(to[1] / from[1]);
  return tf.tidy(() => tf.mul(boxes, tf.tensor1d([ratioW, ratioH, ratioW, ratioH], 'float32')) as tf.Tensor2D);
}

/** GeneralizedRCNNTransform.postprocess for boxes: each image's boxes back to its original size. */
export function postprocessBoxes(
  boxesPerImage: readonly tf.Tensor2D[],
  batch: Pick<TransformedBatch, 'imageSizes' | 'originalSizes'>,
): tf.Tensor2D[] {
  return boxesPerImage.map((boxes, i) => resizeBoxes(boxes, batch.imageSizes[i], batch.originalSizes[i]));
}

/** An RGB image [H, W, 3] (int32 values 0..255) from raw interleaved pixels with 1, 3 or 4 channels. */
export function rgbTensor(pixels: Uint8Array, height: number, width: number, channels: number, source = 'image'): tf.Tensor3D {
  if (pixels.length !== height * width * channels) {
    throw new Error(`${source}: ${pixels.length} bytes do not make a ${height}x${width}x${channels} image`);
  }
  return tf.tidy(() => {
    const image = tf.tensor3d(Int32Array.from(pixels), [height, width, channels], 'int32');
    if (channels === 3) return image;
    if (channels === 4) return tf.slice(image, [0, 0, 0], [height, width, 3]);
    if (channels === 1) return tf.tile(image, [1, 1, 3]);
    throw new Error(`${source}: unsupported channel count ${channels}`);
  });
}
