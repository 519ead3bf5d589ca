/**
 * Drawing for synthetic K-Fashion images: an RGB raster filled pixel by pixel (no SVG, no fonts),
 * encoded to JPEG by sharp. Each garment is one filled polygon whose shape stands for its
 * category, whose fill is its colour (색상) and whose pattern is its print (프린트), so a
 * detector trained on these pictures can learn exactly what the labels say.
 */
import { Point } from './types';
import { Random } from './synth-random';

export type Rgb = readonly [number, number, number];

/** Shapes in the unit square; each touches all four sides, so its bounding box is the garment box. */
export type ShapeName =
  'rectangle' | 'tShape' | 'invertedTrapezoid' | 'ellipse' | 'legs' | 'chamferedRectangle' | 'trapezoid' | 'triangle' | 'diamond';

const ELLIPSE_POINTS = 24; // a multiple of 4, so the outline touches the box at top, bottom, left and right

const UNIT_SHAPES: Readonly<Record<ShapeName, readonly Point[]>> = {
  rectangle: unit([0, 0], [1, 0], [1, 1], [0, 1]),
  // body with sleeves: a t-shirt
  tShape: unit([0, 0], [1, 0], [1, 0.35], [0.78, 0.35], [0.78, 1], [0.22, 1], [0.22, 0.35], [0, 0.35]),
  invertedTrapezoid: unit([0, 0], [1, 0], [0.8, 1], [0.2, 1]),
  ellipse: Array.from({ length: ELLIPSE_POINTS }, (_, k) => {
    const angle = (2 * Math.PI * k) / ELLIPSE_POINTS;
    return { x: 0.5 + 0.5 * Math.cos(angle), y: 0.5 + 0.5 * Math.sin(angle) };
  }),
  // two legs joined at the waist; the crotch stays below the centre so the centre is cloth
  legs: unit([0, 0], [1, 0], [1, 1], [0.6, 1], [0.5, 0.6], [0.4, 1], [0, 1]),
  chamferedRectangle: unit([0.2, 0], [0.8, 0], [1, 0.2], [1, 1], [0, 1], [0, 0.2]),
  trapezoid: unit([0.3, 0], [0.7, 0], [1, 1], [0, 1]),
  triangle: unit([0.5, 0], [1, 1], [0, 1]),
  diamond: unit([0.5, 0], [1, 0.5], [0.5, 1], [0, 0.5]),
};

function unit(...points: [number, number][]): Point[] {
  return points.map(([x, y]) => ({ x, y }));
}

/** The outline of `shape` scaled into the box [x1, x1+width] x [y1, y1+height], rounded like the real files. */
export function shapeOutline(shape: ShapeName, x1: number, y1: number, width: number, height: number): Point[] {
  return UNIT_SHAPES[shape].map((point) => ({ x: round3(x1 + point.x * width), y: round3(y1 + point.y * height) }));
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The print patterns drawn; 무지 (solid) draws nothing over the fill. */
export type PrintPattern = '무지' | '스트라이프' | '도트' | '체크';

export interface GarmentDrawing {
  outline: Point[];
  /** Top-left of the box: patterns are anchored there so they move with the garment. */
  origin: Point;
  color: Rgb;
  prints: PrintPattern[];
}

export class Canvas {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 3);
  }

  /** A light, cool grey with slow waves and grain: texture to ignore, never mistaken for cloth. */
  fillBackground(random: Random): void {
    const phase = random.uniform(0, 2 * Math.PI);
    const tint = [random.int(-8, 8), random.int(-8, 8), random.int(-8, 8)];
    // the wave is separable: one sine per column and one cosine per row, not two per pixel
    const columnWave = Float64Array.from({ length: this.width }, (_, x) => 14 * Math.sin(x / 17 + phase));
    const rowWave = Float64Array.from({ length: this.height }, (_, y) => Math.cos(y / 23 - phase));
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        const wave = columnWave[x] * rowWave[y];
        const grain = random.uniform(-6, 6);
        const offset = (y * this.width + x) * 3;
        this.pixels[offset] = clampByte(180 + tint[0] + wave + grain);
        this.pixels[offset + 1] = clampByte(186 + tint[1] + wave + grain);
        this.pixels[offset + 2] = clampByte(192 + tint[2] + wave + grain);
      }
    }
  }

  /** Fill the garment's outline (even-odd rule, pixel centres) with its colour and print. */
  drawGarment(garment: GarmentDrawing): void {
    const paint = painter(garment, Math.min(this.width, this.height));
    forEachPixelInPolygon(garment.outline, this.width, this.height, (x, y) => {
      const [r, g, b] = paint(x, y);
      const offset = (y * this.width + x) * 3;
      this.pixels[offset] = r;
      this.pixels[offset + 1] = g;
      this.pixels[offset + 2] = b;
    });
  }
}

