/**
 * Kernels the tfjs wasm backend (4.22) lacks but training needs, built from kernels it has.
 *
 * - Conv2DBackpropFilter (the filter gradient of every conv): one matMul per filter tap over a slice of the
 *   padded input, dW[kh,kw] = patches(kh,kw)ᵀ · dy. The input is transposed to channels-first once so that each
 *   product is a plain matMul: wasm's BatchMatMul with transposeA is ~13× slower than without. Strided convs
 *   use one convolution instead (conv2dBackpropFilterFromConv): wasm's StridedSlice is slow.
 * - DepthwiseConv2dNativeBackpropFilter: per tap, sum over positions of patch(kh,kw) ⊙ dy.
 * - UnsortedSegmentSum (the gradient of gather, used by RoIAlign's backward): a ScatterNd, which sums duplicate
 *   indices on wasm; ids outside [0, numSegments) are dropped as TensorFlow does.
 *
 * - Conv2DBackpropInput (the input gradient of every conv) exists on wasm but as a direct loop ~12× slower than
 *   the forward convolution; it is replaced by a forward convolution of the zero-upsampled dy.
 * - Transpose fails on wasm ("divide by zero") when a dimension is 0, e.g. the pooled features of an image
 *   with no proposal left; an empty input now gives an empty output of the permuted shape.
 *
 * The kernels call tfjs ops inside tf.tidy: while a kernel runs the engine records no gradient tape, and the
 * returned tensor becomes the kernel's output.
 */
import * as tf from '@tensorflow/tfjs-core';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface PatchGeometry {
  batch: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

function patchGeometry(info: tf.backend_util.Conv2DInfo): PatchGeometry {
  const neededHeight = (info.outHeight - 1) * info.strideHeight + (info.filterHeight - 1) * info.dilationHeight + 1;
  const neededWidth = (info.outWidth - 1) * info.strideWidth + (info.filterWidth - 1) * info.dilationWidth + 1;
  return {
    batch: info.batchSize,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: Math.max(0, neededHeight - info.padInfo.top - info.inHeight),
    padRight: Math.max(0, neededWidth - info.padInfo.left - info.inWidth),
  };
}

/**
 * The input values that filter tap (kh, kw) multiplies, for every output position, from `padded`
 * (the zero-padded input with spatial axes at `heightAxis`, `heightAxis + 1` of a rank-4 tensor).
 */
function tapSlice(padded: tf.Tensor4D, g: PatchGeometry, kh: number, kw: number, heightAxis: 1 | 2): tf.Tensor4D {
  const begin = [0, 0, 0, 0];
  const size = [...padded.shape];
  const strides = [1, 1, 1, 1];
  begin[heightAxis] = kh * g.dilationHeight;
  begin[heightAxis + 1] = kw * g.dilationWidth;
  size[heightAxis] = (g.outHeight - 1) * g.strideHeight + 1;
  size[heightAxis + 1] = (g.outWidth - 1) * g.strideWidth + 1;
  if (g.strideHeight === 1 && g.strideWidth === 1) return tf.slice(padded, begin, size);
  strides[heightAxis] = g.strideHeight;
  strides[heightAxis + 1] = g.strideWidth;
  const end = begin.map((b, i) => b + size[i]);
  return tf.stridedSlice(padded, begin, end, strides) as tf.Tensor4D;
}

function padSpatial(x: tf.Tensor4D, g: PatchGeometry): tf.Tensor4D {
  if (g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0) return x;
  return tf.pad(x, [
    [0, 0],
    [g.padTop, g.padBottom],
    [g.padLeft, g.padRight],
    [0, 0],
  ]);
}

/** dW = Σ_{n,oh,ow} x[n, oh·s + kh·d − pt, ow·s + kw·d − pl, ci] · dy[n, oh, ow, co] (NHWC, HWIO). */
export function conv2dBackpropFilterFromMatMul(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
  dilations: number | [number, number] = 1,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
    const g = patchGeometry(info);
    const positions = g.batch * g.outHeight * g.outWidth;
    const outChannels = filterShape[3];
    const dy2d = tf.reshape(dy, [positions, outChannels]);
    // Channels first, so each tap's patches come out as a [Ci, positions] matrix (a plain matMul operand).
    const paddedCHWN = tf.transpose(padSpatial(x, g), [3, 0, 1, 2]) as tf.Tensor4D;
    const taps: tf.Tensor2D[] = [];
    for (let kh = 0; kh < g.filterHeight; kh++) {
      for (let kw = 0; kw < g.filterWidth; kw++) {
        const patches = tf.reshape(tapSlice(paddedCHWN, g, kh, kw, 2), [g.inChannels, positions]);
        taps.push(tf.matMul(patches, dy2d));
      }
    }
    return tf.reshape(tf.stack(taps), filterShape) as tf.Tensor4D;
  });
}

