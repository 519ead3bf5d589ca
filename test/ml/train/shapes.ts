/**
 * Drawn-shape images for the learning test: 1–2 filled rectangles / ellipses / triangles in one of
 * four colours, optionally striped, on a light background (the same kind of picture
 * tools/reference/heads_reference.py trains its fixture model on).
 */
import type { GarmentTarget, TrainingSample } from '../../../src/ml/model/attribute-rcnn';
import type { ModelConfig } from '../../../src/ml/model/config';
import { seededRandom } from '../../../src/util/random';

export const SHAPE_CLASSES = ['__background__', 'rectangle', 'ellipse', 'triangle'];
export const COLOUR_NAMES = ['red', 'green', 'blue', 'yellow'];
const COLOURS: [number, number, number][] = [
  [220, 40, 40],
  [40, 180, 60],
  [40, 70, 220],
  [230, 210, 40],
];

export function shapesConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backbone: 'resnet18',
    class_names: SHAPE_CLASSES,
    attributes: [
      { kind: 'color', type: 'single', values: COLOUR_NAMES },
      { kind: 'pattern', type: 'multi', values: ['stripes'] },
    ],
    min_size: 160,
    max_size: 160,
    representation_size: 64,
    fpn_out_channels: 64,
    trainable_backbone_layers: 0,
    rpn_pre_nms_top_n_train: 600,
    rpn_post_nms_top_n_train: 200,
    rpn_pre_nms_top_n_test: 300,
    rpn_post_nms_top_n_test: 100,
    box_batch_size_per_image: 64,
    box_detections_per_img: 20,
    ...overrides,
  };
}

function inside(label: number, x: number, y: number, box: number[]): boolean {
  const [x1, y1, x2, y2] = box;
  const w = x2 - x1;
  const h = y2 - y1;
  if (x < x1 || x >= x2 || y < y1 || y >= y2) return false;
  if (label === 1) return true;
  if (label === 2) return ((x + 0.5 - x1 - w / 2) / (w / 2)) ** 2 + ((y + 0.5 - y1 - h / 2) / (h / 2)) ** 2 <= 1;
  return Math.abs(x + 0.5 - x1 - w / 2) <= (((y + 0.5 - y1) / h) * w) / 2;
}

/** `count` images of `size`² pixels, seeded; shapes in one image do not overlap. */
export function drawShapes(count: number, seed: number, size = 160): TrainingSample[] {
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));
  return Array.from({ length: count }, (_, index) => {
    const data = new Uint8Array(size * size * 3).fill(235);
    const garments: GarmentTarget[] = [];
    const shapes = 1 + (index % 2);
    for (let s = 0; s < shapes; s++) {
      // Two shapes split the image in halves so that they never overlap.
      const half = shapes === 2 ? size / 2 : size;
      const w = int(40, Math.min(90, half - 4));
      const h = int(40, 90);
      const x1 = (shapes === 2 ? s * half : 0) + int(0, half - w);
      const y1 = int(0, size - h);
      const box: [number, number, number, number] = [x1, y1, x1 + w, y1 + h];
      const label = 1 + ((index + s) % 3);
      const colour = (index * 2 + s) % 4;
      const striped = random() < 0.5;
      for (let y = y1; y < y1 + h; y++) {
        for (let x = x1; x < x1 + w; x++) {
          if (!inside(label, x, y, box)) continue;
          const dark = striped && Math.floor(y / 4) % 2 === 0;
          COLOURS[colour].forEach((c, k) => (data[(y * size + x) * 3 + k] = dark ? Math.floor(c * 0.5) : c));
        }
      }
      garments.push({ box, label, attributes: { color: colour, pattern: striped ? [0] : [] } });
    }
    return { image: { data, width: size, height: size }, garments };
  });
}

export function boxIou(a: number[], b: number[]): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

export type ShapesConfig = ModelConfig;
