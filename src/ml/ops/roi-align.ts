/**
 * RoIAlign with torchvision.ops.roi_align semantics (0.14) and torchvision.ops.MultiScaleRoIAlign, on NHWC
 * features, differentiable with respect to the features (boxes get no gradient, as in torchvision's
 * Faster R-CNN where proposals are detached).
 *
 * How: every output bin is a fixed linear combination of feature-map cells — its sampling points' bilinear
 * neighbours. The host computes that combination from the boxes ("sampling plan": cell, bin, weight triples,
 * float32 arithmetic in torchvision's order, so the sample positions and clamping match its CPU kernel), and
 * a custom-gradient op applies it: forward adds weight·value of each cell into its bin, backward adds
 * weight·gradient of each bin into its cell: chunked GatherNd + ScatterNd (tfjs-cpu's UnsortedSegmentSum, what
 * gather's own gradient would use, is O(segments × rows)), or on the cpu backend a loop over the feature values
 * on the host (see RoiAlignImplementation).
 *
 * torchvision's sampling rules reproduced: sample y at roi_start + ph·bin + (iy + ½)·bin/grid; a sample with
 * y < −1 or y > H (same for x) contributes 0; y ≤ 0 → 0; y_low ≥ H − 1 → y = y_low = y_high = H − 1; the
 * bin's value is the mean over its grid (grid = samplingRatio, or ceil(roi size / output size) when
 * samplingRatio ≤ 0); aligned = false clamps the RoI to at least 1×1, aligned = true shifts by −½ pixel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { roundHalfToEven } from './torch-round';

const f32 = Math.fround;

/** The linear map from feature-table rows to output bins: entry e adds weight[e]·table[cell[e]] to bin[e]. */
interface SamplingPlan {
  cells: Int32Array;
  bins: Int32Array;
  weights: Float32Array;
  numBins: number;
}

/** Where one RoI's cells live in the flattened feature table. */
interface RoiLevel {
  /** Row of the table holding cell (0, 0) of this RoI's image at this level. */
  tableOffset: number;
  height: number;
  width: number;
  spatialScale: number;
}

class PlanBuilder {
  private cells: number[] = [];
  private bins: number[] = [];
  private weights: number[] = [];
  numBins = 0;

  add(cell: number, bin: number, weight: number): void {
    if (weight === 0) return;
    this.cells.push(cell);
    this.bins.push(bin);
    this.weights.push(weight);
  }

  build(): SamplingPlan {
    return {
      cells: Int32Array.from(this.cells),
      bins: Int32Array.from(this.bins),
      weights: Float32Array.from(this.weights),
      numBins: this.numBins,
    };
  }
}

/** Bilinear neighbours of one sample point along one axis (torchvision's bilinear_interpolate), or null if outside. */
function axisNeighbours(coordinate: number, size: number): { low: number; high: number; lowWeight: number; highWeight: number } | null {
  if (coordinate < -1.0 || coordinate > size) return null;
  let c = coordinate <= 0 ? 0 : coordinate;
  let low = Math.trunc(c);
  let high: number;
  if (low >= size - 1) {
    low = high = size - 1;
    c = low;
  } else {
    high = low + 1;
  }
  const l = f32(c - low);
  return { low, high, lowWeight: f32(1 - l), highWeight: l };
}

/** Sample coordinates along one axis for output bin p: start + p·bin + (i + ½)·bin/grid, in float32. */
function sampleCoordinates(start: number, binSize: number, p: number, grid: number): number[] {
  const coordinates: number[] = [];
  const base = f32(start + f32(p * binSize));
  for (let i = 0; i < grid; i++) coordinates.push(f32(base + f32(f32(f32(i + 0.5) * binSize) / grid)));
  return coordinates;
}

