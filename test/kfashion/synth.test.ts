import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative, sep } from 'path';
import sharp from 'sharp';
import { Command } from 'commander';
import { synthesize, SYNTH_COLORS, SYNTH_CATEGORIES } from '../../src/kfashion/synth';
import { parseAnnotation } from '../../src/kfashion/parse';
import { ParsedAnnotation, ParsedGarment, Point } from '../../src/kfashion/types';
import { registerSynth } from '../../src/cli/synth';

const SIZE = 160;
const temporary: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kfashion-synth-'));
  temporary.push(dir);
  return dir;
}

afterAll(() => temporary.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function listFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath ?? (entry as any).path, entry.name)))
    .sort();
}

function readAnnotations(root: string): { path: string; raw: Buffer; annotation: ParsedAnnotation }[] {
  return listFiles(root)
    .filter((path) => path.endsWith('.json'))
    .map((path) => {
      const raw = readFileSync(join(root, path));
      const result = parseAnnotation(raw, path);
      expect(result.problems).toEqual([]);
      if (!result.ok) throw new Error(`${path} rejected`);
      return { path, raw, annotation: result.annotation };
    });
}

/** Even-odd ray casting, written independently of the generator's scanline fill. */
function insidePolygon(polygon: Point[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i];
    const b = polygon[j];
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

describe('synthesize', () => {
  let first: string;
  beforeAll(async () => {
    first = tempDir();
    const summary = await synthesize({ outDir: first, images: 12, seed: 11, width: SIZE, height: SIZE, validationFraction: 0.3 });
    expect(summary.files).toBe(12);
    expect(summary.imagesWritten).toBe(12);
    expect(summary.garments).toBeGreaterThanOrEqual(12);
  });

  it('writes the same bytes for the same seed and different bytes for another seed', async () => {
    const again = tempDir();
    await synthesize({ outDir: again, images: 12, seed: 11, width: SIZE, height: SIZE, validationFraction: 0.3 });
    const files = listFiles(first);
    expect(listFiles(again)).toEqual(files);
    expect(files.filter((file) => file.endsWith('.jpg'))).toHaveLength(12);
    for (const file of files) expect(readFileSync(join(again, file)).equals(readFileSync(join(first, file)))).toBe(true);

    const other = tempDir();
    await synthesize({ outDir: other, images: 2, seed: 12, width: SIZE, height: SIZE, validationFraction: 0 });
    const json = (root: string) => readAnnotations(root).find((item) => item.annotation.externalId === '1000001')!;
    const jpeg = (root: string) =>
      readFileSync(
        join(
          root,
          listFiles(root).find((file) => file.endsWith(`${sep}1000001.jpg`))!,
        ),
      );
    expect(json(other).raw.equals(json(first).raw)).toBe(false);
    expect(jpeg(other).equals(jpeg(first))).toBe(false);
  });

  it('lays files out like K-Fashion and writes annotations that parse with no problems', () => {
    const annotations = readAnnotations(first);
    expect(annotations).toHaveLength(12);
    expect(new Set(annotations.map((item) => item.annotation.externalId)).size).toBe(12);
    for (const { path, raw, annotation } of annotations) {
      const [split, labelDir, styleDir, name] = path.split(sep);
      expect(['Training', 'Validation']).toContain(split);
      expect(labelDir).toBe('라벨링데이터');
      expect(styleDir).toBe(annotation.styles[0]?.style ?? '기타');
      expect(name).toBe(`${annotation.externalId}.json`);
      expect(listFiles(first)).toContain(join(split, '원천데이터', styleDir, `${annotation.externalId}.jpg`));

      const json = JSON.parse(raw.toString('utf-8').replace(/^\ufeff/, ''));
      const details = json['데이터셋 정보']['데이터셋 상세설명'];
      for (const section of ['렉트좌표', '폴리곤좌표', '라벨링']) {
        expect(
          Object.keys(details[section])
            .filter((key) => key !== '스타일')
            .sort(),
        ).toEqual(['상의', '아우터', '원피스', '하의']);
      }
      expect(annotation.garments.length).toBeGreaterThanOrEqual(1);
      expect(annotation.garments.length).toBeLessThanOrEqual(3);
      expect(new Set(annotation.garments.map((garment) => garment.superCategory)).size).toBe(annotation.garments.length);
      for (const garment of annotation.garments) {
        const categories = SYNTH_CATEGORIES[garment.superCategory].map((entry) => entry.category);
        expect(categories).toContain(garment.category);
        // the polygon is the outline of the shape and the box its bounding box
        const xs = garment.polygon.map((point) => point.x);
        const ys = garment.polygon.map((point) => point.y);
        expect(Math.min(...xs)).toBeCloseTo(garment.box.x1, 3);
        expect(Math.max(...xs)).toBeCloseTo(garment.box.x2, 3);
        expect(Math.min(...ys)).toBeCloseTo(garment.box.y1, 3);
        expect(Math.max(...ys)).toBeCloseTo(garment.box.y2, 3);
      }
    }
    expect(annotations.some((item) => item.path.startsWith('Validation'))).toBe(true);
  });

  it('draws each garment in its labelled colour with its labelled print', async () => {
    let checked = 0;
    for (const { path, annotation } of readAnnotations(first)) {
      const [split, , styleDir] = path.split(sep);
      const { data, info } = await sharp(join(first, split, '원천데이터', styleDir, `${annotation.externalId}.jpg`))
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([annotation.width, annotation.height, 3]);
      for (const garment of annotation.garments) {
        const { matching, total } = centrePixels(garment, data, info.width);
        expect(total).toBeGreaterThanOrEqual(20);
        const share = matching / total;
        const prints = garment.attributes.filter((attribute) => attribute.kind === 'print').map((attribute) => attribute.value);
        if (prints.length === 1 && prints[0] === '무지') {
          expect(share).toBeGreaterThan(0.95);
        } else {
          // the cloth colour dominates and the pattern is visible
          expect(share).toBeGreaterThan(0.45);
          expect(share).toBeLessThan(0.95);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('writes 300 JSON-only annotations with realistic, skewed label distributions', async () => {
    const dir = tempDir();
    const summary = await synthesize({ outDir: dir, images: 300, seed: 5, withImages: false });
    expect(summary).toMatchObject({ files: 300, imagesWritten: 0 });
    expect(listFiles(dir).some((file) => file.endsWith('.jpg'))).toBe(false);
    const annotations = readAnnotations(dir);
    expect(annotations).toHaveLength(300);
    const validation = annotations.filter((item) => item.path.startsWith('Validation')).length;
    expect(validation).toBeGreaterThan(10);
    expect(validation).toBeLessThan(60);
    const renamed = annotations.filter((item) => item.annotation.fileName !== `${item.annotation.externalId}.jpg`).length;
    expect(renamed).toBeGreaterThan(50);
    expect(renamed).toBeLessThan(140);
    expect(annotations.some((item) => item.raw[0] === 0xef)).toBe(true); // some files start with a BOM
    expect(annotations.some((item) => item.annotation.styles.length === 0)).toBe(true);
    expect(annotations.some((item) => item.annotation.styles[0]?.subStyle)).toBe(true);

    const garments = annotations.flatMap((item) => item.annotation.garments);
    const counts = new Map<string, number>();
    for (const garment of garments) {
      const color = valueOf(garment, 'color');
      counts.set(color, (counts.get(color) ?? 0) + 1);
    }
    expect([...counts.keys()].every((color) => color in SYNTH_COLORS)).toBe(true);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted[0]).toBeGreaterThan(3 * sorted[sorted.length - 1]);
    expect(garments.some((garment) => garment.attributes.filter((attribute) => attribute.kind === 'material').length === 2)).toBe(true);
    expect(garments.some((garment) => garment.attributes.some((attribute) => attribute.kind === 'collar'))).toBe(true);
  });
});

describe('kfashion synth', () => {
  function program(): Command {
    const root = new Command('kfashion').exitOverride().configureOutput({ writeErr: () => undefined });
    registerSynth(root);
    return root;
  }

  it('writes JSON only with --no-images and prints a one-line summary', async () => {
    const dir = tempDir();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await program().parseAsync(['node', 'kfashion', 'synth', dir, '--images', '4', '--no-images', '--seed', '2', '--size', '64x48']);
      expect(log).toHaveBeenCalledTimes(1);
      expect(log.mock.calls[0][0]).toMatch(/^wrote 4 annotations with \d+ garments and 0 JPEGs \(64x48, seed 2\)/);
    } finally {
      log.mockRestore();
    }
    const annotations = readAnnotations(dir);
    expect(annotations.map((item) => [item.annotation.width, item.annotation.height])).toEqual(Array(4).fill([64, 48]));
  });

  it('requires --images, naming the option', async () => {
    await expect(program().parseAsync(['node', 'kfashion', 'synth', tempDir(), '--no-images'])).rejects.toThrow(/--images <count>/);
  });

  it('rejects a malformed --size, naming the option', async () => {
    await expect(program().parseAsync(['node', 'kfashion', 'synth', tempDir(), '--images', '1', '--size', '64by48'])).rejects.toThrow(
      /--size/,
    );
  });
});

function valueOf(garment: ParsedGarment, kind: string): string {
  return garment.attributes.find((attribute) => attribute.kind === kind)!.value;
}

/**
 * Pixels of the middle 30% of the garment's box that lie well inside its outline (2 px from the
 * edge, beyond JPEG ringing), and how many are within JPEG tolerance of the labelled colour.
 */
function centrePixels(garment: ParsedGarment, data: Buffer, width: number): { matching: number; total: number } {
  const [r, g, b] = SYNTH_COLORS[valueOf(garment, 'color')];
  const { x1, y1, x2, y2 } = garment.box;
  const inset = (low: number, high: number) => [Math.ceil(low + (high - low) * 0.35), Math.floor(low + (high - low) * 0.65)];
  const [left, right] = inset(x1, x2);
  const [top, bottom] = inset(y1, y2);
  let matching = 0;
  let total = 0;
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      const deep = [
        [0, 0],
        [2, 0],
        [-2, 0],
        [0, 2],
        [0, -2],
      ].every(([dx, dy]) => insidePolygon(garment.polygon, x + 0.5 + dx, y + 0.5 + dy));
      if (!deep) continue;
      total++;
      const offset = (y * width + x) * 3;
      const distance = Math.hypot(data[offset] - r, data[offset + 1] - g, data[offset + 2] - b);
      if (distance < 40) matching++;
    }
  }
  return { matching, total };
}
