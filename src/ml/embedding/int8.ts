/**
 * The stored form of an appearance embedding: the L2-normed vector scaled so that its largest magnitude
 * becomes 127, rounded to int8, with the scale that maps it back (value ≈ int8 × scale). One byte per
 * dimension; the rounding error per component is at most scale / 2, so cosine similarities move by
 * well under 0.01 for the box head's 1024 dimensions (tested).
 */

export interface Int8Embedding {
  /** int8 components */
  vector: Int8Array;
  /** value ≈ vector[i] × scale; always > 0 */
  scale: number;
}

/** `values` divided by its L2 norm; throws when the norm is 0 or not finite (no direction to compare). */
export function l2Normalize(values: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new Error(`embedding: cannot normalize a vector of norm ${norm}`);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] / norm;
  return out;
}

/** The int8 form of an already L2-normed vector. */
export function quantizeInt8(normed: ArrayLike<number>): Int8Embedding {
  let largest = 0;
  for (let i = 0; i < normed.length; i++) largest = Math.max(largest, Math.abs(normed[i]));
  if (!(largest > 0) || !Number.isFinite(largest)) throw new Error('embedding: a zero or non-finite vector cannot be quantized');
  const scale = largest / 127;
  const vector = new Int8Array(normed.length);
  for (let i = 0; i < normed.length; i++) vector[i] = Math.max(-127, Math.min(127, Math.round(normed[i] / scale)));
  return { vector, scale };
}

/** The float vector an int8 embedding stands for. */
export function dequantizeInt8({ vector, scale }: Int8Embedding): Float32Array {
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] * scale;
  return out;
}

/** Cosine similarity of two vectors of the same length (0 when either is zero). */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`embedding: lengths differ (${a.length} and ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
