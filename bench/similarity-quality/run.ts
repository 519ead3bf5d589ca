/**
 * How much the garment embedding (src/ml/embedding) knows about what a garment looks like: on synthetic K-Fashion
 * photos whose labels are drawn (src/kfashion/synth.ts: category → shape, 색상 → fill colour), the share of each
 * held-out garment's 10 nearest neighbours (exact cosine over the held-out garments, itself excluded) that share its
 * category and colour, for
 *   - a model trained for a few minutes on other synthetic photos (classes: the categories; one attribute head:
 *     색상), ResNet-18 body frozen at its random init as in the fine-tuning bench, the rest trained,
 *   - the same model untrained (same seed: the weights training started from),
 *   - random unit vectors of the same size (what chance gives).
 * Each annotated garment is embedded by its annotated box (AttributeRCNN.embedBoxes, as embedGarments does).
 *
 *   npm run bench:similarity-quality   # KFASHION_SIMILARITY_TRAIN_SECONDS (1200) _TRAIN_IMAGES (240) _EVAL_IMAGES (80) _SIZE (160)
 *                                      # _LR (0.005) _EVAL_EVERY (80 steps: the trained rows are checkpoints along the run)
 *
 * Prints the table and writes it into the "Similarity: embedding quality" section of bench/RESULTS.md.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/ml/backend';
import { AttributeRCNN, type TrainingSample } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../src/ml/model/config';
import { detectionLearningRate, Sgd } from '../../src/ml/train/sgd';
import { cosineSimilarity, dequantizeInt8, l2Normalize } from '../../src/ml/embedding/int8';
import { SYNTH_CATEGORIES, SYNTH_COLORS, synthesize } from '../../src/kfashion/synth';
import { parseAnnotation } from '../../src/kfashion/parse';
import { readImageFile, type RgbImage } from '../../src/images/image-input';
import { seededRandom } from '../../src/util/random';
import { loadAverage, replaceSection, runBench } from '../results';
import { shapesConfig } from '../../test/ml/train/shapes';

const RESULTS = path.resolve(__dirname, '../../../bench/RESULTS.md');
const env = process.env;
const setting = (name: string, fallback: number) => Number(env[`KFASHION_SIMILARITY_${name}`] ?? fallback);
const NEIGHBOURS = 10;

const CATEGORIES = Object.values(SYNTH_CATEGORIES).flatMap((list) => list.map((c) => c.category));
const COLOURS = Object.keys(SYNTH_COLORS);

interface Garment {
  box: [number, number, number, number];
  category: string;
  colour: string | null;
}

interface Photo {
  image: RgbImage;
  garments: Garment[];
}

/** The synthetic photos of a tree, each with its annotated garments (category and 색상). */
async function readPhotos(root: string): Promise<Photo[]> {
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
  const photos: Photo[] = [];
  for (const file of files) {
    const parsed = parseAnnotation(readFileSync(path.join(root, file)), file);
    if (!parsed.ok) continue;
    // The JPEG is named by the identifier, in the image folder beside the label folder.
    const jpeg = path.join(root, path.dirname(file).replace('라벨링데이터', '원천데이터'), `${parsed.annotation.externalId}.jpg`);
    const garments = parsed.annotation.garments.flatMap((g): Garment[] =>
      g.category === null
        ? []
        : [
            {
              box: [g.box.x1, g.box.y1, g.box.x2, g.box.y2],
              category: g.category,
              colour: COLOURS.find((c) => g.attributes.some((a) => a.kind === 'color' && a.value === c)) ?? null,
            },
          ],
    );
    if (garments.length > 0) photos.push({ image: await readImageFile(jpeg), garments });
  }
  return photos;
}

function trainingSample(photo: Photo): TrainingSample {
  return {
    image: photo.image,
    garments: photo.garments.map((g) => ({
      box: g.box,
      label: 1 + CATEGORIES.indexOf(g.category),
      attributes: { color: g.colour === null ? null : COLOURS.indexOf(g.colour) },
    })),
  };
}

/** A share with three decimals; none (no garment had an embedding) as a dash. */
function share(value: number): string {
  return Number.isNaN(value) ? '—' : value.toFixed(3);
}

