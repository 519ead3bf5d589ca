/**
 * Review (/review): the images to check next, from `reviewQueue` — most uncertain for the chosen
 * (or active) model version first, or in a seeded random order — each with its score and the
 * reasons behind it. Opening one walks the queue on the image page ("Mark reviewed & next");
 * reviewed images leave the queue. The URL holds the options, like the search page's.
 */
import { useEffect, useMemo, useState } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { KIND_LABELS } from '../image-model';
import { consoleKind } from '../attribute-kinds';
import type { ReviewReasonKind, Split } from '../gql/graphql';
import {
  DEFAULT_REVIEW,
  fetchReviewQueue,
  formatReviewOptions,
  parseReviewOptions,
  ReviewItem,
  ReviewOptions,
  reviewImageHref,
} from '../review-api';
import { Link, navigate } from '../router';
import { fetchModelVersions, ModelVersionChoice } from '../search-api';

const QUEUE_PAGE = 24;

const REASON_LABELS: Record<ReviewReasonKind, string> = {
  ATTRIBUTE_MARGIN: 'close call',
  DETECTION_SCORE: 'unsure detection',
  DISAGREEMENT: 'disagrees with the annotation',
  MISSED_GARMENT: 'missed garment',
};

interface Queue {
  key: string;
  items: ReviewItem[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export function ReviewPage({ query }: { query: string }) {
  const options = useMemo(() => parseReviewOptions(query), [query]);
  const key = formatReviewOptions(options);
  const [queue, setQueue] = useState<Queue | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [modelVersions, setModelVersions] = useState<ModelVersionChoice[]>([]);

  const update = (next: Partial<ReviewOptions>) => navigate(`/review${formatReviewOptions({ ...options, ...next })}`, { replace: true });

  useEffect(() => {
    const controller = new AbortController();
    fetchModelVersions(controller.signal).then(setModelVersions, () => setModelVersions([]));
    return () => controller.abort();
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    setError(null);
    fetchReviewQueue(options, QUEUE_PAGE, null, controller.signal).then(
      (page) => setQueue({ key, items: page.edges, endCursor: page.pageInfo.endCursor ?? null, hasNextPage: page.pageInfo.hasNextPage }),
      (failure: Error) => !controller.signal.aborted && setError(failure),
    );
    return () => controller.abort();
    // `key` is the options' canonical text: `options` is only ever new when `key` is.
  }, [key]);

  const loadMore = () => {
    if (!queue?.endCursor) return;
    setLoadingMore(true);
    fetchReviewQueue(options, QUEUE_PAGE, queue.endCursor).then(
      (page) => {
        setQueue({
          key,
          items: [...queue.items, ...page.edges],
          endCursor: page.pageInfo.endCursor ?? null,
          hasNextPage: page.pageInfo.hasNextPage,
        });
        setLoadingMore(false);
      },
      (failure: Error) => {
        setError(failure);
        setLoadingMore(false);
      },
    );
  };

  const shown = queue?.key === key ? queue : null;
  return (
    <div className="review-page">
      <h1>Review</h1>
      <form className="review-controls" onSubmit={(event) => event.preventDefault()}>
        <label>
          Order{' '}
          <select
            id="review-order"
            value={options.order}
            onChange={(event) => {
              const order = event.target.value as ReviewOptions['order'];
              update({ order, seed: order === 'RANDOM' ? (options.seed ?? Math.floor(Math.random() * 1_000_000)) : null });
            }}
          >
            <option value="UNCERTAINTY">most uncertain first</option>
            <option value="RANDOM">random</option>
          </select>
        </label>
        {options.order === 'RANDOM' && (
          <label>
            Seed{' '}
            <input
              type="number"
              min={0}
              value={options.seed ?? ''}
              onChange={(event) => update({ seed: event.target.value === '' ? null : Number(event.target.value) })}
            />
          </label>
        )}
        <label>
          Split{' '}
          <select
            id="review-split"
            value={options.split ?? ''}
            onChange={(event) => update({ split: (event.target.value || null) as Split | null })}
          >
            <option value="">all</option>
            <option value="TRAIN">training</option>
            <option value="VALIDATION">validation</option>
          </select>
        </label>
        {modelVersions.length > 0 && (
          <label>
            Model{' '}
            <select
              id="review-model"
              value={options.modelVersionId ?? ''}
              onChange={(event) => update({ modelVersionId: event.target.value || null })}
            >
              <option value="">active version</option>
              {modelVersions.map((version) => (
                <option key={version.id} value={version.id}>
                  {version.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {key !== formatReviewOptions(DEFAULT_REVIEW) && (
          <button type="button" className="link-button" onClick={() => navigate('/review', { replace: true })}>
            Reset
          </button>
        )}
      </form>
      {error && <ErrorNote error={error} />}
      {!shown && !error && <p className="muted">Loading…</p>}
      {shown && shown.items.length === 0 && (
        <p className="empty-results" data-testid="queue-empty">
          Nothing left to review here: every image matching these options is marked reviewed.
        </p>
      )}
      {shown && shown.items.length > 0 && (
        <>
          <p>
            <Link className="button-link" href={reviewImageHref(shown.items[0].node.id, options)}>
              Start reviewing
            </Link>
          </p>
          <ol className="review-queue" data-testid="review-queue">
            {shown.items.map((item) => (
              <QueueItem key={item.node.id} item={item} options={options} />
            ))}
          </ol>
          {shown.hasNextPage && (
            <p className="more">
              <button type="button" onClick={loadMore} disabled={loadingMore}>
                {loadingMore ? 'Loading…' : 'More'}
              </button>
            </p>
          )}
        </>
      )}
    </div>
  );
}

function QueueItem({ item, options }: { item: ReviewItem; options: ReviewOptions }) {
  const image = item.node;
  return (
    <li className="review-item" data-testid="review-item" data-image-id={image.id}>
      <Link href={reviewImageHref(image.id, options)} className="review-thumb">
        <img src={image.thumbnail} alt={`Photo ${image.externalId ?? image.id}`} loading="lazy" />
      </Link>
      <div>
        <Link href={reviewImageHref(image.id, options)}>{image.externalId ? `K-Fashion ${image.externalId}` : `Image ${image.id}`}</Link>{' '}
        <span className="score" data-testid="review-score">
          {item.score.toFixed(3)}
        </span>
        <ul className="reasons">
          {item.reasons.map((reason, i) => (
            <li key={i} data-kind={reason.kind}>
              <span className="tag">{REASON_LABELS[reason.kind]}</span>{' '}
              {reason.attributeKind && <>{KIND_LABELS[consoleKind(reason.attributeKind)]}: </>}
              {reason.detail} <span className="score">{reason.score.toFixed(3)}</span>
            </li>
          ))}
        </ul>
      </div>
    </li>
  );
}
