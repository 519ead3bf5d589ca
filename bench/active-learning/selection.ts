/**
 * How the active-learning bench spends its labelling budget on the unlabelled pool: the images the review
 * queue would show first (highest uncertainty score), or a seeded random draw (the baseline).
 */
import { seededRandom } from '../../src/util/random';

export interface ScoredImage {
  id: string;
  score: number;
}

function checkBudget(budget: number, pool: number): void {
  if (!Number.isInteger(budget) || budget < 0) throw new Error(`budget must be a non-negative integer, got ${budget}`);
  if (budget > pool) throw new Error(`budget ${budget} exceeds the pool of ${pool} images`);
}

/**
 * The `budget` highest-scored images, highest first. Equal scores go by id (as the queue's keyset order
 * does), so the choice does not depend on the pool's order.
 */
export function selectMostUncertain(scored: readonly ScoredImage[], budget: number): string[] {
  checkBudget(budget, scored.length);
  for (const { id, score } of scored) {
    if (!Number.isFinite(score)) throw new Error(`image ${id}: score must be a finite number, got ${score}`);
  }
  return [...scored]
    .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id))
    .slice(0, budget)
    .map((s) => s.id);
}

/** `budget` distinct images drawn uniformly (a seeded partial Fisher–Yates shuffle): the same seed, the same draw. */
export function selectAtRandom(ids: readonly string[], budget: number, seed: number): string[] {
  checkBudget(budget, ids.length);
  const random = seededRandom(seed);
  const order = [...ids];
  for (let i = 0; i < budget; i++) {
    const j = i + Math.floor(random() * (order.length - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, budget);
}