function addRoi(
  plan: PlanBuilder,
  box: ArrayLike<number>,
  level: RoiLevel,
  outputSize: [number, number],
  samplingRatio: number,
  aligned: boolean,
): void {
  const [pooledHeight, pooledWidth] = outputSize;
  const scale = f32(level.spatialScale);
  const offset = aligned ? 0.5 : 0;
  const startW = f32(f32(f32(box[0]) * scale) - offset);
  const startH = f32(f32(f32(box[1]) * scale) - offset);
  const endW = f32(f32(f32(box[2]) * scale) - offset);
  const endH = f32(f32(f32(box[3]) * scale) - offset);
  let roiWidth = f32(endW - startW);
  let roiHeight = f32(endH - startH);
  if (!aligned) {
    roiWidth = Math.max(roiWidth, 1);
    roiHeight = Math.max(roiHeight, 1);
  }
  const binH = f32(roiHeight / pooledHeight);
  const binW = f32(roiWidth / pooledWidth);
  const gridH = samplingRatio > 0 ? samplingRatio : Math.ceil(f32(roiHeight / pooledHeight));
  const gridW = samplingRatio > 0 ? samplingRatio : Math.ceil(f32(roiWidth / pooledWidth));
  const count = Math.max(gridH * gridW, 1);
  const { tableOffset, height, width } = level;
  const firstBin = plan.numBins;
  plan.numBins += pooledHeight * pooledWidth;
  for (let ph = 0; ph < pooledHeight; ph++) {
    const ys = sampleCoordinates(startH, binH, ph, gridH).map((y) => axisNeighbours(y, height));
    for (let pw = 0; pw < pooledWidth; pw++) {
      const xs = sampleCoordinates(startW, binW, pw, gridW).map((x) => axisNeighbours(x, width));
      const bin = firstBin + ph * pooledWidth + pw;
      for (const y of ys) {
        if (!y) continue;
        for (const x of xs) {
          if (!x) continue;
          const rowLow = tableOffset + y.low * width;
          const rowHigh = tableOffset + y.high * width;
          plan.add(rowLow + x.low, bin, f32(y.lowWeight * x.lowWeight) / count);
          plan.add(rowLow + x.high, bin, f32(y.lowWeight * x.highWeight) / count);
          plan.add(rowHigh + x.low, bin, f32(y.highWeight * x.lowWeight) / count);
          plan.add(rowHigh + x.high, bin, f32(y.highWeight * x.highWeight) / count);
        }
      }
    }
  }
}

/** Entries per chunk of the tensor path: keeps a gathered [entries, C] block near 16M values (64 MB). */
function chunkEntries(channels: number): number {
  return Math.max(1024, Math.floor((16 * 1024 * 1024) / Math.max(channels, 1)));
}

/** Σ_e weight[e]·source[gatherIdx[e]] scattered into row scatterIdx[e] of a [rows, C] result, chunked. */
function gatherWeightScatter(
  source: tf.Tensor2D,
  gatherIdx: Int32Array,
  scatterIdx: Int32Array,
  weights: Float32Array,
  rows: number,
): tf.Tensor2D {
  const channels = source.shape[1];
  let total: tf.Tensor2D = tf.zeros([rows, channels]);
  const step = chunkEntries(channels);
  for (let begin = 0; begin < weights.length; begin += step) {
    const end = Math.min(weights.length, begin + step);
    const next = tf.tidy(() => {
      // gatherND copies whole rows; wasm's GatherV2 walks element by element (~10× slower).
      const gathered = tf.gatherND(source, tf.tensor2d(gatherIdx.subarray(begin, end), [end - begin, 1], 'int32'));
      const weighted = tf.mul(gathered, tf.tensor2d(weights.subarray(begin, end), [end - begin, 1]));
      const scattered = tf.scatterND(tf.tensor2d(scatterIdx.subarray(begin, end), [end - begin, 1], 'int32'), weighted, [rows, channels]);
      return tf.add(total, scattered) as tf.Tensor2D;
    });
    total.dispose();
    total = next;
  }
  return total;
}

/** Same sum on the host: out[scatterIdx[e]] += weight[e]·source[gatherIdx[e]] over rows of `channels` values. */
function hostGatherWeightScatter(
  source: Float32Array,
  gatherIdx: Int32Array,
  scatterIdx: Int32Array,
  weights: Float32Array,
  rows: number,
  channels: number,
): Float32Array {
  const out = new Float32Array(rows * channels);
  for (let e = 0; e < weights.length; e++) {
    const from = gatherIdx[e] * channels;
    const to = scatterIdx[e] * channels;
    const w = weights[e];
    for (let c = 0; c < channels; c++) out[to + c] += w * source[from + c];
  }
  return out;
}

/**
 * How sampling plans are applied. 'tensor': chunked GatherNd + Mul + ScatterNd on the backend; 'host': a
 * JavaScript loop over the feature values. 'auto' (default) uses 'host' on the cpu backend, whose broadcasting
 * Mul computes an index per element, and 'tensor' elsewhere: on wasm it took 0.22 s of CPU forward and 0.50 s
 * forward+backward for 512 RoIs over P2–P5 of a 512×512 image (C = 256) against 0.43 s / 0.68 s for the host
 * loop (bench/ml-ops), and on the tensorflow backend the features stay on the device.
 */
