/**
 * The deterministic tensor formula of tools/reference/heads_reference.py, bit for bit: values are an
 * integer hash (FNV-1a of the tensor name, murmur3 fmix32 of the index) scaled in float64 and then
 * rounded to float32, so the fixtures need not commit any weights or features.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParameterStore, type Layout } from '../../../src/ml/model/params';

export function nameSeed(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

const BN_WEIGHT = /(bn1|bn2|bn3|downsample\.1)\.weight$/;

/** Values of the named tensor in the given (PyTorch, or NHWC for features) shape, row-major. */
export function formulaValues(name: string, shape: readonly number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const seed = nameSeed(name);
  const base = Math.imul(seed, 0x9e3779b9) >>> 0;
  let scale: (s: number) => number;
  if (name.endsWith('running_var')) scale = (s) => 1 + 0.5 * s;
  else if (name.endsWith('running_mean')) scale = (s) => 0.1 * s;
  else if (BN_WEIGHT.test(name)) scale = (s) => 1 + 0.2 * s;
  else if (name.endsWith('.bias')) scale = (s) => 0.1 * s;
  else if (name.endsWith('.weight')) {
    const bound = Math.sqrt(3 / shape.slice(1).reduce((a, b) => a * b, 1));
    scale = (s) => s * bound;
  } else {
    const bound = Math.sqrt(3);
    scale = (s) => s * bound;
  }
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = fmix32((i + base) >>> 0) / 4294967296;
    out[i] = scale(2 * u - 1);
  }
  return out;
}

/** Formula features P2..P6 (NHWC), as heads_reference.formula_features. */
export function formulaFeatures(batch: number, levelSizes: number[][], channels = 256): tf.Tensor4D[] {
  const levels = ['0', '1', '2', '3', 'pool'];
  return levelSizes.map(([h, w], i) =>
    tf.tensor4d(formulaValues(`features.${levels[i]}`, [batch, h, w, channels]), [batch, h, w, channels]),
  );
}

/** The layout a state-dict tensor has in the ParameterStore, from its name and rank. */
export function layoutOf(name: string, torchShape: readonly number[]): Layout {
  if (torchShape.length === 4) return 'conv';
  if (torchShape.length === 2) return 'linear';
  return 'plain';
}

/** Overwrites every parameter of the store with its formula value (trainability kept). */
export function fillStoreWithFormula(store: ParameterStore): void {
  for (const name of store.names()) store.assignFromTorch(name, formulaValues(name, store.info(name).torchShape));
}
