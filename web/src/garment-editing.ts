/**
 * The image page's editing state for an editor: the selected garment, the box being dragged or
 * nudged and not yet stored, drawing a new garment, the edits undo can revert, the keyboard
 * shortcuts (../box-editing.ts `shortcutOf`), and what the API answered (a conflict offers a
 * reload). Every write is followed by one reload of the image, so the page always shows what is
 * stored, revisions included.
 */
import { useEffect, useRef, useState } from 'react';
import { dragBox, EditableBox, sameBox, shortcutOf } from './box-editing';
import { DraftBox, NEW_BOX, OverlayEditing } from './components/GarmentOverlay';
import {
  acceptPrediction,
  addGarment,
  conflictRevision,
  deleteGarment,
  EditResult,
  GarmentChange,
  markImageReviewed,
  revertEdit,
  updateGarment,
} from './garment-edits';
import type { ImageDetail, ImageGarment } from './image-model';
import { nextInQueue, ReviewOptions, reviewImageHref, formatReviewOptions } from './review-api';
import { navigate } from './router';

/** Arrow-key nudges are stored once the keys rest this long, as one edit. */
const NUDGE_SETTLE_MS = 500;

export interface EditNotice {
  kind: 'conflict' | 'error';
  text: string;
}

export interface GarmentEditing {
  overlay: OverlayEditing;
  selectedGarment: ImageGarment | null;
  select: (garmentId: string | null) => void;
  busy: boolean;
  notice: EditNotice | null;
  /** A drawn box waiting for its category before it is added. */
  newBox: EditableBox | null;
  drawing: boolean;
  setDrawing: (drawing: boolean) => void;
  canUndo: boolean;
  update: (change: GarmentChange) => void;
  remove: () => void;
  accept: () => void;
  add: (category: string) => void;
  cancelAdd: () => void;
  undo: () => void;
  markReviewed: (reviewed: boolean) => void;
  reviewAndNext: () => void;
  reloadAfterConflict: () => void;
}

function isTyping(target: EventTarget | null): boolean {
  return target instanceof Element && target.closest('input, select, textarea, [contenteditable="true"]') !== null;
}

