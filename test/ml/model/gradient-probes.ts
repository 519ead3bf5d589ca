/**
 * Comparing gradients with a reference fixture without committing them: per tensor, the fixture records the dot
 * product with a formula probe (formulaValues(`probe.<name>`)) in the tensor's torch (or NHWC feature) layout, and
 * the squared norm (tools/reference/heads_reference.py, probe_sums).
 */
import { formulaValues } from './heads-formula';

export interface ProbeSums {
  dot: number;
  sq: number;
}

/** Asserts both sums within `relative` (the dot relative to its Cauchy–Schwarz bound sqrt(sq · |probe|²)). */
export function expectProbeSums(
  name: string,
  data: ArrayLike<number>,
  shape: readonly number[],
  expected: ProbeSums,
  relative = 1e-4,
): void {
  const probe = formulaValues(`probe.${name}`, shape);
  expect({ name, length: data.length }).toEqual({ name, length: probe.length });
  let dot = 0;
  let sq = 0;
  let probeSq = 0;
  for (let i = 0; i < data.length; i++) {
    dot += data[i] * probe[i];
    sq += data[i] * data[i];
    probeSq += probe[i] * probe[i];
  }
  if (process.env.HEADS_DEBUG) console.log(name, dot, expected.dot, sq, expected.sq);
  expect({ name, dot: Math.abs(dot - expected.dot) <= relative * Math.sqrt(expected.sq * probeSq) }).toEqual({ name, dot: true });
  expect({ name, sq: Math.abs(sq - expected.sq) <= relative * expected.sq }).toEqual({ name, sq: true });
}
