/**
 * The photo with every garment's polygon and box drawn in SVG over it, in the image's own pixel
 * coordinates (viewBox), so the drawing scales with the photo. Annotations are solid, predictions
 * dashed; the highlighted garment is drawn thicker and the others fade.
 */
import { ImageDetail } from '../image-model';

export const SLOT_COLORS: Record<string, string> = { TOP: '#d81b60', BOTTOM: '#2e7d32', OUTER: '#1e4fd8', ONE_PIECE: '#ef6c00' };

export function GarmentOverlay(props: { image: ImageDetail; highlighted: string | null; onHighlight: (garmentId: string | null) => void }) {
  const { image } = props;
  const stroke = Math.max(2, Math.min(image.width, image.height) / 200);
  return (
    <svg
      className="overlay"
      viewBox={`0 0 ${image.width} ${image.height}`}
      role="img"
      aria-label={`Photo ${image.externalId ?? image.id} with ${image.garments.length} garment outlines`}
      onMouseLeave={() => props.onHighlight(null)}
    >
      <image href={image.display} x={0} y={0} width={image.width} height={image.height} />
      {image.garments.map((garment) => {
        const color = SLOT_COLORS[garment.superCategory] ?? '#fdd835';
        const on = props.highlighted === garment.id;
        const faded = props.highlighted !== null && !on;
        const dash = garment.source === 'PREDICTION' ? `${stroke * 4} ${stroke * 2}` : undefined;
        return (
          <g
            key={garment.id}
            className={`garment${on ? ' highlighted' : ''}`}
            data-testid={garment.source === 'PREDICTION' ? 'prediction-box' : 'garment-box'}
            data-garment-id={garment.id}
            opacity={faded ? 0.35 : 1}
            onMouseEnter={() => props.onHighlight(garment.id)}
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
              x={garment.box.x1}
              y={garment.box.y1}
              width={garment.box.x2 - garment.box.x1}
              height={garment.box.y2 - garment.box.y1}
              fill={garment.polygon.length > 2 ? 'none' : color}
              fillOpacity={0.08}
              stroke={color}
              strokeWidth={on ? stroke * 2 : stroke}
              strokeDasharray={dash}
            />
          </g>
        );
      })}
    </svg>
  );
}
