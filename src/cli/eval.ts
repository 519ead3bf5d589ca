/**
 * `kfashion eval --weights W.safetensors --config C.json --data <folder | train | validation> [--json]`:
 * runs the Attribute R-CNN on every image of a K-Fashion folder or of a database split and prints the
 * evaluation report (src/ml/eval: COCO box AP, attribute metrics, Fashionpedia AP^{IoU+F1}).
 *
 * `--data` names a folder when one exists at that path, else a split of the database (DATABASE_URL or
 * the embedded one); `db:validation` forces the split. Images are predicted one at a time; an image
 * that cannot be read is skipped and listed, never fatal. Boxes are compared in the annotation's pixels.
 */
import { dataDir, uploadsDir } from '../util/data-dir';
import { environment } from './environment';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import type { DataSource } from 'typeorm';
import { annotatedSplitImages } from '../db/training-examples';
import { SPLITS, type Split } from '../kfashion/types';
import {
  evaluate,
  evaluationConfigOf,
  type DetectedGarment,
  type EvaluationConfig,
  type EvaluationReport,
  type GroundTruthGarment,
} from '../ml/eval';
import { groundTruthOf, type GroundTruthSet } from '../ml/eval/ground-truth';
import type { AttributeRCNN } from '../ml/model/attribute-rcnn';

export interface EvalRun {
  data: string;
  imagesEvaluated: number;
  skippedImages: { image: string; reason: string }[];
  rejectedFiles: { file: string; reason: string }[];
  garmentsOutsideLabelSpace: number;
  metrics: EvaluationReport;
}

type DataSpec = { kind: 'folder'; root: string } | { kind: 'split'; split: Split };

export function parseDataOption(value: string): DataSpec {
  const forced = /^db:(.*)$/.exec(value)?.[1];
  if (forced === undefined && fs.existsSync(value) && fs.statSync(value).isDirectory())
    return { kind: 'folder', root: path.resolve(value) };
  const split = forced ?? value;
  if ((SPLITS as readonly string[]).includes(split)) return { kind: 'split', split: split as Split };
  throw new Error(`--data ${value}: neither a folder nor a database split (${SPLITS.join(', ')}, or db:<split>)`);
}

/** Predicts each image of the set and evaluates; unreadable images are skipped and reported. */
export async function evaluateOnImages(
  model: AttributeRCNN,
  truth: GroundTruthSet,
  config: EvaluationConfig,
  data: string,
): Promise<EvalRun> {
  const groundTruth: GroundTruthGarment[][] = [];
  const detections: DetectedGarment[][] = [];
  const skippedImages: EvalRun['skippedImages'] = [];
  const { readImageFile } = await import('../images/image-input');
  for (const image of truth.images) {
    if (image.path === null) {
      skippedImages.push({ image: image.id, reason: 'no image file' });
      continue;
    }
    let pixels;
    try {
      pixels = await readImageFile(image.path);
    } catch (error) {
      skippedImages.push({ image: image.id, reason: (error as Error).message });
      continue;
    }
    const [predicted] = await model.predict([pixels]);
    // the model answers in the decoded image's pixels; annotations are in the annotation's
    const sx = pixels.width / image.width;
    const sy = pixels.height / image.height;
    groundTruth.push(image.garments);
    detections.push(
      predicted.map((d) => ({
        box: [d.box[0] / sx, d.box[1] / sy, d.box[2] / sx, d.box[3] / sy],
        label: d.label,
        score: d.score,
        attributes: d.attributes,
      })),
    );
  }
  return {
    data,
    imagesEvaluated: groundTruth.length,
    skippedImages,
    rejectedFiles: truth.rejectedFiles,
    garmentsOutsideLabelSpace: truth.garmentsOutsideLabelSpace,
    metrics: evaluate(groundTruth, detections, config),
  };
}

function formatMetric(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(4);
}