export type RoiAlignImplementation = 'auto' | 'tensor' | 'host';
let implementation: RoiAlignImplementation = 'auto';

export function setRoiAlignImplementation(choice: RoiAlignImplementation): void {
  implementation = choice;
}

function useHostPath(): boolean {
  return implementation === 'host' || (implementation === 'auto' && tf.getBackend() === 'cpu');
}

/** Rows of the [N·H·W, C] table of each level, as the plan's cell indices number them (levels back to back). */
function tableRows(levels: tf.Tensor4D[]): number[] {
  return levels.map((f) => f.shape[0] * f.shape[1] * f.shape[2]);
}

/** Applies a sampling plan to the levels' features: [numBins, C], differentiable w.r.t. every level. */
function applyPlan(levels: tf.Tensor4D[], plan: SamplingPlan): tf.Tensor2D {
  const channels = levels[0].shape[3];
  const rows = tableRows(levels);
  const totalRows = rows.reduce((a, b) => a + b, 0);
  const host = useHostPath();
  const apply = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, levels.length) as tf.Tensor4D[];
    if (host) {
      const table = new Float32Array(totalRows * channels);
      let offset = 0;
      inputs.forEach((f, l) => {
        table.set(f.dataSync(), offset);
        offset += rows[l] * channels;
      });
      return {
        value: tf.tensor2d(hostGatherWeightScatter(table, plan.cells, plan.bins, plan.weights, plan.numBins, channels), [
          plan.numBins,
          channels,
        ]),
        gradFunc: (dy: tf.Tensor) => {
          const grad = hostGatherWeightScatter(dy.dataSync() as Float32Array, plan.bins, plan.cells, plan.weights, totalRows, channels);
          let start = 0;
          return inputs.map((f, l) => {
            const part = tf.tensor(grad.subarray(start, start + rows[l] * channels), f.shape);
            start += rows[l] * channels;
            return part;
          });
        },
      };
    }
    const table = tf.concat(inputs.map((f, l) => tf.reshape(f, [rows[l], channels]))) as tf.Tensor2D;
    const value = gatherWeightScatter(table, plan.cells, plan.bins, plan.weights, plan.numBins);
    table.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const grad = gatherWeightScatter(dy as tf.Tensor2D, plan.bins, plan.cells, plan.weights, totalRows);
        const parts = tf.split(grad, rows, 0);
        grad.dispose();
        return parts.map((part, l) => {
          const shaped = tf.reshape(part, inputs[l].shape);
          part.dispose();
          return shaped;
        });
      },
    };
  });
  return apply(...levels) as tf.Tensor2D;
}

function checkFeatures(features: tf.Tensor, name: string): [number, number, number, number] {
  if (features.rank !== 4) throw new Error(`${name}: features must be NHWC [N, H, W, C], got [${features.shape.join(', ')}]`);
  return features.shape as [number, number, number, number];
}

function readBoxes(boxes: tf.Tensor2D, name: string): Float32Array {
  if (boxes.rank !== 2 || boxes.shape[1] !== 4) throw new Error(`${name}: boxes must be [K, 4], got [${boxes.shape.join(', ')}]`);
  return boxes.dataSync() as Float32Array;
}

/**
 * torchvision.ops.roi_align(features, rois, outputSize, spatialScale, samplingRatio, aligned) on NHWC features:
 * boxes [K, 4] in image coordinates, boxImageIndex[k] the image of box k → [K, oh, ow, C].
 */
export function roiAlign(
  features: tf.Tensor4D,
  boxes: tf.Tensor2D,
  boxImageIndex: Int32Array,
  outputSize: [number, number],
  spatialScale: number,
  samplingRatio: number,
  aligned = false,
): tf.Tensor4D {
  const [batch, height, width, channels] = checkFeatures(features, 'roiAlign');
  const boxValues = readBoxes(boxes, 'roiAlign');
  const count = boxValues.length / 4;
  if (boxImageIndex.length !== count) throw new Error(`roiAlign: boxImageIndex has ${boxImageIndex.length} entries for ${count} boxes`);
  const plan = new PlanBuilder();
  for (let k = 0; k < count; k++) {
    const n = boxImageIndex[k];
    if (!(n >= 0 && n < batch)) throw new Error(`roiAlign: boxImageIndex[${k}] = ${n} is outside the batch of ${batch}`);
    addRoi(
      plan,
      boxValues.subarray(4 * k, 4 * k + 4),
      { tableOffset: n * height * width, height, width, spatialScale },
      outputSize,
      samplingRatio,
      aligned,
    );
  }
  return tf.tidy(() => tf.reshape(applyPlan([features], plan.build()), [count, outputSize[0], outputSize[1], channels]) as tf.Tensor4D);
}

