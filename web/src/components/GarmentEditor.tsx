/**
 * The selected garment's pickers on the image page: its category and each attribute kind's values
 * from the vocabulary (Korean with the English label, most frequent first). A single-valued kind
 * is a select, a multi-valued one (material, print, detail) a list of checkboxes; each change is
 * one edit of that kind's values.
 */
import { useEffect, useState } from 'react';
import { apiKind } from '../attribute-kinds';
import { fetchVocabulary, GarmentChange, VocabularyValue } from '../garment-edits';
import { attributesByKind, ImageGarment, KIND_LABELS, KIND_ORDER, MULTI_VALUED_KINDS } from '../image-model';

/** Every garment kind's vocabulary, loaded once the editor opens. */
function useVocabularies(): Map<string, VocabularyValue[]> | null {
  const [vocabularies, setVocabularies] = useState<Map<string, VocabularyValue[]> | null>(null);
  useEffect(() => {
    let live = true;
    Promise.all(KIND_ORDER.map(async (kind) => [kind, await fetchVocabulary(apiKind(kind))] as const)).then(
      (entries) => live && setVocabularies(new Map(entries)),
      () => live && setVocabularies(new Map()),
    );
    return () => {
      live = false;
    };
  }, []);
  return vocabularies;
}

function label(value: VocabularyValue): string {
  return value.valueEn ? `${value.value} ${value.valueEn}` : value.value;
}

export function GarmentEditor(props: { garment: ImageGarment; busy: boolean; onChange: (change: GarmentChange) => void }) {
  const vocabularies = useVocabularies();
  const { garment } = props;
  const current = attributesByKind(garment);
  if (!vocabularies) return <p className="muted small">Loading the vocabulary…</p>;
  return (
    <fieldset className="garment-editor" data-testid="garment-editor" disabled={props.busy}>
      <legend>
        Edit garment <span className="muted small">revision {garment.revision}</span>
      </legend>
      {KIND_ORDER.map((kind) => {
        const values = vocabularies.get(kind) ?? [];
        const chosen = (current.get(kind) ?? []).map((attribute) => attribute.value);
        const id = `edit-${kind}`;
        if (MULTI_VALUED_KINDS.has(kind)) {
          const toggle = (value: string) => {
            const next = chosen.includes(value) ? chosen.filter((entry) => entry !== value) : [...chosen, value];
            props.onChange({ attributes: [{ kind: apiKind(kind), values: next }] });
          };
          return (
            <details key={kind} className="edit-field" data-kind={kind}>
              <summary>
                {KIND_LABELS[kind]}: {chosen.length ? chosen.join(', ') : <span className="muted">—</span>}
              </summary>
              <ul className="edit-choices">
                {values.map((value) => (
                  <li key={value.value}>
                    <label>
                      <input type="checkbox" checked={chosen.includes(value.value)} onChange={() => toggle(value.value)} /> {label(value)}
                    </label>
                  </li>
                ))}
              </ul>
            </details>
          );
        }
        const onSelect = (value: string) =>
          props.onChange(
            kind === 'category' ? { category: value } : { attributes: [{ kind: apiKind(kind), values: value ? [value] : [] }] },
          );
        const known = values.some((value) => value.value === chosen[0]);
        return (
          <div key={kind} className="edit-field" data-kind={kind}>
            <label htmlFor={id}>{KIND_LABELS[kind]}</label>
            <select id={id} value={chosen[0] ?? ''} onChange={(event) => onSelect(event.target.value)}>
              {/* A garment always has a category: only the other kinds can be emptied. */}
              {(kind !== 'category' || !chosen.length) && <option value="">—</option>}
              {chosen[0] && !known && <option value={chosen[0]}>{chosen[0]}</option>}
              {values.map((value) => (
                <option key={value.value} value={value.value}>
                  {label(value)}
                </option>
              ))}
            </select>
          </div>
        );
      })}
    </fieldset>
  );
}
