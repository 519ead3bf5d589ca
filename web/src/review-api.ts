/**
 * The review queue (`reviewQueue`): its options as URL parameters (the Review page's URL, and the
 * `review` parameter the image page keeps while walking the queue), a page of it, and the next
 * image to open. Reviewed images leave the queue, so after marking one the next is simply the
 * queue's first image other than the one just done.
 */
import { fetchGraphQL } from './graphql';
import { graphql } from './gql';
import type { ReviewOrder, ReviewQueueQuery, Split } from './gql/graphql';

export interface ReviewOptions {
  order: ReviewOrder;
  /** The RANDOM order's seed, so a shared link walks the same sequence. */
  seed: number | null;
  split: Split | null;
  modelVersionId: string | null;
}

export const DEFAULT_REVIEW: ReviewOptions = { order: 'UNCERTAINTY', seed: null, split: null, modelVersionId: null };
const ORDERS: readonly ReviewOrder[] = ['UNCERTAINTY', 'RANDOM'];
const SPLITS: readonly Split[] = ['TRAIN', 'VALIDATION'];
/** GraphQL Int range: a seed from a hand-edited URL outside it is ignored. */
const MAX_SEED = 2 ** 31 - 1;

export function parseReviewOptions(query: string): ReviewOptions {
  const params = new URLSearchParams(query);
  const order = params.get('order');
  const split = params.get('split');
  const seedText = params.get('seed');
  const seed = seedText !== null && /^\d{1,10}$/.test(seedText) && Number(seedText) <= MAX_SEED ? Number(seedText) : null;
  return {
    order: ORDERS.includes(order as ReviewOrder) ? (order as ReviewOrder) : DEFAULT_REVIEW.order,
    seed,
    split: SPLITS.includes(split as Split) ? (split as Split) : null,
    modelVersionId: params.get('model') || null,
  };
}

/** Only what differs from the defaults, so the plain queue is `/review`. */
export function formatReviewOptions(options: ReviewOptions): string {
  const params = new URLSearchParams();
  if (options.order !== DEFAULT_REVIEW.order) params.set('order', options.order);
  if (options.seed !== null) params.set('seed', String(options.seed));
  if (options.split) params.set('split', options.split);
  if (options.modelVersionId) params.set('model', options.modelVersionId);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The image page's link while walking the queue with `options`. */
export function reviewImageHref(imageId: string, options: ReviewOptions): string {
  return `/image/${encodeURIComponent(imageId)}?${new URLSearchParams({ review: formatReviewOptions(options) })}`;
}

/** The queue the image page walks, from its `review` parameter; null when it was not opened from the queue. */
export function reviewOptionsOf(imagePageQuery: string): ReviewOptions | null {
  const review = new URLSearchParams(imagePageQuery).get('review');
  return review === null ? null : parseReviewOptions(review);
}

const REVIEW_QUEUE = graphql(`
  query ReviewQueue($where: ImageWhere, $modelVersionId: ID, $order: ReviewOrder!, $seed: Int, $first: Int!, $after: String) {
    reviewQueue(where: $where, modelVersionId: $modelVersionId, order: $order, seed: $seed, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        score
        reasons { kind score detail attributeKind garment { id superCategory category categoryEn } }
        node { id externalId width height thumbnail: thumbnailUrl(size: 256) }
      }
    }
  }
`);

export type ReviewQueuePage = ReviewQueueQuery['reviewQueue'];
export type ReviewItem = ReviewQueuePage['edges'][number];

export function fetchReviewQueue(
  options: ReviewOptions,
  first: number,
  after: string | null,
  signal?: AbortSignal,
): Promise<ReviewQueuePage> {
  const where = {
    ...(options.split ? { split: options.split } : {}),
  };
  return fetchGraphQL(
    REVIEW_QUEUE,
    { where, modelVersionId: options.modelVersionId, order: options.order, seed: options.seed, first, after },
    signal,
  ).then((data) => data.reviewQueue);
}

/** The queue's first image other than `currentImageId`, or null when none is left. */
export async function nextInQueue(options: ReviewOptions, currentImageId: string): Promise<string | null> {
  const page = await fetchReviewQueue(options, 2, null);
  return page.edges.map((edge) => edge.node.id).find((id) => id !== currentImageId) ?? null;
}