/** MultiScaleRoIAlign._infer_scale: 2^round(log2(featureHeight / largest image height)). */
export function inferScale(featureHeight: number, imageHeight: number): number {
  return 2 ** roundHalfToEven(f32(Math.log2(f32(featureHeight / imageHeight))));
}

/** torchvision's LevelMapper constants (canonical_scale, canonical_level, eps). */
export const LEVEL_MAPPER = { canonicalScale: 224, canonicalLevel: 4, eps: 1e-6 } as const;

/** torchvision's LevelMapper: floor(4 + log2(√area / 224) + 1e-6) clamped to [kMin, kMax], minus kMin. */
export function mapLevels(boxes: Float32Array, kMin: number, kMax: number): Int32Array {
  const { canonicalScale, canonicalLevel, eps } = LEVEL_MAPPER;
  const levels = new Int32Array(boxes.length / 4);
  for (let k = 0; k < levels.length; k++) {
    const area = f32(f32(boxes[4 * k + 2] - boxes[4 * k]) * f32(boxes[4 * k + 3] - boxes[4 * k + 1]));
    const s = f32(Math.sqrt(area));
    const target = Math.floor(f32(f32(canonicalLevel + f32(Math.log2(f32(s / canonicalScale)))) + f32(eps)));
    levels[k] = Math.min(Math.max(Number.isNaN(target) ? kMin : target, kMin), kMax) - kMin;
  }
  return levels;
}

/**
 * torchvision.ops.MultiScaleRoIAlign (featmap names '0'..'3', i.e. P2–P5) with aligned = false:
 * each box goes to the level LevelMapper picks, with that level's inferred scale. Output rows follow the
 * boxes image by image: [Σ K_i, outputSize, outputSize, C].
 */
export function multiScaleRoiAlign(
  features: tf.Tensor4D[],
  boxesPerImage: tf.Tensor2D[],
  imageSizes: [number, number][],
  outputSize = 7,
  samplingRatio = 2,
): tf.Tensor4D {
  if (features.length === 0) throw new Error('multiScaleRoiAlign: no feature levels given');
  if (imageSizes.length === 0 || imageSizes.length !== boxesPerImage.length) {
    throw new Error(`multiScaleRoiAlign: ${boxesPerImage.length} box lists for ${imageSizes.length} image sizes`);
  }
  const shapes = features.map((f, l) => checkFeatures(f, `multiScaleRoiAlign level ${l}`));
  const channels = shapes[0][3];
  shapes.forEach(([n, , , c], l) => {
    if (c !== channels || n !== shapes[0][0])
      throw new Error(`multiScaleRoiAlign: level ${l} has shape [${shapes[l].join(', ')}], inconsistent with level 0`);
  });
  if (boxesPerImage.length > shapes[0][0])
    throw new Error(`multiScaleRoiAlign: ${boxesPerImage.length} images of boxes for a batch of ${shapes[0][0]}`);
  const maxHeight = Math.max(...imageSizes.map(([h]) => h));
  const scales = shapes.map(([, h]) => inferScale(h, maxHeight));
  const kMin = Math.trunc(-Math.log2(scales[0]));
  const kMax = Math.trunc(-Math.log2(scales[scales.length - 1]));
  const levelOffsets: number[] = [];
  let rows = 0;
  for (const [n, h, w] of shapes) {
    levelOffsets.push(rows);
    rows += n * h * w;
  }
  const plan = new PlanBuilder();
  boxesPerImage.forEach((boxes, image) => {
    const values = readBoxes(boxes, `multiScaleRoiAlign image ${image}`);
    const levels = mapLevels(values, kMin, kMax);
    levels.forEach((level, k) => {
      const [, height, width] = shapes[level];
      const roiLevel = { tableOffset: levelOffsets[level] + image * height * width, height, width, spatialScale: scales[level] };
      addRoi(plan, values.subarray(4 * k, 4 * k + 4), roiLevel, [outputSize, outputSize], samplingRatio, false);
    });
  });
  const built = plan.build();
  return tf.tidy(
    () =>
      tf.reshape(applyPlan(features, built), [built.numBins / (outputSize * outputSize), outputSize, outputSize, channels]) as tf.Tensor4D,
  );
}
