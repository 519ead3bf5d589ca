/**
 * `kfashion predict <image…> --weights W --config C --json` with the small trained
 * fixture model, on a real K-Fashion sample JPEG and on a lossless PNG of a drawn-shapes image.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runCli } from './run-cli';
import { fixtureImages, trainedFixture, writeTrainedModel } from './model/heads-trained';
import { samplePath } from '../support/samples';
import { createPostgresTestDatabase } from '../support/database';

const SAMPLE = samplePath('1070263.jpg');

describe('kfashion predict', () => {
  let dir: string;
  let files: { weights: string; config: string };
  let png: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kfashion-predict-'));
    files = writeTrainedModel(dir);
    const image = fixtureImages()[0];
    png = path.join(dir, 'shapes.png');
    await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
      .png()
      .toFile(png);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('--json prints one element per image with the documented field names, sorted probabilities', async () => {
    const out = await runCli(['predict', SAMPLE, png, '--weights', files.weights, '--config', files.config, '--json', '--backend', 'wasm']);
    const result = JSON.parse(out);
    expect(Array.isArray(result)).toBe(true);
    expect(result).toHaveLength(2);
    const meta = await sharp(SAMPLE).metadata();
    expect(result[0]).toMatchObject({ image: SAMPLE, width: meta.width, height: meta.height });
    expect(result[1]).toMatchObject({ image: png, width: 160, height: 160 });

    const classNames = trainedFixture.config.class_names as string[];
    const specs = trainedFixture.config.attributes as { kind: string; type: string; values: string[] }[];
    for (const entry of result) {
      expect(Object.keys(entry).sort()).toEqual(['detections', 'height', 'image', 'width']);
      for (const d of entry.detections) {
        expect(Object.keys(d).sort()).toEqual(['attributes', 'box', 'className', 'embedding', 'label', 'score']);
        // The box head's 64 components as int8 in base64, with the scale back to the L2-normed vector.
        expect(Buffer.from(d.embedding.vector, 'base64')).toHaveLength(trainedFixture.config.representation_size as number);
        expect(d.embedding.scale).toBeGreaterThan(0);
        const [x1, y1, x2, y2] = d.box;
        expect(0 <= x1 && x1 <= x2 && x2 <= entry.width && 0 <= y1 && y1 <= y2 && y2 <= entry.height).toBe(true);
        expect(d.className).toBe(classNames[d.label]);
        expect(d.score).toBeGreaterThan(0.05);
        expect(d.score).toBeLessThanOrEqual(1);
        for (const spec of specs) {
          const list: { value: string; probability: number }[] = d.attributes[spec.kind];
          expect(list.map((v) => v.value).sort()).toEqual([...spec.values].sort());
          list.slice(1).forEach((v, i) => expect(v.probability).toBeLessThanOrEqual(list[i].probability));
          if (spec.type === 'single') expect(Math.abs(list.reduce((s, v) => s + v.probability, 0) - 1)).toBeLessThan(1e-5);
        }
      }
    }
    // the PNG holds the fixture image's exact pixels: torchvision's detections for it
    const expected = trainedFixture.detections[0];
    expect(result[1].detections.map((d: { label: number }) => d.label)).toEqual(expected.labels);
    result[1].detections.forEach((d: { box: number[] }, k: number) =>
      d.box.forEach((v, j) => expect(Math.abs(v - expected.boxes[k * 4 + j])).toBeLessThan(0.5)),
    );
  });

  test('a missing image file is reported by name', async () => {
    await expect(
      runCli(['predict', path.join(dir, 'nope.jpg'), '--weights', files.weights, '--config', files.config, '--json', '--backend', 'wasm']),
    ).rejects.toThrow(/nope\.jpg/);
  });

  test('--model ID predicts with a stored model version, exactly as with its files', async () => {
    const db = await createPostgresTestDatabase();
    const previousUrl = process.env.DATABASE_URL;
    try {
      const [version] = await db.dataSource.query(
        `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('fixture', 'resnet18', $1, $2) RETURNING id`,
        [readFileSync(files.config, 'utf8'), files.weights],
      );
      process.env.DATABASE_URL = db.url;
      const byId = JSON.parse(await runCli(['predict', png, '--model', String(version.id), '--json', '--backend', 'wasm']));
      const byFiles = JSON.parse(
        await runCli(['predict', png, '--weights', files.weights, '--config', files.config, '--json', '--backend', 'wasm']),
      );
      expect(byId[0].detections.length).toBeGreaterThan(0);
      expect(byId).toEqual(byFiles);
      await expect(runCli(['predict', png, '--model', String(Number(version.id) + 1), '--json'])).rejects.toThrow(
        `model version ${Number(version.id) + 1} does not exist`,
      );
    } finally {
      if (previousUrl === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = previousUrl;
      await db.drop();
    }
  });
});
