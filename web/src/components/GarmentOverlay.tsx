/**
 * The photo with every garment's polygon and box drawn in SVG over it, in the image's own pixel
 * coordinates (viewBox), so the drawing scales with the photo. Annotations are solid, predictions
 * dashed; the highlighted garment is drawn thicker and the others fade.
 *
 * With `editing`, the selected garment's box can be dragged (move) or resized by its corner
 * handles, and in drawing mode a new box is drawn by dragging over the photo. Pointer positions
 * are turned into image pixels by the SVG's own screen transform, so the page's zoom and the
 * photo's displayed size do not matter; the geometry is ../box-editing.ts.
 */
import { PointerEvent, useRef } from 'react';
import { boxFromPoints, CORNERS, dragBox, EditableBox, Grip } from '../box-editing';
import { ImageDetail } from '../image-model';

export const SLOT_COLORS: Record<string, string> = { TOP: '#d81b60', BOTTOM: '#2e7d32', OUTER: '#1e4fd8', ONE_PIECE: '#ef6c00' };

/** The draft's garment id while a new box is drawn (no garment has it: real ids are global ids). */
export const NEW_BOX = 'new';

type OverlayGarment = ImageDetail['garments'][number];

/**
 * Larger boxes first, so a garment inside another (a top under an open coat) stays on top and can
 * be clicked; the selected garment last, so its handles are never covered.
 */
function drawingOrder(garments: OverlayGarment[], selected: string | null): OverlayGarment[] {
  const area = (garment: OverlayGarment) => (garment.box.x2 - garment.box.x1) * (garment.box.y2 - garment.box.y1);
  return [...garments].sort((a, b) => Number(a.id === selected) - Number(b.id === selected) || area(b) - area(a));
}

/** A box being changed on screen and not yet stored: drawn instead of the garment's stored box. */
export interface DraftBox {
  garmentId: string;
  box: EditableBox;
}

export interface OverlayEditing {
  selected: string | null;
  onSelect: (garmentId: string | null) => void;
  /** Whether this garment's box may be dragged (the page allows annotations only). */
  movable: (garmentId: string) => boolean;
  draft: DraftBox | null;
  onDraft: (draft: DraftBox | null) => void;
  /** The pointer let go of a box it changed. */
  onBoxChanged: (draft: DraftBox) => void;
  drawing: boolean;
  onDrawn: (box: EditableBox) => void;
}

type Gesture =
  | { kind: 'drag'; garmentId: string; grip: Grip; start: { x: number; y: number }; box: EditableBox; moved: boolean }
  | { kind: 'draw'; start: { x: number; y: number } };

