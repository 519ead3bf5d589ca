/**
 * Search: facets on the left (a collapsible panel on phones), the source switch above the
 * results, and a grid of garment crops that loads the next page (keyset cursor) as the end of
 * the grid scrolls into view. The URL's query string is the search; every change replaces it.
 */
import { useEffect, useMemo, useState } from 'react';
import { FacetSidebar, FacetValue } from '../components/FacetSidebar';
import { ErrorNote } from '../components/ErrorNote';
import { PagedGrid } from '../components/ResultGrid';
import { SourceControls } from '../components/SourceControls';
import { useMediaQuery } from '../hooks';
import { navigate } from '../router';
import { usePagedList } from '../paged-list';
import { fetchFacets, fetchModelVersions, fetchResults, ModelVersionChoice } from '../search-api';
import { emptySearch, formatSearch, parseSearch, SearchState, selectedCount, toggleValue } from '../search-state';

export function SearchPage({ query }: { query: string }) {
  const state = useMemo(() => parseSearch(query), [query]);
  const key = formatSearch(state);
  const narrow = useMediaQuery('(max-width: 760px)');
  const [facets, setFacets] = useState<Record<string, FacetValue[]> | null>(null);
  const [facetError, setFacetError] = useState<Error | null>(null);
  const [modelVersions, setModelVersions] = useState<ModelVersionChoice[]>([]);
  const results = usePagedList(key, (after, signal) => fetchResults(state, after, signal));

  const update = (next: SearchState) => navigate(`/${formatSearch(next)}`, { replace: true });

  useEffect(() => {
    const controller = new AbortController();
    fetchModelVersions(controller.signal).then(setModelVersions, () => setModelVersions([]));
    return () => controller.abort();
  }, []);

  // The facets of a new search, cancelled when the search changes again.
  useEffect(() => {
    const controller = new AbortController();
    setFacetError(null);
    fetchFacets(state, controller.signal).then(setFacets, (failure: Error) => !controller.signal.aborted && setFacetError(failure));
    return () => controller.abort();
    // `key` is the search's canonical text, so `state` is only ever new when `key` is.
  }, [key]);

  const { current } = results;
  const error = results.error ?? facetError;

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
            data-count={current?.first.totalCount ?? ''}
          >
            {current
              ? `${current.first.totalCount?.toLocaleString('en')} garment${current.first.totalCount === 1 ? '' : 's'}`
              : 'Searching…'}
          </h1>
          <SourceControls state={state} modelVersions={modelVersions} onChange={update} />
        </div>
        {error && <ErrorNote error={error} />}
        <PagedGrid list={results} />
      </section>
    </div>
  );
}
