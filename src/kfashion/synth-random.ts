/**
 * Seeded pseudo-random numbers for the synthetic data generator: the same seed must give the
 * same files byte for byte, on any machine, so Math.random is never used.
 */
import { seededRandom } from '../util/random';

/** The shared seeded generator with the draws the generator needs. */
export class Random {
  private readonly draw: () => number;

  constructor(seed: number) {
    this.draw = seededRandom(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.draw();
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Integer in [low, high], both inclusive. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /**
   * Zipf-like pick: item k (0-based) has weight 1/(k+1)^exponent, so the first items of a list
   * dominate the way a few colours and categories dominate the real data set.
   */
  pickSkewed<T>(items: readonly T[], exponent = 1): T {
    return items[this.skewedIndex(items.length, exponent)];
  }

  /** `count` distinct items, each drawn with pickSkewed's weights among those left. */
  sampleSkewed<T>(items: readonly T[], count: number, exponent = 1): T[] {
    const left = [...items];
    const chosen: T[] = [];
    while (chosen.length < count && left.length > 0) {
      chosen.push(left.splice(this.skewedIndex(left.length, exponent), 1)[0]);
    }
    return chosen;
  }

  /** Pick by explicit weights (need not sum to 1). */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let target = this.next() * total;
    for (const [item, weight] of entries) {
      target -= weight;
      if (target < 0) return item;
    }
    return entries[entries.length - 1][0];
  }

  /** Fisher–Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  }

  private skewedIndex(length: number, exponent: number): number {
    let total = 0;
    for (let k = 0; k < length; k++) total += 1 / (k + 1) ** exponent;
    let target = this.next() * total;
    for (let k = 0; k < length; k++) {
      target -= 1 / (k + 1) ** exponent;
      if (target < 0) return k;
    }
    return length - 1;
  }
}

/**
 * An independent seed for (seed, item, stream), so item i's annotation does not depend on how
 * many random numbers item i-1 used, and drawing the JPEG (stream 1) never changes the JSON
 * (stream 0). Mixing is murmur3's 32-bit finaliser.
 */
export function deriveSeed(seed: number, item: number, stream: number): number {
  let h = (seed >>> 0) ^ Math.imul(item + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
