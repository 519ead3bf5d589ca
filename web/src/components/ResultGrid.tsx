/**
 * Garment crops in a grid. The next page loads when the end of the grid comes within a screen
 * of the viewport (IntersectionObserver), or when the "Load more" button is pressed (keyboard).
 */
import { useEffect, useRef } from 'react';
import { Link } from '../router';
import { ResultGarment } from '../search-api';
import { SUPER_CATEGORIES } from '../search-state';

export function ResultGrid(props: { garments: ResultGarment[]; hasNextPage: boolean; loading: boolean; onLoadMore: () => void }) {
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

  if (!props.garments.length) return <p className="muted empty-results">No garment matches these filters.</p>;
  return (
    <>
      <ul className="grid" data-testid="result-grid">
        {props.garments.map((garment) => (
          <li key={garment.id} className="card" data-garment-id={garment.id}>
            <GarmentCard garment={garment} />
          </li>
        ))}
      </ul>
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

function GarmentCard({ garment }: { garment: ResultGarment }) {
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
          alt={`${garment.categoryEn ?? garment.category ?? slot?.english ?? 'garment'} in image ${garment.image.externalId ?? garment.image.id}`}
        />
      </span>
      <span className="card-text">
        <span lang="ko">{garment.category ?? slot?.korean}</span> <span className="value-en">{garment.categoryEn ?? slot?.english}</span>
        {garment.score !== null && <span className="score"> {(garment.score * 100).toFixed(0)}%</span>}
        <span className="muted small card-id">#{garment.image.externalId ?? garment.image.id}</span>
      </span>
    </Link>
  );
}