/** Share of each garment's nearest neighbours (exact cosine, itself excluded) sharing category and colour, and each alone. */
function neighbourShares(vectors: Float32Array[], garments: Garment[]): { both: number; category: number; colour: number } {
  let both = 0;
  let category = 0;
  let colour = 0;
  garments.forEach((garment, i) => {
    const ranked = vectors
      .map((v, j) => ({ j, similarity: j === i ? -Infinity : cosineSimilarity(vectors[i], v) }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, NEIGHBOURS);
    for (const { j } of ranked) {
      const sameCategory = garments[j].category === garment.category;
      const sameColour = garments[j].colour === garment.colour;
      category += Number(sameCategory);
      colour += Number(sameColour);
      both += Number(sameCategory && sameColour);
    }
  });
  const total = garments.length * NEIGHBOURS;
  return { both: both / total, category: category / total, colour: colour / total };
}

/** The embeddings of the held-out garments by their annotated boxes; a garment without one is left out (counted). */
async function embed(model: AttributeRCNN, photos: Photo[]): Promise<{ vectors: Float32Array[]; garments: Garment[]; missing: number }> {
  const vectors: Float32Array[] = [];
  const garments: Garment[] = [];
  let missing = 0;
  for (let start = 0; start < photos.length; start += 4) {
    const page = photos.slice(start, start + 4);
    const embedded = await model.embedBoxes(
      page.map((p) => ({ image: p.image, boxes: Float32Array.from(p.garments.flatMap((g) => g.box)) })),
    );
    page.forEach((photo, i) =>
      photo.garments.forEach((garment, k) => {
        const embedding = embedded[i][k];
        if (embedding === null) return void missing++;
        vectors.push(dequantizeInt8(embedding));
        garments.push(garment);
      }),
    );
  }
  return { vectors, garments, missing };
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm', { log: () => undefined });
  const size = setting('SIZE', 160);
  const trainSeconds = setting('TRAIN_SECONDS', 1200);
  const root = mkdtempSync(path.join(tmpdir(), 'kfashion-similarity-'));
  const started = new Date();
  const loadBefore = loadAverage();
  try {
    await synthesize({ outDir: path.join(root, 'train'), images: setting('TRAIN_IMAGES', 240), seed: 11, width: size, height: size });
    await synthesize({ outDir: path.join(root, 'eval'), images: setting('EVAL_IMAGES', 80), seed: 12, width: size, height: size });
    const train = (await readPhotos(path.join(root, 'train'))).map(trainingSample);
    const held = await readPhotos(path.join(root, 'eval'));
    // The learning tests' small model (ResNet-18 body frozen at its random init, 64-channel FPN), a wider box head.
    const config = resolveConfig(
      shapesConfig({
        class_names: ['__background__', ...CATEGORIES],
        attributes: [{ kind: 'color', type: 'single', values: COLOURS }],
        min_size: size,
        max_size: size,
        representation_size: 128,
      }),
      'similarity bench',
    );
    const untrained = AttributeRCNN.create(config, 3);
    const before = await embed(untrained, held);
    untrained.dispose();

    const lr = setting('LR', 0.005);
    const evalEvery = setting('EVAL_EVERY', 80);
    const model = AttributeRCNN.create(config, 3);
    const sgd = new Sgd({ lr, momentum: 0.9, weightDecay: 1e-4 });
    const schedule = { baseLr: lr, iterationsPerEpoch: 50, milestones: [1_000_000] };
    const trainStart = Date.now();
    const checkpoints: ({ name: string } & Awaited<ReturnType<typeof embed>>)[] = [];
    const checkpoint = async (steps: number, loss: number) => {
      const seconds = (Date.now() - trainStart) / 1000;
      checkpoints.push({
        name: `trained, ${steps} steps (${seconds.toFixed(0)} s, loss ${loss.toFixed(2)})`,
        ...(await embed(model, held)),
      });
      console.error(
        `${checkpoints[checkpoints.length - 1].name}: ${checkpoints[checkpoints.length - 1].missing} garments without embedding`,
      );
    };
    let steps = 0;
    let lastLoss = 0;
    while ((Date.now() - trainStart) / 1000 < trainSeconds) {
      sgd.lr = detectionLearningRate(schedule, Math.floor(steps / 50), steps % 50);
      const losses = model.trainStep([train[(2 * steps) % train.length], train[(2 * steps + 1) % train.length]], sgd, { clipGradNorm: 10 });
      lastLoss = Object.values(losses).reduce((a, b) => a + b, 0);
      steps++;
      if (steps % 20 === 0) console.error(`step ${steps}: loss ${lastLoss.toFixed(3)}, ${((Date.now() - trainStart) / 1000).toFixed(0)} s`);
      if (steps % evalEvery === 0) await checkpoint(steps, lastLoss);
    }
    if (steps % evalEvery !== 0) await checkpoint(steps, lastLoss);
    sgd.dispose();
    model.dispose();

    const random = seededRandom(5);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const randomVectors = before.garments.map(() => l2Normalize(Float32Array.from({ length: config.representation_size }, gaussian)));

    const rows = [
      ...checkpoints,
      { name: 'untrained (the same model before training)', ...before },
      { name: 'random unit vectors', vectors: randomVectors, garments: before.garments, missing: 0 },
    ].map((row) => ({ ...row, shares: neighbourShares(row.vectors, row.garments) }));
    const table = [
      `| embedding | garments | without embedding | same category and colour | same category | same colour |`,
      `| --- | ---: | ---: | ---: | ---: | ---: |`,
      ...rows.map(
        (r) =>
          `| ${r.name} | ${r.garments.length} | ${r.missing} | ${share(r.shares.both)} | ${share(r.shares.category)} | ${share(r.shares.colour)} |`,
      ),
    ].join('\n');
    const last = rows[checkpoints.length - 1];
    const untrainedRow = rows[checkpoints.length];
    const ratio = (last.shares.both / untrainedRow.shares.both).toFixed(2);
    const body = [
      `Run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} shared cores (${cpus()[0]?.model ?? 'unknown CPU'}, no GPU), ` +
        `Node ${process.version}, TensorFlow.js on ${backend.name}; load average ${loadBefore} before, ${loadAverage()} after. ` +
        `Synthetic photos ${size}×${size} (seed 11 to train, ${train.length} photos; seed 12 held out, ${held.length} photos), ` +
        `ResNet-18 body frozen at its random init, 64-channel FPN, TwoMLPHead of ${config.representation_size}, ${CATEGORIES.length} categories, ` +
        `one 색상 head of ${COLOURS.length} values; SGD lr ${lr} (warm-up over 50 steps), momentum 0.9, weight decay 1e-4, ` +
        `gradients clipped at norm 10, batch 2, ${trainSeconds} s of training. ` +
        `Share of each held-out garment's ${NEIGHBOURS} nearest neighbours (exact cosine over the int8 embeddings of the annotated boxes) that share it:`,
      '',
      table,
      '',
      `At the end of training against untrained, on category and colour together: ×${ratio}.`,
      '',
    ].join('\n');
    console.log(body);
    writeFileSync(RESULTS, replaceSection(readFileSync(RESULTS, 'utf8'), 'Similarity: embedding quality', body));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

runBench(main);
