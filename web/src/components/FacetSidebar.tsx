/**
 * Facets: one fieldset per kind with a checkbox per value, Korean value with its English label
 * and the number of garments that value would give. Counts of a kind are taken with that kind's
 * own selection left out (values within a kind are OR-ed, so a sibling's count is what ticking it
 * adds); the other kinds' selections apply.
 */
import { useState } from 'react';
import { FACET_KINDS, SearchState } from '../search-state';

export interface FacetValue {
  value: string;
  valueEn: string | null;
  /** Korean name where `value` is not Korean itself (the garment slots' enum values). */
  korean?: string;
  count: number;
}

const SHOWN_BEFORE_MORE = 8;

export function FacetSidebar(props: {
  state: SearchState;
  facets: Record<string, FacetValue[]> | null;
  onToggle: (key: string, value: string) => void;
}) {
  return (
    <div className="facets">
      {FACET_KINDS.map((kind) => (
        <FacetGroup
          key={kind.key}
          kindKey={kind.key}
          label={kind.label}
          values={withSelected(props.facets?.[kind.key] ?? [], props.state.selected[kind.key] ?? [])}
          selected={props.state.selected[kind.key] ?? []}
          loading={props.facets === null}
          onToggle={(value) => props.onToggle(kind.key, value)}
        />
      ))}
    </div>
  );
}

/** Selected values stay visible (count 0) even when nothing matches them any more, so they can be unticked. */
function withSelected(values: FacetValue[], selected: string[]): FacetValue[] {
  const missing = selected.filter((value) => !values.some((entry) => entry.value === value));
  return [...values, ...missing.map((value) => ({ value, valueEn: null, count: 0 }))];
}

function FacetGroup(props: {
  kindKey: string;
  label: string;
  values: FacetValue[];
  selected: string[];
  loading: boolean;
  onToggle: (value: string) => void;
}) {
  const [expanded, setExpanded] = useState(false);
  const hidden = props.values.length - SHOWN_BEFORE_MORE;
  const shown =
    expanded || hidden <= 1
      ? props.values
      : props.values.filter((entry, i) => i < SHOWN_BEFORE_MORE || props.selected.includes(entry.value));
  return (
    <fieldset className="facet" data-kind={props.kindKey}>
      <legend>{props.label}</legend>
      {!props.values.length && <p className="muted small">{props.loading ? '…' : 'no values'}</p>}
      <ul>
        {shown.map((entry) => (
          <li key={entry.value}>
            <label className={entry.count === 0 ? 'facet-value empty' : 'facet-value'}>
              <input
                type="checkbox"
                name={props.kindKey}
                value={entry.value}
                checked={props.selected.includes(entry.value)}
                onChange={() => props.onToggle(entry.value)}
              />
              <span className="value-ko" lang="ko">
                {entry.korean ?? entry.value}
              </span>
              {entry.valueEn && <span className="value-en">{entry.valueEn}</span>}
              <span className="count" data-testid="facet-count">
                {entry.count.toLocaleString('en')}
              </span>
            </label>
          </li>
        ))}
      </ul>
      {hidden > 1 && (
        <button type="button" className="link-button" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
          {expanded ? 'fewer' : `${hidden} more`}
        </button>
      )}
    </fieldset>
  );
}
