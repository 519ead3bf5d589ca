/**
 * Cursors of the review queue. A queue position is a sort key and an image id (the score or the
 * seeded hash, then the id), and it only means something in the same order, seed and model version:
 * the cursor carries all of them and is refused anywhere else.
 */
import { InvalidSearchInput } from '../../db/search-filter';
import type { ReviewOrder, ReviewQueuePosition } from '../../db/review-queue';

export interface ReviewQueueScope {
  order: ReviewOrder;
  seed: number;
  modelVersionId: number | null;
}

const scopeText = (scope: ReviewQueueScope) => `${scope.order}:${scope.seed}:${scope.modelVersionId ?? ''}`;

export function encodeReviewCursor(scope: ReviewQueueScope, position: ReviewQueuePosition): string {
  return Buffer.from(`v1:review:${scopeText(scope)}:${position.key}:${position.imageId}`, 'utf8').toString('base64url');
}

/** The position after which the page starts; throws InvalidSearchInput naming `field` for anything else. */
export function decodeReviewCursor(scope: ReviewQueueScope, cursor: string, field = 'after'): ReviewQueuePosition {
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const prefix = `v1:review:${scopeText(scope)}:`;
  // The key is a real (UNCERTAINTY: a score in [0, 1]) or a signed 64-bit hash (RANDOM).
  const key = scope.order === 'UNCERTAINTY' ? '(?:0|1|0\\.\\d{1,12}|\\d(?:\\.\\d+)?e-\\d{1,2})' : '-?\\d{1,19}';
  const match = text.startsWith(prefix) ? new RegExp(`^(${key}):(\\d{1,19})$`).exec(text.slice(prefix.length)) : null;
  if (!match) throw new InvalidSearchInput(field, `"${cursor}" is not a cursor of this review queue (same order, seed and model version)`);
  return { key: match[1], imageId: BigInt(match[2]).toString() };
}
