/** A small SVG line chart of one series over training steps (no chart library needed). */
export function LineChart(props: { title: string; points: { step: number; value: number }[]; width?: number; height?: number }) {
  const width = props.width ?? 320;
  const height = props.height ?? 140;
  const pad = { left: 44, right: 8, top: 8, bottom: 22 };
  const steps = props.points.map((point) => point.step);
  const values = props.points.map((point) => point.value);
  const [x0, x1] = [Math.min(...steps), Math.max(...steps)];
  const [y0, y1] = [Math.min(...values), Math.max(...values)];
  const x = (step: number) => pad.left + ((step - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const y = (value: number) => height - pad.bottom - ((value - y0) / (y1 - y0 || 1)) * (height - pad.top - pad.bottom);
  const last = props.points[props.points.length - 1];
  return (
    <figure className="chart" data-testid="metric-chart" data-metric={props.title}>
      <figcaption>
        {props.title} <span className="muted small">last {last ? formatNumber(last.value) : '—'}</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${props.title} over ${props.points.length} steps`}>
        <line x1={pad.left} y1={height - pad.bottom} x2={width - pad.right} y2={height - pad.bottom} className="axis" />
        <line x1={pad.left} y1={pad.top} x2={pad.left} y2={height - pad.bottom} className="axis" />
        <text x={pad.left - 4} y={pad.top + 8} textAnchor="end" className="tick">
          {formatNumber(y1)}
        </text>
        <text x={pad.left - 4} y={height - pad.bottom} textAnchor="end" className="tick">
          {formatNumber(y0)}
        </text>
        <text x={pad.left} y={height - 6} className="tick">
          {x0}
        </text>
        <text x={width - pad.right} y={height - 6} textAnchor="end" className="tick">
          step {x1}
        </text>
        {props.points.length > 1 ? (
          <polyline points={props.points.map((point) => `${x(point.step)},${y(point.value)}`).join(' ')} className="line" />
        ) : (
          last && <circle cx={x(last.step)} cy={y(last.value)} r={3} className="dot" />
        )}
      </svg>
    </figure>
  );
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en');
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toPrecision(3);
}
