/**
 * The project's one seeded pseudo-random generator (mulberry32: one 32-bit word of state), used
 * wherever a run must be reproducible from a seed: synthetic data, samplers, training order,
 * benchmarks and test inputs. Not cryptographic. Values are uniform in [0, 1).
 */

// Bound once: a global lookup inside this hot function is many times slower under jest's sandbox.
const { imul } = Math;

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
