/**
 * Search: facets on the left (a collapsible panel on phones), the source switch above the
 * results, and a grid of garment crops that loads the next page (keyset cursor) as the end of
 * the grid scrolls into view. The URL's query string is the search; every change replaces it.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { FacetSidebar, FacetValue } from '../components/FacetSidebar';
import { ErrorNote } from '../components/ErrorNote';
import { ResultGrid } from '../components/ResultGrid';
import { SourceControls } from '../components/SourceControls';
import { useMediaQuery } from '../hooks';
import { navigate } from '../router';
import { fetchFacets, fetchModelVersions, fetchResults, ModelVersionChoice, ResultGarment } from '../search-api';
import { emptySearch, formatSearch, parseSearch, SearchState, selectedCount, toggleValue } from '../search-state';

interface Results {
  key: string;
  totalCount: number | null;
  garments: ResultGarment[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export function SearchPage({ query }: { query: string }) {
  const state = useMemo(() => parseSearch(query), [query]);
  const key = formatSearch(state);
  const narrow = useMediaQuery('(max-width: 760px)');
  const [facets, setFacets] = useState<Record<string, FacetValue[]> | null>(null);
  const [results, setResults] = useState<Results | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [modelVersions, setModelVersions] = useState<ModelVersionChoice[]>([]);
  const moreController = useRef<AbortController | null>(null);

  const update = (next: SearchState) => navigate(`/${formatSearch(next)}`, { replace: true });

  useEffect(() => {
    const controller = new AbortController();
    fetchModelVersions(controller.signal).then(setModelVersions, () => setModelVersions([]));
    return () => controller.abort();
  }, []);

  // A new search: first page and facets, both cancelled when the search changes again.
  useEffect(() => {
    const controller = new AbortController();
    moreController.current?.abort();
    setError(null);
    setLoadingMore(false);
    fetchResults(state, null, controller.signal).then(
      (page) => setResults({ key, ...page }),
      (failure: Error) => !controller.signal.aborted && setError(failure),
    );
    fetchFacets(state, controller.signal).then(setFacets, (failure: Error) => !controller.signal.aborted && setError(failure));
    return () => controller.abort();
    // `key` is the search's canonical text, so `state` is only ever new when `key` is.
  }, [key]);

  const current = results?.key === key ? results : null;
  // While a new search loads, the previous results stay in place, dimmed (no flashing grid).
  const shown = current ?? results;

  const loadMore = () => {
    if (!current?.hasNextPage || loadingMore) return;
    const controller = new AbortController();
    moreController.current = controller;
    setLoadingMore(true);
    fetchResults(state, current.endCursor, controller.signal).then(
      (page) => {
        setResults((previous) =>
          previous && previous.key === key
            ? { ...previous, garments: [...previous.garments, ...page.garments], endCursor: page.endCursor, hasNextPage: page.hasNextPage }
            : previous,
        );
        setLoadingMore(false);
      },
      (failure: Error) => {
        if (controller.signal.aborted) return;
        setLoadingMore(false);
        setError(failure);
      },
    );
  };

  const filterCount = selectedCount(state);
  return (
    <div className="search-page">
      <details className="filters" open={!narrow} key={narrow ? 'narrow' : 'wide'}>
        <summary>Filters{filterCount > 0 && <span className="badge">{filterCount}</span>}</summary>
        <FacetSidebar state={state} facets={facets} onToggle={(kind, value) => update(toggleValue(state, kind, value))} />
        {filterCount > 0 && (
          <button type="button" className="clear" onClick={() => update({ ...state, selected: emptySearch().selected })}>
            Clear all filters
          </button>
        )}
      </details>
      <section className="results" aria-labelledby="results-heading">
        <div className="results-bar">
          <h1
            id="results-heading"
            className="result-count"
            aria-live="polite"
            data-testid="result-count"
            data-count={current?.totalCount ?? ''}
          >
            {current ? `${current.totalCount?.toLocaleString('en')} garment${current.totalCount === 1 ? '' : 's'}` : 'Searching…'}
          </h1>
          <SourceControls state={state} modelVersions={modelVersions} onChange={update} />
        </div>
        {error && <ErrorNote error={error} />}
        {shown && (
          <div className={current ? undefined : 'stale'} aria-busy={!current}>
            <ResultGrid garments={shown.garments} hasNextPage={shown.hasNextPage} loading={loadingMore || !current} onLoadMore={loadMore} />
          </div>
        )}
      </section>
    </div>
  );
}
