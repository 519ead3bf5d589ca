/**
 * torchvision.models.detection.anchor_utils.AnchorGenerator (0.14).
 *
 * Cell anchors per level: for each aspect ratio r (outer) and size s (inner), h = √r·s, w = s/√r, the anchor
 * [−w, −h, w, h]/2 rounded half-to-even (torch.round) in float32. Grid: stride = paddedSize // featureSize
 * per axis; anchors at every location (row-major, y outer) plus each cell anchor (inner); levels concatenated.
 */
import * as tf from '@tensorflow/tfjs-core';
import { roundHalfToEven } from './torch-round';

const f32 = Math.fround;

export class AnchorGenerator {
  private readonly cellAnchors: Float32Array[];

  constructor(
    readonly sizes: number[][],
    readonly aspectRatios: number[][],
  ) {
    if (sizes.length !== aspectRatios.length) {
      throw new Error(`AnchorGenerator: sizes has ${sizes.length} levels but aspectRatios has ${aspectRatios.length}`);
    }
    this.cellAnchors = sizes.map((levelSizes, level) => AnchorGenerator.cellAnchors(levelSizes, aspectRatios[level]));
  }

  /** generate_anchors: [A·4] for one level, A = ratios × sizes. */
  static cellAnchors(scales: number[], ratios: number[]): Float32Array {
    const out = new Float32Array(scales.length * ratios.length * 4);
    let k = 0;
    for (const ratio of ratios) {
      const hRatio = f32(Math.sqrt(f32(ratio)));
      const wRatio = f32(1 / hRatio);
      for (const scale of scales) {
        const halfW = f32(f32(wRatio * f32(scale)) / 2);
        const halfH = f32(f32(hRatio * f32(scale)) / 2);
        out.set([roundHalfToEven(-halfW), roundHalfToEven(-halfH), roundHalfToEven(halfW), roundHalfToEven(halfH)], 4 * k++);
      }
    }
    return out;
  }

  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, level) => s.length * this.aspectRatios[level].length);
  }

  /** All anchors as a flat [total·4] array, levels in order (what anchorsForImage wraps in a tensor). */
  anchorValues(imageSize: [number, number], featureSizes: [number, number][]): Float32Array {
    if (featureSizes.length !== this.cellAnchors.length) {
      throw new Error(`AnchorGenerator: ${featureSizes.length} feature maps given for ${this.cellAnchors.length} anchor levels`);
    }
    const perLocation = this.numAnchorsPerLocation();
    const total = featureSizes.reduce((sum, [h, w], level) => sum + h * w * perLocation[level], 0);
    const out = new Float32Array(total * 4);
    let offset = 0;
    featureSizes.forEach(([gridHeight, gridWidth], level) => {
      const strideY = Math.floor(imageSize[0] / gridHeight);
      const strideX = Math.floor(imageSize[1] / gridWidth);
      const cell = this.cellAnchors[level];
      for (let gy = 0; gy < gridHeight; gy++) {
        for (let gx = 0; gx < gridWidth; gx++) {
          const sx = gx * strideX;
          const sy = gy * strideY;
          for (let a = 0; a < cell.length; a += 4) {
            out[offset++] = sx + cell[a];
            out[offset++] = sy + cell[a + 1];
            out[offset++] = sx + cell[a + 2];
            out[offset++] = sy + cell[a + 3];
          }
        }
      }
    });
    return out;
  }

  /** Anchors of one image of the (padded) batch: [Σ H·W·A, 4], torchvision's order. */
  anchorsForImage(imageSize: [number, number], featureSizes: [number, number][]): tf.Tensor2D {
    const values = this.anchorValues(imageSize, featureSizes);
    return tf.tensor2d(values, [values.length / 4, 4]);
  }
}
