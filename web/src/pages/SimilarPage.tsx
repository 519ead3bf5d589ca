/**
 * "More like this": the garments nearest to one garment by appearance (its embedding under a
 * model version, the active one unless chosen), most similar first, as crops with their category
 * and similarity, paged like the search. The category, split and source filters apply inside the
 * search (the API's `where`), so a filtered page is as full as an unfiltered one. The URL is the
 * state: `/similar/:garmentId?model=&category=&split=&source=`.
 */
import { useEffect, useMemo, useState } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { modelVersionOptions, OptionalSelect, SPLIT_OPTIONS } from '../components/OptionalSelect';
import { GarmentCard, PagedGrid } from '../components/ResultGrid';
import { GraphQLRequestError } from '../graphql';
import { usePagedList } from '../paged-list';
import { Link, navigate } from '../router';
import { fetchModelVersions, ModelVersionChoice } from '../search-api';
import { fetchSimilar } from '../similar-api';
import { parseSimilar, similarPath, SimilarState } from '../similar-state';

export function SimilarPage(props: { garmentId: string; query: string }) {
  const state = useMemo(() => parseSimilar(props.garmentId, props.query), [props.garmentId, props.query]);
  if (!state)
    return (
      <p className="error" role="alert">
        No garment {props.garmentId}. <Link href="/">Back to search</Link>
      </p>
    );
  return <SimilarList state={state} />;
}

function SimilarList({ state }: { state: SimilarState }) {
  const key = similarPath(state.garmentId, state);
  const list = usePagedList(key, (after, signal) => fetchSimilar(state, after, signal));
  const [modelVersions, setModelVersions] = useState<ModelVersionChoice[]>([]);

  useEffect(() => {
    const controller = new AbortController();
    fetchModelVersions(controller.signal).then(setModelVersions, () => setModelVersions([]));
    return () => controller.abort();
  }, []);

  const update = (next: Partial<SimilarState>) => navigate(similarPath(state.garmentId, { ...state, ...next }), { replace: true });
  const { current, shown } = list;
  // The garment asked about comes with the first page; it stays while a filter change reloads
  // (another garment's, while the list of a newly asked one loads, does not).
  const first = shown?.first.garment;
  const garment = first && first.id !== state.garmentId ? undefined : first;

  return (
    <div className="similar-page">
      <section className="similar-to" aria-labelledby="similar-heading">
        <h1 id="similar-heading">More like this</h1>
        {garment && (
          <div className="card similar-garment" data-testid="similar-garment" data-garment-id={garment.id}>
            <GarmentCard garment={garment} />
          </div>
        )}
        {garment === null && (
          <p className="error" role="alert">
            No garment {state.garmentId}.
          </p>
        )}
      </section>
      <section className="results" aria-labelledby="similar-results-heading">
        <div className="results-bar">
          <h2
            id="similar-results-heading"
            className="result-count"
            aria-live="polite"
            data-testid="similar-status"
            data-loaded={current ? 'yes' : 'no'}
          >
            {current ? `Nearest garment${current.garments.length === 1 ? '' : 's'}` : 'Searching…'}
          </h2>
          <SimilarControls
            state={state}
            category={garment?.category ?? null}
            categoryEn={garment?.categoryEn ?? null}
            modelVersions={modelVersions}
            onChange={update}
          />
        </div>
        {list.error && <SimilarError error={list.error} state={state} />}
        <PagedGrid list={list} emptyText="No other garment with an embedding matches these filters." />
      </section>
    </div>
  );
}

const SOURCE_OPTIONS = [
  ['ANNOTATION', 'annotations'],
  ['PREDICTION', 'predictions'],
] as const;

function SimilarControls(props: {
  state: SimilarState;
  category: string | null;
  categoryEn: string | null;
  modelVersions: ModelVersionChoice[];
  onChange: (next: Partial<SimilarState>) => void;
}) {
  const { state, onChange } = props;
  // The category filter is the asked garment's own (or one from a shared link).
  const category = state.category ?? props.category;
  return (
    <div className="source-controls">
      {category && (
        <label>
          <input
            type="checkbox"
            name="sameCategory"
            checked={state.category !== null}
            onChange={(event) => onChange({ category: event.target.checked ? category : null })}
          />{' '}
          only <span lang="ko">{category}</span>
          {props.categoryEn && category === props.category && <span className="value-en"> {props.categoryEn}</span>}
        </label>
      )}
      <OptionalSelect
        label="Source"
        name="source"
        value={state.source}
        none="annotations and predictions"
        options={SOURCE_OPTIONS}
        onChange={(source) => onChange({ source })}
      />
      <OptionalSelect
        label="Split"
        name="split"
        value={state.split}
        none="all"
        options={SPLIT_OPTIONS}
        onChange={(split) => onChange({ split })}
      />
      {props.modelVersions.length > 0 && (
        <OptionalSelect
          label="Embeddings of"
          name="model"
          value={state.modelVersionId}
          none="the active model"
          options={modelVersionOptions(props.modelVersions)}
          onChange={(modelVersionId) => onChange({ modelVersionId })}
        />
      )}
    </div>
  );
}

/** A garment without an embedding under the version is a state to explain (the API's message says how to fill it), not a failure. */
function SimilarError({ error, state }: { error: Error; state: SimilarState }) {
  const missing = error instanceof GraphQLRequestError && error.errors.some((entry) => entry.extensions?.code === 'EMBEDDING_NOT_FOUND');
  if (!missing) return <ErrorNote error={error} />;
  return (
    <p className="note" role="status" data-testid="no-embedding">
      {error.message}.
      {state.modelVersionId && (
        <>
          {' '}
          <Link href={similarPath(state.garmentId, { ...state, modelVersionId: null })}>Compare with the active model version</Link>.
        </>
      )}
    </p>
  );
}