export function GarmentOverlay(props: {
  image: ImageDetail;
  highlighted: string | null;
  onHighlight: (garmentId: string | null) => void;
  editing?: OverlayEditing;
}) {
  const { image, editing } = props;
  const svg = useRef<SVGSVGElement>(null);
  const gesture = useRef<Gesture | null>(null);
  const drawn = editing?.draft?.garmentId === NEW_BOX ? editing.draft.box : null;
  const stroke = Math.max(2, Math.min(image.width, image.height) / 200);
  const size = { width: image.width, height: image.height };

  /** The pointer's position in image pixels. */
  const imagePoint = (event: PointerEvent): { x: number; y: number } => {
    const matrix = svg.current!.getScreenCTM()!.inverse();
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix);
    return { x: point.x, y: point.y };
  };

  const startDrag = (event: PointerEvent, garmentId: string, grip: Grip, box: EditableBox) => {
    if (!editing || event.button !== 0) return;
    event.stopPropagation();
    editing.onSelect(garmentId);
    if (!editing.movable(garmentId)) return;
    event.preventDefault();
    svg.current!.setPointerCapture(event.pointerId);
    gesture.current = { kind: 'drag', garmentId, grip, start: imagePoint(event), box, moved: false };
  };

  const pointerDown = (event: PointerEvent<SVGSVGElement>) => {
    if (!editing || event.button !== 0) return;
    if (!editing.drawing) {
      editing.onSelect(null);
      return;
    }
    event.preventDefault();
    svg.current!.setPointerCapture(event.pointerId);
    gesture.current = { kind: 'draw', start: imagePoint(event) };
  };

  const pointerMove = (event: PointerEvent<SVGSVGElement>) => {
    const current = gesture.current;
    if (!current || !editing) return;
    const point = imagePoint(event);
    if (current.kind === 'draw') {
      const box = boxFromPoints(current.start, point, size);
      editing.onDraft(box && { garmentId: NEW_BOX, box });
      return;
    }
    current.moved = true;
    editing.onDraft({
      garmentId: current.garmentId,
      box: dragBox(current.box, current.grip, point.x - current.start.x, point.y - current.start.y, size),
    });
  };

  const pointerUp = (event: PointerEvent<SVGSVGElement>) => {
    const current = gesture.current;
    gesture.current = null;
    if (!current || !editing) return;
    if (svg.current!.hasPointerCapture(event.pointerId)) svg.current!.releasePointerCapture(event.pointerId);
    const point = imagePoint(event);
    if (current.kind === 'draw') {
      const box = boxFromPoints(current.start, point, size);
      editing.onDraft(null);
      if (box) editing.onDrawn(box);
      return;
    }
    if (!current.moved) return;
    const box = dragBox(current.box, current.grip, point.x - current.start.x, point.y - current.start.y, size);
    editing.onBoxChanged({ garmentId: current.garmentId, box });
  };

  return (
    <svg
      ref={svg}
      className={`overlay${editing?.drawing ? ' drawing' : ''}`}
      viewBox={`0 0 ${image.width} ${image.height}`}
      role="img"
      aria-label={`Photo ${image.externalId ?? image.id} with ${image.garments.length} garment outlines`}
      data-testid="overlay"
      onMouseLeave={() => props.onHighlight(null)}
      onPointerDown={pointerDown}
      onPointerMove={pointerMove}
      onPointerUp={pointerUp}
      onPointerCancel={() => {
        gesture.current = null;
        editing?.onDraft(null);
      }}
    >
      <image href={image.display} x={0} y={0} width={image.width} height={image.height} />
      {drawingOrder(image.garments, editing?.selected ?? null).map((garment) => {
        const color = SLOT_COLORS[garment.superCategory] ?? '#fdd835';
        const selected = editing?.selected === garment.id;
        const on = props.highlighted === garment.id || selected;
        const faded = (props.highlighted !== null || (editing?.selected ?? null) !== null) && !on;
        const dash = garment.source === 'PREDICTION' ? `${stroke * 4} ${stroke * 2}` : undefined;
        const box = editing?.draft?.garmentId === garment.id ? editing.draft.box : garment.box;
        const handles = selected && editing.movable(garment.id);
        const handleSize = stroke * 5;
        return (
          <g
            key={garment.id}
            className={`garment${on ? ' highlighted' : ''}${selected ? ' selected' : ''}`}
            data-testid={garment.source === 'PREDICTION' ? 'prediction-box' : 'garment-box'}
            data-garment-id={garment.id}
            opacity={faded ? 0.35 : 1}
            onMouseEnter={() => props.onHighlight(garment.id)}
            onPointerDown={editing && !editing.drawing ? (event) => startDrag(event, garment.id, 'move', box) : undefined}
          >
            {garment.polygon.length > 2 && (
              <polygon
                points={garment.polygon.map((point) => `${point.x},${point.y}`).join(' ')}
                fill={color}
                fillOpacity={on ? 0.3 : 0.12}
                stroke={color}
                strokeWidth={stroke / 2}
                strokeDasharray={dash}
              />
            )}
            <rect
              x={box.x1}
              y={box.y1}
              width={box.x2 - box.x1}
              height={box.y2 - box.y1}
              fill={garment.polygon.length > 2 ? 'none' : color}
              fillOpacity={0.08}
              pointerEvents={editing ? 'all' : undefined}
              stroke={color}
              strokeWidth={on ? stroke * 2 : stroke}
              strokeDasharray={dash}
            />
            {handles &&
              CORNERS.map((corner) => (
                <rect
                  key={corner}
                  className={`handle handle-${corner}`}
                  data-testid="box-handle"
                  data-grip={corner}
                  x={(corner.endsWith('w') ? box.x1 : box.x2) - handleSize / 2}
                  y={(corner.startsWith('n') ? box.y1 : box.y2) - handleSize / 2}
                  width={handleSize}
                  height={handleSize}
                  fill="#fff"
                  stroke={color}
                  strokeWidth={stroke / 2}
                  onPointerDown={(event) => startDrag(event, garment.id, corner, box)}
                />
              ))}
          </g>
        );
      })}
      {drawn && (
        <rect
          data-testid="drawn-box"
          x={drawn.x1}
          y={drawn.y1}
          width={drawn.x2 - drawn.x1}
          height={drawn.y2 - drawn.y1}
          fill="#fdd835"
          fillOpacity={0.15}
          stroke="#fdd835"
          strokeWidth={stroke}
        />
      )}
    </svg>
  );
}
