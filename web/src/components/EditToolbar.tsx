/**
 * The image page's editing controls for an editor: add a garment by drawing its box, undo, mark
 * the image reviewed (and go on in the review queue), the selected garment's pickers or, for a
 * prediction, accept and reject; what the API refused, with a reload offered on a conflict.
 */
import { FormEvent, useEffect, useState } from 'react';
import { fetchVocabulary, VocabularyValue } from '../garment-edits';
import type { GarmentEditing } from '../garment-editing';
import type { ImageDetail } from '../image-model';
import { GarmentEditor } from './GarmentEditor';

export function EditToolbar({ image, editing, reviewing }: { image: ImageDetail; editing: GarmentEditing; reviewing: boolean }) {
  const garment = editing.selectedGarment;
  return (
    <section className="edit-toolbar" aria-label="Editing" data-testid="edit-toolbar" aria-busy={editing.busy}>
      {editing.notice && (
        <p className="note error" role="alert" data-testid="edit-notice">
          {editing.notice.text}{' '}
          {editing.notice.kind === 'conflict' && (
            <button type="button" onClick={editing.reloadAfterConflict}>
              Reload the garment
            </button>
          )}
        </p>
      )}
      <div className="edit-buttons">
        <button type="button" aria-pressed={editing.drawing} onClick={() => editing.setDrawing(!editing.drawing)} disabled={editing.busy}>
          {editing.drawing ? 'Drawing: drag over the photo' : 'Add garment'}
        </button>
        <button type="button" onClick={editing.undo} disabled={!editing.canUndo || editing.busy} title="Ctrl+Z">
          Undo
        </button>
        <button type="button" onClick={() => editing.markReviewed(!image.reviewedAt)} disabled={editing.busy} title="R">
          {image.reviewedAt ? 'Unmark reviewed' : 'Mark reviewed'}
        </button>
        {reviewing && (
          <button type="button" className="primary" onClick={editing.reviewAndNext} disabled={editing.busy}>
            Mark reviewed &amp; next
          </button>
        )}
      </div>
      {editing.newBox && <NewGarmentForm onAdd={editing.add} onCancel={editing.cancelAdd} />}
      {garment?.source === 'PREDICTION' && (
        <div className="edit-buttons" data-testid="prediction-actions">
          <button type="button" onClick={editing.accept} disabled={editing.busy} title="A">
            Accept prediction
          </button>
          <button type="button" onClick={editing.remove} disabled={editing.busy} title="Delete">
            Reject prediction
          </button>
        </div>
      )}
      {garment?.source === 'ANNOTATION' && (
        <>
          <GarmentEditor garment={garment} busy={editing.busy} onChange={editing.update} />
          <button type="button" onClick={editing.remove} disabled={editing.busy} title="Delete">
            Delete garment
          </button>
        </>
      )}
      <p className="muted small shortcuts">
        Click a garment to select it; drag its box or a corner. Keys: arrows nudge (Shift ×10), Delete deletes or rejects, A accepts a
        prediction, Esc deselects, Ctrl+Z undoes, R marks reviewed{reviewing ? ', N opens the next image in the queue' : ''}.
      </p>
    </section>
  );
}

function NewGarmentForm(props: { onAdd: (category: string) => void; onCancel: () => void }) {
  const [categories, setCategories] = useState<VocabularyValue[]>([]);
  const [category, setCategory] = useState('');
  useEffect(() => {
    let live = true;
    fetchVocabulary('CATEGORY').then(
      (values) => live && setCategories(values),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (category) props.onAdd(category);
  };
  return (
    <form className="inline-form" onSubmit={submit} data-testid="new-garment">
      <label htmlFor="new-garment-category">New garment's category</label>
      <select id="new-garment-category" value={category} onChange={(event) => setCategory(event.target.value)} required>
        <option value="">choose…</option>
        {categories.map((value) => (
          <option key={value.value} value={value.value}>
            {value.valueEn ? `${value.value} ${value.valueEn}` : value.value}
          </option>
        ))}
      </select>
      <button type="submit" disabled={!category}>
        Add
      </button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}