function formatText(run: EvalRun): string {
  const { metrics } = run;
  const lines = [
    `${run.data}: ${run.imagesEvaluated} image(s) evaluated, ${run.skippedImages.length} skipped, ${run.rejectedFiles.length} annotation file(s) rejected, ${run.garmentsOutsideLabelSpace} garment(s) outside the label space`,
    `box mAP@[.5:.95] ${formatMetric(metrics.box.map)}  AP50 ${formatMetric(metrics.box.ap50)}  AP75 ${formatMetric(metrics.box.ap75)}  AR@100 ${formatMetric(metrics.box.ar100)}`,
    ...metrics.box.perCategory.map(
      (c) => `  ${c.name}: AP ${formatMetric(c.ap)}  AP50 ${formatMetric(c.ap50)}  (${c.groundTruth} gt, ${c.detections} det)`,
    ),
    `attributes on ${metrics.attributes.matched.garments} matched detection(s):`,
    ...Object.entries(metrics.attributes.matched.kinds).map(([kind, m]) =>
      m.type === 'single'
        ? `  ${kind}: accuracy ${formatMetric(m.accuracy)}  macro-F1 ${formatMetric(m.macroF1)}  (${m.evaluated})`
        : `  ${kind}: micro-F1 ${formatMetric(m.microF1)}  macro-F1 ${formatMetric(m.macroF1)}  mAP ${formatMetric(m.map)}  (${m.evaluated})`,
    ),
    `Fashionpedia AP^{IoU+F1} ${formatMetric(metrics.fashionpedia.ap)}  (IoU .5, F1 .5: ${formatMetric(metrics.fashionpedia.apIou50F150)})`,
  ];
  return lines.join('\n');
}

interface EvalOptions {
  weights?: string;
  config?: string;
  data?: string;
  maxImages?: string;
  backend?: string;
  json?: boolean;
}

function positiveInteger(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${option} ${value}: expected a positive integer`);
  return n;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate an Attribute R-CNN model: COCO box AP, attribute metrics, Fashionpedia AP^{IoU+F1}')
    .option('--weights <file>', 'model weights (.safetensors)')
    .option('--config <file>', 'model config JSON')
    .option('--data <folder|split>', 'a K-Fashion folder, or a database split: train, validation (db:<split> to force)')
    .option('--max-images <n>', 'evaluate at most this many images')
    .option('--backend <name>', 'TensorFlow.js backend: tensorflow, wasm or cpu (default: KFASHION_TF_BACKEND or best available)')
    .option('--json', 'print one JSON object: {data, imagesEvaluated, skippedImages, rejectedFiles, garmentsOutsideLabelSpace, metrics}')
    .action(async (options: EvalOptions) => {
      if (!options.weights) throw new Error('--weights <file> is required');
      if (!options.config) throw new Error('--config <file> is required');
      if (!options.data) throw new Error('--data <folder|split> is required');
      const data = parseDataOption(options.data);
      const maxImages = positiveInteger(options.maxImages, '--max-images');
      const [{ initBackend }, { AttributeRCNN }] = await Promise.all([import('../ml/backend'), import('../ml/model/attribute-rcnn')]);
      await initBackend(options.backend, { env: environment() });
      const model = await AttributeRCNN.load(options.weights, options.config);
      try {
        const config = evaluationConfigOf(model.config);
        const truth =
          data.kind === 'folder'
            ? await groundTruthFromDirectory(data.root, config, { maxImages })
            : await groundTruthFromSplit(data.split, config, maxImages);
        const run = await evaluateOnImages(model, truth, config, data.kind === 'folder' ? data.root : data.split);
        process.stdout.write(options.json ? `${JSON.stringify(run)}\n` : `${formatText(run)}\n`);
      } finally {
        model.dispose();
      }
    });
}

/** Ground truth from a K-Fashion folder's annotation files (walk order, at most `maxImages`). */
export async function groundTruthFromDirectory(
  root: string,
  config: EvaluationConfig,
  options: { maxImages?: number } = {},
): Promise<GroundTruthSet> {
  // The folder reader matches images with sharp: loaded when a folder is evaluated.
  const { annotatedFolderImages } = await import('../db/annotation-folder');
  const folder = await annotatedFolderImages(root, options);
  return groundTruthOf(folder.images, config, folder.rejectedFiles);
}

/** Ground truth from the annotation garments of a database split (id order, at most `maxImages`). */
export async function groundTruthFromDatabase(
  dataSource: DataSource,
  split: 'train' | 'validation',
  config: EvaluationConfig,
  options: { maxImages?: number; uploadsDir?: string } = {},
): Promise<GroundTruthSet> {
  return groundTruthOf(await annotatedSplitImages(dataSource, split, options), config);
}

async function groundTruthFromSplit(split: 'train' | 'validation', config: EvaluationConfig, maxImages?: number): Promise<GroundTruthSet> {
  const { openDatabase } = await import('../db/data-source');
  const dataSource = await openDatabase({ env: environment() });
  try {
    return await groundTruthFromDatabase(dataSource, split, config, { maxImages, uploadsDir: uploadsDir(dataDir(environment())) });
  } finally {
    await dataSource.destroy();
  }
}
