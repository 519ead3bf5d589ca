/**
 * Which garments are searched: the annotations, or the predictions of a model version (all
 * versions, or one) above a minimum detection score; and optionally one dataset split.
 */
import { ModelVersionChoice } from '../search-api';
import { isMinScore, SearchState, Source } from '../search-state';
import { modelVersionOptions, OptionalSelect, SPLIT_OPTIONS } from './OptionalSelect';

export function SourceControls(props: { state: SearchState; modelVersions: ModelVersionChoice[]; onChange: (state: SearchState) => void }) {
  const { state, onChange } = props;
  const noModels = props.modelVersions.length === 0;
  const setSource = (source: Source) => onChange({ ...state, source });
  return (
    <div className="source-controls">
      <fieldset className="segmented">
        <legend className="visually-hidden">Source</legend>
        {(['ANNOTATION', 'PREDICTION'] as const).map((source) => (
          <label key={source} className={state.source === source ? 'on' : ''}>
            <input
              type="radio"
              name="source"
              value={source}
              checked={state.source === source}
              disabled={source === 'PREDICTION' && noModels && state.source !== 'PREDICTION'}
              onChange={() => setSource(source)}
            />
            {source === 'ANNOTATION' ? 'Annotations' : 'Predictions'}
          </label>
        ))}
      </fieldset>
      {noModels && state.source === 'ANNOTATION' && <span className="muted small">no model versions yet</span>}
      {state.source === 'PREDICTION' && (
        <>
          <OptionalSelect
            label="Model"
            name="model"
            value={state.modelVersionId}
            none="all versions"
            options={modelVersionOptions(props.modelVersions)}
            onChange={(modelVersionId) => onChange({ ...state, modelVersionId })}
          />
          <label>
            Min. score{' '}
            <input
              type="number"
              min={0}
              max={1}
              step={0.05}
              value={state.minScore}
              aria-label="minimum detection score"
              onChange={(event) => {
                // A cleared field means no minimum; a value outside 0–1 is not taken.
                const text = event.target.value === '' ? '0' : event.target.value;
                if (isMinScore(text)) onChange({ ...state, minScore: Number(text) });
              }}
            />
          </label>
        </>
      )}
      <OptionalSelect
        label="Split"
        name="split"
        value={state.split}
        none="all"
        options={SPLIT_OPTIONS}
        onChange={(split) => onChange({ ...state, split })}
      />
    </div>
  );
}