/**
 * The same dW as one convolution, for strided convs: with the input's channels as the batch and its batch as the
 * channels, dy (as [OH, OW, N, Co]) is a filter dilated by the stride that slides over the padded input with
 * stride 1, and out[ci, kh, kw, co] = Σ_{oh,ow,n} x[n, kh + oh·s, kw + ow·s, ci] · dy[n, oh, ow, co] = dW[kh, kw, ci, co].
 * For stride 2 this is 3–10× faster on wasm than the per-tap strided slices (79 → 7 ms for the 7×7/2 stem at
 * 4×64×64); for stride 1 the plain slices and products are as fast or faster. Dilated convs have no gradient in tfjs.
 */
export function conv2dBackpropFilterFromConv(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const g = patchGeometry(info);
    const neededHeight = (g.outHeight - 1) * g.strideHeight + g.filterHeight;
    const neededWidth = (g.outWidth - 1) * g.strideWidth + g.filterWidth;
    // Padded, then cut to the rows and columns some output position reads (a 'valid' conv may leave some out).
    const padded = tf.slice(padSpatial(x, g), [0, 0, 0, 0], [-1, neededHeight, neededWidth, -1]);
    const channelsAsBatch = tf.transpose(padded, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const out = tf.conv2d(channelsAsBatch, dyAsFilter, 1, 'valid', 'NHWC', [g.strideHeight, g.strideWidth]);
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * dx[n, i, j, ci] = Σ_{kh,kw,co} dy[n, (i + pt − kh)/s, (j + pl − kw)/s, co] · W[kh, kw, ci, co] (terms with a
 * non-integer quotient drop out): a stride-1 convolution of dy, upsampled by the stride with zeros, with the
 * filter rotated by 180° and its channel axes swapped. wasm's own Conv2DBackpropInput is a direct loop, about
 * 12× slower than its XNNPACK forward convolution that this uses (for stride 2 the zeros cost 4× the useful
 * work and it is still ~3× faster).
 */
export function conv2dBackpropInputFromConv(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight, inWidth } = info;
    let up: tf.Tensor4D = dy;
    if (sh > 1 || sw > 1) {
      // Interleave zeros: [N, OH, 1, OW, 1, C] padded to [N, OH, sh, OW, sw, C], then drop the trailing zeros.
      const [n, oh, ow, c] = dy.shape;
      const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      up = tf.slice(
        tf.reshape(spread, [n, oh * sh, ow * sw, c]),
        [0, 0, 0, 0],
        [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, c],
      ) as tf.Tensor4D;
    }
    const before = [kh - 1 - info.padInfo.top, kw - 1 - info.padInfo.left];
    const after = [inHeight - up.shape[1] - before[0] + kh - 1, inWidth - up.shape[2] - before[1] + kw - 1];
    // Paddings larger than the kernel make some of these negative: crop instead of padding there.
    const crop = [Math.max(0, -before[0]), Math.max(0, -before[1]), Math.max(0, -after[0]), Math.max(0, -after[1])];
    if (crop.some((v) => v > 0)) {
      up = tf.slice(up, [0, crop[0], crop[1], 0], [-1, up.shape[1] - crop[0] - crop[2], up.shape[2] - crop[1] - crop[3], -1]);
    }
    const padding: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [Math.max(0, before[0]), Math.max(0, after[0])],
      [Math.max(0, before[1]), Math.max(0, after[1])],
      [0, 0],
    ];
    return tf.conv2d(up, rotatedFilter(filter), 1, padding);
  });
}

/**
 * The filter rotated by 180° with its channel axes swapped: rotated[kh, kw, co, ci] = W[KH−1−kh, KW−1−kw, ci, co].
 * Reversing the flattened tap axis reverses both spatial axes. It is done as a product with the anti-diagonal
 * permutation matrix (exact: each output is 1·w plus zeros) because wasm's Reverse and Gather kernels walk
 * element by element: ~18 ms for a 3×3×256×256 filter against ~1 ms for the product.
 */
function rotatedFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const taps = kh * kw;
  const flat = tf.reshape(filter, [taps, ci * co]);
  const reversed = taps === 1 ? flat : tf.matMul(tf.reverse(tf.eye(taps), [1]), flat);
  return tf.reshape(tf.transpose(tf.reshape(reversed, [taps, ci, co]), [0, 2, 1]), [kh, kw, co, ci]);
}

/** dW[kh,kw,c,m] = Σ_{n,oh,ow} x[n, oh·s + kh·d − pt, ow·s + kw·d − pl, c] · dy[n, oh, ow, c·M + m]. */
export function depthwiseConv2dBackpropFilterFromOps(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  dilations: number | [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true, 'channelsLast');
    const g = patchGeometry(info);
    const positions = g.batch * g.outHeight * g.outWidth;
    const [, , channels, multiplier] = filterShape;
    const dy3d = tf.reshape(dy, [positions, channels, multiplier]);
    const padded = padSpatial(x, g);
    const taps: tf.Tensor2D[] = [];
    for (let kh = 0; kh < g.filterHeight; kh++) {
      for (let kw = 0; kw < g.filterWidth; kw++) {
        const patches = tf.reshape(tapSlice(padded, g, kh, kw, 1), [positions, channels, 1]);
        taps.push(tf.sum(tf.mul(patches, dy3d), 0) as tf.Tensor2D);
      }
    }
    return tf.reshape(tf.stack(taps), filterShape) as tf.Tensor4D;
  });
}