/** Scanline fill: calls `visit` for every pixel whose centre lies inside the polygon. */
export function forEachPixelInPolygon(
  polygon: readonly Point[],
  width: number,
  height: number,
  visit: (x: number, y: number) => void,
): void {
  const top = Math.max(0, Math.floor(Math.min(...polygon.map((point) => point.y))));
  const bottom = Math.min(height - 1, Math.ceil(Math.max(...polygon.map((point) => point.y))));
  for (let y = top; y <= bottom; y++) {
    const centreY = y + 0.5;
    const crossings: number[] = [];
    for (let i = 0; i < polygon.length; i++) {
      const a = polygon[i];
      const b = polygon[(i + 1) % polygon.length];
      // half-open rule so a vertex on the scanline is counted once
      if (a.y <= centreY !== b.y <= centreY) crossings.push(a.x + ((centreY - a.y) / (b.y - a.y)) * (b.x - a.x));
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const first = Math.max(0, Math.ceil(crossings[k] - 0.5));
      const last = Math.min(width - 1, Math.ceil(crossings[k + 1] - 0.5) - 1);
      for (let x = first; x <= last; x++) visit(x, y);
    }
  }
}

/**
 * Pattern geometry scales with the picture so it survives the ML's small images; each pattern
 * covers well under half the cloth, so the fill colour always dominates.
 */
function painter(garment: GarmentDrawing, imageSize: number): (x: number, y: number) => Rgb {
  const period = Math.max(6, Math.round(imageSize / 32));
  const line = Math.max(2, Math.round(period * 0.3));
  const dotRadius = Math.max(1.5, period * 0.22);
  const contrast = contrastColor(garment.color);
  const tests = garment.prints.map((print) => patternTest(print, period, line, dotRadius));
  return (x, y) => {
    const u = x - Math.floor(garment.origin.x);
    const v = y - Math.floor(garment.origin.y);
    return tests.some((test) => test(u, v)) ? contrast : garment.color;
  };
}

function patternTest(print: PrintPattern, period: number, line: number, dotRadius: number): (u: number, v: number) => boolean {
  switch (print) {
    case '스트라이프':
      return (_u, v) => mod(v, period) < line;
    case '체크':
      return (u, v) => mod(u, period * 2) < line || mod(v, period * 2) < line;
    case '도트':
      return (u, v) => {
        const du = mod(u, period) + 0.5 - period / 2;
        const dv = mod(v, period) + 0.5 - period / 2;
        return du * du + dv * dv <= dotRadius * dotRadius;
      };
    case '무지':
      return () => false;
  }
}

/** Dark patterns on light cloth, light patterns on dark cloth. */
function contrastColor([r, g, b]: Rgb): Rgb {
  const luminance = 0.299 * r + 0.587 * g + 0.114 * b;
  if (luminance > 128) return [Math.round(r * 0.35), Math.round(g * 0.35), Math.round(b * 0.35)];
  return [Math.round(r + (255 - r) * 0.7), Math.round(g + (255 - g) * 0.7), Math.round(b + (255 - b) * 0.7)];
}

function mod(value: number, period: number): number {
  return ((value % period) + period) % period;
}

function clampByte(value: number): number {
  return Math.max(0, Math.min(255, Math.round(value)));
}
