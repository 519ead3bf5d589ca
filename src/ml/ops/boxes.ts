/**
 * Box operations with torchvision semantics (torchvision.ops.boxes and models/detection/_utils.BoxCoder, 0.14).
 * Boxes are [N, 4] as x1, y1, x2, y2 in pixels, no +1. Tensor functions use the same float32 operations in the
 * same order as torchvision; the host-side functions (nms, removeSmallBoxes) round every step to float32 with
 * Math.fround so that comparisons at a threshold come out as in torchvision's C++ kernels.
 */
import * as tf from '@tensorflow/tfjs-core';

const f32 = Math.fround;

function columns(boxes: tf.Tensor2D): [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] {
  if (boxes.rank !== 2 || boxes.shape[1] !== 4) throw new Error(`boxes must have shape [N, 4], got [${boxes.shape.join(', ')}]`);
  return tf.unstack(boxes, 1) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
}

/** torchvision.ops.box_area: (x2 − x1) · (y2 − y1). */
export function boxArea(boxes: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = columns(boxes);
    return tf.mul(tf.sub(x2, x1), tf.sub(y2, y1));
  });
}

/** torchvision.ops.box_iou: [N, M] intersection over union (0/0 gives NaN, as in torchvision). */
export function boxIou(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const areaA = boxArea(a);
    const areaB = boxArea(b);
    const lt = tf.maximum(tf.expandDims(tf.slice(a, [0, 0], [-1, 2]), 1), tf.expandDims(tf.slice(b, [0, 0], [-1, 2]), 0));
    const rb = tf.minimum(tf.expandDims(tf.slice(a, [0, 2], [-1, 2]), 1), tf.expandDims(tf.slice(b, [0, 2], [-1, 2]), 0));
    const wh = tf.relu(tf.sub(rb, lt)); // clamp(min=0)
    const [w, h] = tf.unstack(wh, 2);
    const inter = tf.mul(w, h);
    const union = tf.sub(tf.add(tf.expandDims(areaA, 1), tf.expandDims(areaB, 0)), inter);
    return tf.div(inter, union) as tf.Tensor2D;
  });
}

/** BoxCoder's default bbox_xform_clip: decoded dw and dh are clamped here (a box at most 1000/16 times its reference). */
export const BBOX_XFORM_CLIP = Math.log(1000 / 16);

/** torchvision.models.detection._utils.BoxCoder: box regression targets ↔ boxes. */
export class BoxCoder {
  constructor(
    readonly weights: [number, number, number, number],
    readonly bboxXformClip: number = BBOX_XFORM_CLIP,
  ) {}

