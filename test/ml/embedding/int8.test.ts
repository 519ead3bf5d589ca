import { cosineSimilarity, dequantizeInt8, l2Normalize, quantizeInt8 } from '../../../src/ml/embedding/int8';
import { SeededRandom } from '../../../src/ml/model/params';

function randomVector(random: SeededRandom, length: number): Float32Array {
  return Float32Array.from({ length }, () => random.normal());
}

describe('int8 embeddings', () => {
  it('quantizes a hand-computed vector', () => {
    const { vector, scale } = quantizeInt8([0.6, -0.8, 0]);
    expect(Array.from(vector)).toEqual([95, -127, 0]);
    expect(scale).toBeCloseTo(0.8 / 127, 9);
  });

  it('keeps cosine similarities of 1024-d unit vectors within 0.01', () => {
    const random = new SeededRandom(7);
    for (let trial = 0; trial < 20; trial++) {
      const a = l2Normalize(randomVector(random, 1024));
      const noise = randomVector(random, 1024);
      const b = l2Normalize(a.map((value, i) => value + 0.05 * trial * noise[i]));
      const exact = cosineSimilarity(a, b);
      const stored = cosineSimilarity(dequantizeInt8(quantizeInt8(a)), dequantizeInt8(quantizeInt8(b)));
      expect(Math.abs(stored - exact)).toBeLessThan(0.01);
    }
  });

  it('refuses vectors without a direction', () => {
    expect(() => l2Normalize([0, 0])).toThrow(/norm 0/);
    expect(() => quantizeInt8([0, Number.NaN])).toThrow(/cannot be quantized/);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(/lengths differ/);
  });
});