/** out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]; ids outside [0, numSegments) contribute nothing (as TensorFlow). */
export function unsortedSegmentSumFromScatter(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const idRank = segmentIds.rank;
    const count = segmentIds.size;
    const innerShape = x.shape.slice(idRank);
    const innerSize = innerShape.reduce((a, b) => a * b, 1);
    let rows = tf.reshape(x, [count, innerSize]);
    let ids = tf.reshape(tf.cast(segmentIds, 'int32'), [count]);
    const idValues = ids.dataSync();
    const valid: number[] = [];
    for (let i = 0; i < idValues.length; i++) if (idValues[i] >= 0 && idValues[i] < numSegments) valid.push(i);
    if (valid.length < count) {
      if (valid.length === 0) return tf.zeros([numSegments, ...innerShape], x.dtype);
      const keep = tf.tensor1d(valid, 'int32');
      rows = tf.gather(rows, keep);
      ids = tf.gather(ids, keep);
    }
    const summed = tf.scatterND(tf.reshape(ids, [valid.length, 1]), rows, [numSegments, innerSize]);
    return tf.reshape(summed, [numSegments, ...innerShape]);
  });
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap };

let registered = false;

/** Re-registers wasm's kernel `name` with `wrap(original)` as its function (nothing if wasm lacks it). */
function wrapWasmKernel(name: string, wrap: (original: tf.KernelFunc) => tf.KernelFunc): void {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: wrap(original.kernelFunc) });
}

/** Replaces wasm's direct-loop Conv2DBackpropInput by the convolution above (NHWC; others keep the original). */
function replaceConv2dBackpropInput(): void {
  wrapWasmKernel(tf.Conv2DBackpropInput, (original) => (args) => {
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (a.dataFormat === 'NCHW') return original(args);
    const inputs = args.inputs as unknown as { dy: tf.Tensor4D; filter: tf.Tensor4D };
    return conv2dBackpropInputFromConv(inputs.dy, inputs.filter, a.inputShape, a.strides, a.pad, a.dimRoundingMode);
  });
}

/** Wraps wasm's Transpose so that an input with a zero-length dimension gives an empty result instead of a crash. */
function guardEmptyTranspose(): void {
  wrapWasmKernel(tf.Transpose, (original) => (args) => {
    const x = (args.inputs as unknown as { x: tf.TensorInfo }).x;
    if (x.shape.some((size) => size === 0)) {
      const { perm } = args.attrs as unknown as tf.TransposeAttrs;
      return tf.zeros(
        perm.map((axis) => x.shape[axis]),
        x.dtype,
      );
    }
    return original(args);
  });
}

/**
 * Registers the three missing kernels on the 'wasm' backend and the faster Conv2DBackpropInput (idempotent;
 * missing-kernel shims are skipped if a later tfjs provides the kernel).
 */
export function registerWasmKernelShims(): void {
  if (registered) return;
  registered = true;
  replaceConv2dBackpropInput();
  guardEmptyTranspose();
  const shims: { kernelName: string; kernelFunc: (args: KernelArgs) => tf.Tensor }[] = [
    {
      kernelName: tf.Conv2DBackpropFilter,
      kernelFunc: ({ inputs, attrs }) => {
        const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
        if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm shim): only dataFormat NHWC is supported');
        const strided = typeof a.strides === 'number' ? a.strides > 1 : a.strides.some((stride) => stride > 1);
        return (strided ? conv2dBackpropFilterFromConv : conv2dBackpropFilterFromMatMul)(
          inputs.x as tf.Tensor4D,
          inputs.dy as tf.Tensor4D,
          a.filterShape,
          a.strides,
          a.pad,
          a.dimRoundingMode,
        );
      },
    },
    {
      kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
      kernelFunc: ({ inputs, attrs }) => {
        const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
        return depthwiseConv2dBackpropFilterFromOps(
          inputs.x as tf.Tensor4D,
          inputs.dy as tf.Tensor4D,
          a.filterShape,
          a.strides,
          a.pad,
          a.dimRoundingMode,
          a.dilations,
        );
      },
    },
    {
      kernelName: tf.UnsortedSegmentSum,
      kernelFunc: ({ inputs, attrs }) => {
        const a = attrs as unknown as tf.UnsortedSegmentSumAttrs;
        return unsortedSegmentSumFromScatter(inputs.x as tf.Tensor, inputs.segmentIds as tf.Tensor, a.numSegments);
      },
    },
  ];
  for (const shim of shims) {
    if (tf.getKernel(shim.kernelName, 'wasm') !== undefined) continue;
    tf.registerKernel({ kernelName: shim.kernelName, backendName: 'wasm', kernelFunc: shim.kernelFunc });
  }
}
