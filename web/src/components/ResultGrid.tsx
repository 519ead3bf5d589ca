/**
 * Garment crops in a grid. The next page loads when the end of the grid comes within a screen
 * of the viewport (IntersectionObserver), or when the "Load more" button is pressed (keyboard).
 * Each card opens the garment in its photo and offers "More like this" (its nearest garments by
 * appearance); similar garments also show their similarity to the garment asked about.
 */
import { useEffect, useRef } from 'react';
import { Page, PagedList } from '../paged-list';
import { Link } from '../router';
import { similarPath } from '../similar-state';
import { ResultGarment } from '../search-api';
import { SUPER_CATEGORIES } from '../search-state';

/** A card's garment; `similarity`: its cosine similarity to the garment whose neighbours these are. */
export type GridGarment = ResultGarment & { similarity?: number };

export function ResultGrid(props: {
  garments: GridGarment[];
  hasNextPage: boolean;
  loading: boolean;
  onLoadMore: () => void;
  emptyText?: string;
}) {
  const sentinel = useRef<HTMLDivElement>(null);
  const loadMore = useRef(props.onLoadMore);
  loadMore.current = props.onLoadMore;

  useEffect(() => {
    const element = sentinel.current;
    if (!element || !props.hasNextPage) return;
    const observer = new IntersectionObserver((entries) => entries.some((entry) => entry.isIntersecting) && loadMore.current(), {
      rootMargin: '0px 0px 100% 0px',
    });
    observer.observe(element);
    return () => observer.disconnect();
    // Re-observing after each page re-fires the callback while the end is still in view.
  }, [props.hasNextPage, props.garments.length]);

  if (!props.garments.length) return <p className="muted empty-results">{props.emptyText ?? 'No garment matches these filters.'}</p>;
  return (
    <>
      <CropList garments={props.garments} testId="result-grid" />
      <div ref={sentinel} className="more">
        {props.hasNextPage ? (
          <button type="button" onClick={props.onLoadMore} disabled={props.loading}>
            {props.loading ? 'Loading…' : 'Load more'}
          </button>
        ) : (
          <span className="muted small">end of results</span>
        )}
      </div>
    </>
  );
}

/** A paged list's grid: the previous list stays, dimmed, while the current one loads. */
export function PagedGrid({ list, emptyText }: { list: PagedList<GridGarment, Page<GridGarment>>; emptyText?: string }) {
  const { current, shown } = list;
  if (!shown) return null;
  return (
    <div className={current ? undefined : 'stale'} aria-busy={!current}>
      <ResultGrid
        garments={shown.garments}
        hasNextPage={shown.hasNextPage}
        loading={list.loadingMore || !current}
        onLoadMore={list.loadMore}
        emptyText={emptyText}
      />
    </div>
  );
}

/** Garment cards, each with its "More like this" link. */
export function CropList(props: { garments: GridGarment[]; testId: string }) {
  return (
    <ul className="grid" data-testid={props.testId}>
      {props.garments.map((garment) => (
        <li key={garment.id} className="card" data-garment-id={garment.id}>
          <GarmentCard garment={garment} />
          <Link href={moreLikeThisPath(garment)} className="more-like-this" aria-label={`More like ${cardLabel(garment)}`}>
            More like this
          </Link>
        </li>
      ))}
    </ul>
  );
}

/** A predicted garment's embedding is its detector's; an annotated one is compared under the active model version. */
function moreLikeThisPath(garment: ResultGarment): string {
  return similarPath(garment.id, { modelVersionId: garment.modelVersion?.id ?? null });
}

function cardLabel(garment: ResultGarment): string {
  const slot = SUPER_CATEGORIES.find((entry) => entry.value === garment.superCategory);
  return `${garment.categoryEn ?? garment.category ?? slot?.english ?? 'garment'} in image ${garment.image.externalId ?? garment.image.id}`;
}

/** A crop with its category, detection score or similarity, and photo id, opening the garment in its photo. */
export function GarmentCard({ garment }: { garment: GridGarment }) {
  const slot = SUPER_CATEGORIES.find((entry) => entry.value === garment.superCategory);
  const width = Math.max(1, garment.box.x2 - garment.box.x1);
  const height = Math.max(1, garment.box.y2 - garment.box.y1);
  // The crop's displayed size is known before it loads: no layout shift while scrolling.
  const scale = 192 / Math.max(width, height);
  return (
    <Link href={`/image/${garment.image.id}?garment=${garment.id}`} className="card-link">
      <span className="crop">
        <img
          src={garment.crop}
          srcSet={`${garment.crop} 1x, ${garment.crop2x} 2x`}
          width={Math.round(width * scale)}
          height={Math.round(height * scale)}
          loading="lazy"
          decoding="async"
          alt={cardLabel(garment)}
        />
      </span>
      <span className="card-text">
        <span lang="ko">{garment.category ?? slot?.korean}</span> <span className="value-en">{garment.categoryEn ?? slot?.english}</span>
        {garment.score !== null && <span className="score"> {(garment.score * 100).toFixed(0)}%</span>}
        {garment.similarity !== undefined && (
          <span className="similarity" data-testid="similarity" title="cosine similarity of the two garments' appearance embeddings">
            similarity {garment.similarity.toFixed(2)}
          </span>
        )}
        <span className="muted small card-id">#{garment.image.externalId ?? garment.image.id}</span>
      </span>
    </Link>
  );
}