export function useGarmentEditing(options: {
  image: ImageDetail;
  /** The garments shown (annotations and the shown model version's predictions). */
  garments: ImageGarment[];
  initialSelection: string | null;
  reload: () => Promise<void>;
  review: ReviewOptions | null;
}): GarmentEditing {
  const { image, garments, reload, review } = options;
  const [selected, setSelected] = useState<string | null>(options.initialSelection);
  const [draft, setDraft] = useState<DraftBox | null>(null);
  const [drawing, setDrawing] = useState(false);
  const [newBox, setNewBox] = useState<EditableBox | null>(null);
  const [undoStack, setUndoStack] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<EditNotice | null>(null);
  const nudgeTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const garmentById = (id: string | null) => garments.find((garment) => garment.id === id) ?? null;
  const selectedGarment = garmentById(selected);
  const movable = (id: string) => garmentById(id)?.source === 'ANNOTATION';

  /** One write, then a reload; the draft box stays drawn until the stored one replaces it. */
  const run = async (write: () => Promise<EditResult | void>, afterwards?: (result: EditResult | void) => void) => {
    setBusy(true);
    setNotice(null);
    try {
      const result = await write();
      if (result?.editId) setUndoStack((stack) => [...stack, result.editId!]);
      if (result) setSelected(result.garmentId);
      await reload();
      afterwards?.(result);
    } catch (error) {
      const current = conflictRevision(error);
      setNotice(
        current !== null
          ? {
              kind: 'conflict',
              text: `Someone else changed this garment${current >= 0 ? ` (it is now at revision ${current})` : ''}; your change was not saved.`,
            }
          : { kind: 'error', text: (error as Error).message },
      );
    } finally {
      setDraft(null);
      setBusy(false);
    }
  };

  const storeBox = (change: DraftBox) => {
    const garment = garmentById(change.garmentId);
    if (!garment || sameBox(garment.box, change.box)) return setDraft(null);
    setDraft(change);
    void run(() => updateGarment(garment.id, garment.revision, { box: change.box }));
  };

  const update = (change: GarmentChange) => {
    if (selectedGarment) void run(() => updateGarment(selectedGarment.id, selectedGarment.revision, change));
  };
  const remove = () => {
    if (selectedGarment) void run(() => deleteGarment(selectedGarment.id, selectedGarment.revision));
  };
  const accept = () => {
    if (selectedGarment?.source === 'PREDICTION') void run(() => acceptPrediction(selectedGarment.id));
  };
  const add = (category: string) => {
    if (!newBox) return;
    const box = newBox;
    setNewBox(null);
    setDrawing(false);
    void run(() => addGarment(image.id, category, box));
  };
  const undo = () => {
    const editId = undoStack.at(-1);
    if (!editId) return;
    setUndoStack((stack) => stack.slice(0, -1));
    void run(async () => {
      await revertEdit(editId);
      return { garmentId: selected, editId: null };
    });
  };
  const markReviewed = (reviewed: boolean) => void run(() => markImageReviewed(image.id, reviewed));
  const goNext = async () => {
    if (!review) return;
    const next = await nextInQueue(review, image.id);
    if (next) navigate(reviewImageHref(next, review));
    else navigate(`/review${formatReviewOptions(review)}`);
  };
  const reviewAndNext = () =>
    void run(
      () => markImageReviewed(image.id, true),
      () => void goNext().catch((error: Error) => setNotice({ kind: 'error', text: error.message })),
    );

  const nudge = (dx: number, dy: number) => {
    if (!selectedGarment || !movable(selectedGarment.id)) return false;
    const from = draft?.garmentId === selectedGarment.id ? draft.box : selectedGarment.box;
    const moved = { garmentId: selectedGarment.id, box: dragBox(from, 'move', dx, dy, image) };
    setDraft(moved);
    clearTimeout(nudgeTimer.current);
    nudgeTimer.current = setTimeout(() => storeBox(moved), NUDGE_SETTLE_MS);
    return true;
  };

  /** Returns whether the key was used (then the browser's own action, e.g. scrolling, is prevented). */
  const onKey = (event: KeyboardEvent): boolean => {
    if (isTyping(event.target)) return false;
    const shortcut = shortcutOf(event);
    if (!shortcut || busy) return false;
    switch (shortcut.action) {
      case 'nudge':
        return nudge(shortcut.dx, shortcut.dy);
      case 'delete':
        if (!selectedGarment) return false;
        remove();
        return true;
      case 'deselect':
        setSelected(null);
        setDrawing(false);
        setNewBox(null);
        return true;
      case 'accept':
        if (selectedGarment?.source !== 'PREDICTION') return false;
        accept();
        return true;
      case 'markReviewed':
        markReviewed(!image.reviewedAt);
        return true;
      case 'next':
        if (!review) return false;
        void goNext().catch((error: Error) => setNotice({ kind: 'error', text: error.message }));
        return true;
      case 'undo':
        if (!undoStack.length) return false;
        undo();
        return true;
    }
  };
  // The listener is added once and always calls the newest handler (it closes over this render's state).
  const latestOnKey = useRef(onKey);
  latestOnKey.current = onKey;
  useEffect(() => {
    const listener = (event: KeyboardEvent) => {
      if (latestOnKey.current(event)) event.preventDefault();
    };
    window.addEventListener('keydown', listener);
    return () => {
      window.removeEventListener('keydown', listener);
      clearTimeout(nudgeTimer.current);
    };
  }, []);

  return {
    overlay: {
      selected,
      onSelect: setSelected,
      movable,
      draft: draft ?? (newBox && { garmentId: NEW_BOX, box: newBox }),
      onDraft: setDraft,
      onBoxChanged: storeBox,
      drawing,
      onDrawn: setNewBox,
    },
    selectedGarment,
    select: setSelected,
    busy,
    notice,
    newBox,
    drawing,
    setDrawing: (on) => {
      setDrawing(on);
      setNewBox(null);
      if (on) setSelected(null);
    },
    canUndo: undoStack.length > 0,
    update,
    remove,
    accept,
    add,
    cancelAdd: () => setNewBox(null),
    undo,
    markReviewed,
    reviewAndNext,
    reloadAfterConflict: () => {
      setNotice(null);
      void reload();
    },
  };
}