  /** encode_single(reference_boxes, proposals): the deltas that move each proposal onto its reference box. */
  encode(reference: tf.Tensor2D, proposals: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [wx, wy, ww, wh] = this.weights;
      const [px1, py1, px2, py2] = columns(proposals);
      const [gx1, gy1, gx2, gy2] = columns(reference);
      const exWidths = tf.sub(px2, px1);
      const exHeights = tf.sub(py2, py1);
      const exCtrX = tf.add(px1, tf.mul(0.5, exWidths));
      const exCtrY = tf.add(py1, tf.mul(0.5, exHeights));
      const gtWidths = tf.sub(gx2, gx1);
      const gtHeights = tf.sub(gy2, gy1);
      const gtCtrX = tf.add(gx1, tf.mul(0.5, gtWidths));
      const gtCtrY = tf.add(gy1, tf.mul(0.5, gtHeights));
      const dx = tf.div(tf.mul(wx, tf.sub(gtCtrX, exCtrX)), exWidths);
      const dy = tf.div(tf.mul(wy, tf.sub(gtCtrY, exCtrY)), exHeights);
      const dw = tf.mul(ww, tf.log(tf.div(gtWidths, exWidths)));
      const dh = tf.mul(wh, tf.log(tf.div(gtHeights, exHeights)));
      return tf.stack([dx, dy, dw, dh], 1) as tf.Tensor2D;
    });
  }

  /** decode(rel_codes [N, K·4], boxes [N, 4]) → [N, K, 4]; dw, dh clamped above at bboxXformClip. */
  decode(relCodes: tf.Tensor2D, boxes: tf.Tensor2D): tf.Tensor3D {
    const [n, width] = relCodes.shape;
    if (width % 4 !== 0 || boxes.shape[0] !== n) {
      throw new Error(`BoxCoder.decode: relCodes [${relCodes.shape.join(', ')}] must be [N, K*4] for boxes [${boxes.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const [wx, wy, ww, wh] = this.weights;
      const k = width / 4;
      const [x1, y1, x2, y2] = columns(boxes);
      const widths = tf.expandDims(tf.sub(x2, x1), 1);
      const heights = tf.expandDims(tf.sub(y2, y1), 1);
      const ctrX = tf.add(tf.expandDims(x1, 1), tf.mul(0.5, widths));
      const ctrY = tf.add(tf.expandDims(y1, 1), tf.mul(0.5, heights));
      const [rx, ry, rw, rh] = tf.unstack(tf.reshape(relCodes, [n, k, 4]), 2);
      const dx = tf.div(rx, wx);
      const dy = tf.div(ry, wy);
      const dw = tf.minimum(tf.div(rw, ww), this.bboxXformClip);
      const dh = tf.minimum(tf.div(rh, wh), this.bboxXformClip);
      const predCtrX = tf.add(tf.mul(dx, widths), ctrX);
      const predCtrY = tf.add(tf.mul(dy, heights), ctrY);
      const halfW = tf.mul(0.5, tf.mul(tf.exp(dw), widths));
      const halfH = tf.mul(0.5, tf.mul(tf.exp(dh), heights));
      return tf.stack(
        [tf.sub(predCtrX, halfW), tf.sub(predCtrY, halfH), tf.add(predCtrX, halfW), tf.add(predCtrY, halfH)],
        2,
      ) as tf.Tensor3D;
    });
  }
}

/** torchvision.ops.clip_boxes_to_image: x into [0, w], y into [0, h]. Accepts [..., 4]. */
export function clipBoxesToImage<T extends tf.Tensor>(boxes: T, imageSize: [number, number]): T {
  const [h, w] = imageSize;
  return tf.tidy(() => {
    const upper = tf.tensor1d([w, h, w, h]);
    return tf.minimum(tf.maximum(boxes, 0), upper) as T;
  });
}

/** torchvision.ops.remove_small_boxes: indices (ascending) of boxes with width and height ≥ minSize. */
export function removeSmallBoxes(boxes: Float32Array, minSize: number): Int32Array {
  const kept: number[] = [];
  const threshold = f32(minSize); // torch compares the float32 widths with minSize in float32
  for (let i = 0; i < boxes.length / 4; i++) {
    const w = f32(boxes[4 * i + 2] - boxes[4 * i]);
    const h = f32(boxes[4 * i + 3] - boxes[4 * i + 1]);
    if (w >= threshold && h >= threshold) kept.push(i);
  }
  return Int32Array.from(kept);
}

/** Indices by decreasing score; equal scores keep index order (torchvision sorts stably). */
function orderByScore(scores: ArrayLike<number>, indices?: ArrayLike<number>): number[] {
  const order = indices ? Array.from(indices) : Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((i, j) => scores[j] - scores[i] || i - j);
}

/** Greedy NMS over `candidates` (already ordered), IoU in float32 as torchvision's CPU kernel. */
function greedyNms(boxes: Float32Array, candidates: number[], iouThreshold: number): number[] {
  const count = candidates.length;
  const areas = new Float32Array(count);
  for (let c = 0; c < count; c++) {
    const i = 4 * candidates[c];
    areas[c] = f32(f32(boxes[i + 2] - boxes[i]) * f32(boxes[i + 3] - boxes[i + 1]));
  }
  const suppressed = new Uint8Array(count);
  const kept: number[] = [];
  for (let a = 0; a < count; a++) {
    if (suppressed[a]) continue;
    kept.push(candidates[a]);
    const i = 4 * candidates[a];
    const [ix1, iy1, ix2, iy2] = [boxes[i], boxes[i + 1], boxes[i + 2], boxes[i + 3]];
    for (let b = a + 1; b < count; b++) {
      if (suppressed[b]) continue;
      const j = 4 * candidates[b];
      const w = Math.max(0, f32(Math.min(ix2, boxes[j + 2]) - Math.max(ix1, boxes[j])));
      const h = Math.max(0, f32(Math.min(iy2, boxes[j + 3]) - Math.max(iy1, boxes[j + 1])));
      const inter = f32(w * h);
      const iou = f32(inter / f32(f32(areas[a] + areas[b]) - inter));
      if (iou > iouThreshold) suppressed[b] = 1; // float vs double in torchvision's C++: compared in double
    }
  }
  return kept;
}

function checkNmsInput(boxes: Float32Array, scores: Float32Array, name: string): void {
  if (boxes.length !== scores.length * 4) {
    throw new Error(`${name}: boxes has ${boxes.length} values, expected 4 per score (${scores.length} scores)`);
  }
}

/** torchvision.ops.nms: kept indices by decreasing score; a box is dropped when IoU > iouThreshold with a kept one. */
export function nms(boxes: Float32Array, scores: Float32Array, iouThreshold: number): Int32Array {
  checkNmsInput(boxes, scores, 'nms');
  return Int32Array.from(greedyNms(boxes, orderByScore(scores), iouThreshold));
}

/**
 * torchvision.ops.batched_nms: NMS within each group only; kept indices by decreasing score.
 * Runs NMS per group (torchvision's "vanilla" path). For ≤ 1000 boxes torchvision instead offsets each group's
 * boxes by group·(max coordinate + 1) and runs one NMS; the two agree except for float rounding of IoUs within
 * an ulp of the threshold (the offset moves coordinates to larger magnitudes).
 */
export function batchedNms(boxes: Float32Array, scores: Float32Array, groups: Int32Array, iouThreshold: number): Int32Array {
  checkNmsInput(boxes, scores, 'batchedNms');
  if (groups.length !== scores.length) throw new Error(`batchedNms: groups has ${groups.length} entries for ${scores.length} scores`);
  const members = new Map<number, number[]>();
  for (let i = 0; i < groups.length; i++) {
    const list = members.get(groups[i]);
    if (list) list.push(i);
    else members.set(groups[i], [i]);
  }
  const kept: number[] = [];
  for (const indices of members.values()) kept.push(...greedyNms(boxes, orderByScore(scores, indices), iouThreshold));
  return Int32Array.from(orderByScore(scores, kept));
}
