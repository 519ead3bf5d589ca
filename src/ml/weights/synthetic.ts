/**
 * Deterministic synthetic weights: every tensor's values follow from its state_dict name and shape by
 * a documented formula that tools/reference/common.py implements identically in numpy. Reference
 * fixtures and benchmarks use it so that both sides run the same (multi-megabyte) weights without
 * committing them. Unlike torchvision's fresh init it gives frozen batch norms non-trivial values.
 *
 * Formula, for the tensor `name` with n elements (all integer arithmetic mod 2^32):
 *   seed   = FNV-1a-32(utf8(name))
 *   h_i    = mix(mix(i) XOR seed)          mix = "lowbias32": x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16
 *   u_i    = (2·(h_i >> 8) + 1) / 2^24 − 1 ∈ (−1, 1), exactly representable in float32
 *   v_i    = float32(offset + scale · u_i)  (double arithmetic, one rounding)
 * with (offset, scale) by name and shape:
 *   *.running_var → (1, 0.5); *.running_mean → (0, 0.1); rank-1 *.weight (batch-norm weight) → (1, 0.25);
 *   rank-1 *.bias → (0, 0.1); weights of rank ≥ 2 → (0, sqrt(6 / fan_in)) (He-uniform bound).
 */
import { fans } from '../model/params';

// Module-level bindings: the hot loop then touches no globals, which are slow inside vm contexts (jest).
const imul = Math.imul;

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function mix(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export function syntheticAffine(name: string, shape: readonly number[]): { offset: number; scale: number } {
  if (name.endsWith('.running_var')) return { offset: 1, scale: 0.5 };
  if (name.endsWith('.running_mean')) return { offset: 0, scale: 0.1 };
  if (shape.length === 1 && name.endsWith('.weight')) return { offset: 1, scale: 0.25 };
  if (shape.length === 1) return { offset: 0, scale: 0.1 };
  return { offset: 0, scale: Math.sqrt(6 / fans(shape).fanIn) };
}

/** The synthetic values (PyTorch layout) of the tensor `name`. */
export function syntheticTensor(name: string, shape: readonly number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const seed = fnv1a32(name);
  const { offset, scale } = syntheticAffine(name, shape);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const h = mix(mix(i) ^ seed);
    const u = (2 * (h >>> 8) + 1) / 16777216 - 1;
    out[i] = offset + scale * u;
  }
  return out;
}
