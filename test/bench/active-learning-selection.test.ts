/**
 * The active-learning bench's choice of photos to label (bench/active-learning/selection.ts): the queue's order
 * takes the highest scores within the budget, the random baseline is a uniform draw reproducible by seed.
 */
import { selectAtRandom, selectMostUncertain } from '../../bench/active-learning/selection';

const scored = [
  { id: 'a', score: 0.2 },
  { id: 'b', score: 0.9 },
  { id: 'c', score: 0.5 },
  { id: 'd', score: 0.9 },
  { id: 'e', score: 0.1 },
];

test('the queue order takes the highest scores, ties by id, within the budget', () => {
  expect(selectMostUncertain(scored, 3)).toEqual(['b', 'd', 'c']);
  expect(selectMostUncertain([...scored].reverse(), 3)).toEqual(['b', 'd', 'c']);
  expect(selectMostUncertain(scored, 0)).toEqual([]);
  expect(selectMostUncertain(scored, 5)).toEqual(['b', 'd', 'c', 'a', 'e']);
});

test('a budget that is not a count within the pool, or a score that is not finite, is refused', () => {
  expect(() => selectMostUncertain(scored, 6)).toThrow('budget 6 exceeds the pool of 5 images');
  expect(() => selectMostUncertain(scored, 1.5)).toThrow('budget must be a non-negative integer, got 1.5');
  expect(() => selectAtRandom(['a'], -1, 1)).toThrow('budget must be a non-negative integer, got -1');
  expect(() => selectMostUncertain([{ id: 'x', score: Number.NaN }], 1)).toThrow('image x: score must be a finite number');
});

test('the random draw is reproducible by seed, distinct, from the pool, and uniform', () => {
  const ids = Array.from({ length: 20 }, (_, i) => `p${i}`);
  const first = selectAtRandom(ids, 8, 42);
  expect(first).toHaveLength(8);
  expect(new Set(first).size).toBe(8);
  expect(first.every((id) => ids.includes(id))).toBe(true);
  expect(selectAtRandom(ids, 8, 42)).toEqual(first);
  expect(selectAtRandom(ids, 8, 43)).not.toEqual(first);
  expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));

  // Each of 20 ids drawn with probability 8/20 over 2,000 seeds: 800 expected, binomial sd ≈ 22.
  const counts = new Map(ids.map((id) => [id, 0]));
  for (let seed = 0; seed < 2000; seed++) for (const id of selectAtRandom(ids, 8, seed)) counts.set(id, counts.get(id)! + 1);
  for (const [id, count] of counts) expect({ id, count, near: Math.abs(count - 800) < 110 }).toEqual({ id, count, near: true });
});
