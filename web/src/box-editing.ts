/**
 * The geometry of editing a garment box on the image page, in image pixels and free of the DOM so
 * it is tested without a browser: moving and resizing by a pointer's travel, drawing a new box,
 * nudging with the arrow keys, always kept inside the image and at least one pixel wide and high.
 */

export interface EditableBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface ImageSize {
  width: number;
  height: number;
}

/** What a pointer grabbed: the whole box, or one corner handle (n/s = top/bottom, w/e = left/right). */
export type Grip = 'move' | 'nw' | 'ne' | 'sw' | 'se';
export const CORNERS: readonly Exclude<Grip, 'move'>[] = ['nw', 'ne', 'sw', 'se'];

/** The API checks x2 > x1 and y2 > y1; a box never shrinks below this many pixels while dragged. */
export const MIN_BOX_SIZE = 1;

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/**
 * `box` after the pointer travelled (dx, dy) image pixels holding `grip`, in whole pixels of
 * travel (what a person aims at), so the edges it did not move stay exactly where they were. A
 * moved box keeps its size and stops at the image's edges; a dragged corner stops at the edge and
 * at the opposite corner (no flipping).
 */
export function dragBox(box: EditableBox, grip: Grip, dx: number, dy: number, image: ImageSize): EditableBox {
  const stepX = Math.round(dx);
  const stepY = Math.round(dy);
  if (grip === 'move') {
    const width = box.x2 - box.x1;
    const height = box.y2 - box.y1;
    const x1 = clamp(box.x1 + stepX, 0, image.width - width);
    const y1 = clamp(box.y1 + stepY, 0, image.height - height);
    return { x1, y1, x2: x1 + width, y2: y1 + height };
  }
  const next = { ...box };
  if (grip === 'nw' || grip === 'sw') next.x1 = clamp(box.x1 + stepX, 0, box.x2 - MIN_BOX_SIZE);
  else next.x2 = clamp(box.x2 + stepX, box.x1 + MIN_BOX_SIZE, image.width);
  if (grip === 'nw' || grip === 'ne') next.y1 = clamp(box.y1 + stepY, 0, box.y2 - MIN_BOX_SIZE);
  else next.y2 = clamp(box.y2 + stepY, box.y1 + MIN_BOX_SIZE, image.height);
  return next;
}

/** The box spanned by two points (in any order) clamped to the image; null when it has no area. */
export function boxFromPoints(a: { x: number; y: number }, b: { x: number; y: number }, image: ImageSize): EditableBox | null {
  const box = {
    x1: clamp(Math.round(Math.min(a.x, b.x)), 0, image.width),
    y1: clamp(Math.round(Math.min(a.y, b.y)), 0, image.height),
    x2: clamp(Math.round(Math.max(a.x, b.x)), 0, image.width),
    y2: clamp(Math.round(Math.max(a.y, b.y)), 0, image.height),
  };
  return box.x2 - box.x1 >= MIN_BOX_SIZE && box.y2 - box.y1 >= MIN_BOX_SIZE ? box : null;
}

export function sameBox(a: EditableBox, b: EditableBox): boolean {
  return a.x1 === b.x1 && a.y1 === b.y1 && a.x2 === b.x2 && a.y2 === b.y2;
}

/** What a key press on the image page asks for (see `shortcutOf`). */
export type Shortcut =
  | { action: 'nudge'; dx: number; dy: number }
  | { action: 'delete' }
  | { action: 'deselect' }
  | { action: 'accept' }
  | { action: 'markReviewed' }
  | { action: 'next' }
  | { action: 'undo' };

/** Arrow keys move the selected box this many image pixels, ten times as far with Shift. */
export const NUDGE_PX = 1;
export const NUDGE_SHIFT_PX = 10;

const ARROWS: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/**
 * The image page's keyboard shortcuts: Delete/Backspace delete (reject) the selected garment,
 * arrows nudge its box, Escape deselects or stops drawing, A accepts the selected prediction,
 * R marks the image reviewed, N opens the next image of the review queue, Ctrl/⌘+Z undoes.
 */
export function shortcutOf(key: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): Shortcut | null {
  const command = key.ctrlKey || key.metaKey;
  if (command && !key.altKey && !key.shiftKey && key.key.toLowerCase() === 'z') return { action: 'undo' };
  if (command || key.altKey) return null;
  const arrow = ARROWS[key.key];
  if (arrow) {
    const step = key.shiftKey ? NUDGE_SHIFT_PX : NUDGE_PX;
    return { action: 'nudge', dx: arrow[0] * step, dy: arrow[1] * step };
  }
  if (key.shiftKey) return null;
  switch (key.key) {
    case 'Delete':
    case 'Backspace':
      return { action: 'delete' };
    case 'Escape':
      return { action: 'deselect' };
    case 'a':
    case 'A':
      return { action: 'accept' };
    case 'r':
    case 'R':
      return { action: 'markReviewed' };
    case 'n':
    case 'N':
      return { action: 'next' };
    default:
      return null;
  }
}
