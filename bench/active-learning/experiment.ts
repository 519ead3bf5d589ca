/**
 * One seed of the active-learning experiment: does labelling the photos the review queue puts first pay more than
 * labelling photos at random?
 *
 * A small Attribute R-CNN (the learning test's: ResNet-18 body frozen at its random init, 64-channel FPN, wasm) is
 * trained from scratch on a few labelled synthetic photos. It then predicts an unlabelled pool; each pool photo gets
 * the review queue's uncertainty score for those predictions. With a fixed budget, two copies of that model each
 * "label" `budget` pool photos (their true synthetic labels are revealed): the highest-scored ones, or a seeded
 * random draw. Each copy is fine-tuned on the first labelled photos plus its own, with the same steps, schedule
 * and batches, and evaluated on held-out photos: box AP@0.5, colour accuracy and print micro-F1 (on the detections
 * matched to a true garment, src/ml/eval).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttributeRCNN, type Detection } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig, type ModelConfig } from '../../src/ml/model/config';
import { evaluate, evaluationConfigOf, type Metric } from '../../src/ml/eval';
import { cpuSeconds, TARGET_SCHEDULE, train, type Schedule } from '../../test/ml/train/finetune-experiment';
import { shapesConfig } from '../../test/ml/train/shapes';
import { drawPhotos, PHOTO_ATTRIBUTES, PHOTO_CLASS_NAMES, type LabelledPhoto } from './photos';
import { selectAtRandom, selectMostUncertain } from './selection';
import {
  REVIEW_SCORE_THRESHOLD,
  scoreImageUncertainty,
  type ImageUncertainty,
  type UncertaintyReasonKind,
} from '../../src/ml/review/uncertainty';

export interface ActiveLearningSettings {
  /** photos, models and the random draw all derive from it */
  seed: number;
  /** photo side, px */
  imageSize: number;
  /** labelled from the start */
  initialImages: number;
  /** unlabelled photos the strategies choose from */
  poolImages: number;
  /** photos each strategy labels */
  budget: number;
  heldOutImages: number;
  /** training from scratch on the initial photos (batch 2) */
  initialSteps: number;
  /** fine-tuning on the initial plus the chosen photos (batch 2) */
  fineTuneSteps: number;
  /** which strategies spend the budget (each costs one fine-tuning) */
  strategies: readonly StrategyName[];
  log?: (line: string) => void;
}

/**
 * The review queue's score of one photo: its detections as the platform stores them (every detection the model
 * returns) and no annotation, since a pool photo is unlabelled until chosen.
 */
export function queueUncertainty(config: ModelConfig, detections: Detection[]): ImageUncertainty {
  const singleLabelKinds = new Set(config.attributes.filter((a) => a.type === 'single').map((a) => a.kind));
  return scoreImageUncertainty({
    predictions: detections.map((d) => ({
      box: d.box,
      category: d.className,
      detectionScore: d.score,
      singleLabelAttributes: Object.entries(d.attributes)
        .filter(([kind]) => singleLabelKinds.has(kind))
        .map(([kind, ranked]) => ({ kind, ranked })),
    })),
    annotations: [],
    scoreThreshold: REVIEW_SCORE_THRESHOLD,
  });
}

/** The queue's order, a random draw, and the control: no photo labelled, the same fine-tuning on the first photos. */
export type StrategyName = 'uncertainty' | 'random' | 'none';

/** Steps per epoch of the schedules (the learning rate warms up over the first). */
const STEPS_PER_EPOCH = 20;

/**
 * The initial model: the learning test's schedule, lr 0.01 after the warm-up, ×0.1 for the last quarter. At a
 * constant 0.01 (as the fine-tuning bench's source) 240 steps left a model at held-out AP@0.5 0.003.
 */
function initialSchedule(steps: number): Schedule {
  return { baseLr: 0.01, iterationsPerEpoch: STEPS_PER_EPOCH, milestones: [Math.round((0.75 * steps) / STEPS_PER_EPOCH)] };
}

export interface HeldOutMetrics {
  boxAp50: number;
  colorAccuracy: Metric;
  printMicroF1: Metric;
  /** true garments matched by a detection (what the attribute metrics are over) */
  matchedGarments: number;
}

export interface StrategyResult {
  strategy: StrategyName;
  /** identifiers of the photos labelled, in the order chosen */
  selected: string[];
  selectedGarments: number;
  /** mean uncertainty score of the chosen photos (null when none is chosen) */
  meanScore: number | null;
  /** how many chosen photos have each kind as their first (score-giving) reason */
  firstReasons: Partial<Record<UncertaintyReasonKind | 'none', number>>;
  heldOut: HeldOutMetrics;
  cpuSeconds: number;
}

export interface SeedResult {
  settings: Omit<ActiveLearningSettings, 'log'>;
  /** the model trained on the initial photos only */
  initial: HeldOutMetrics;
  initialCpuSeconds: number;
  /** the pool's scores: min, median, max */
  poolScores: [number, number, number];
  /** pool photos whose score equals the largest (ties the queue breaks by id) */
  poolTiedAtTop: number;
  strategies: StrategyResult[];
}

/** Pool photos predicted at once (bounds the activations held). */
const PREDICT_CHUNK = 4;

async function predictAll(model: AttributeRCNN, photos: LabelledPhoto[]): Promise<Detection[][]> {
  const detections: Detection[][] = [];
  for (let i = 0; i < photos.length; i += PREDICT_CHUNK) {
    detections.push(...(await model.predict(photos.slice(i, i + PREDICT_CHUNK).map((p) => p.sample.image))));
  }
  return detections;
}

async function heldOutMetrics(model: AttributeRCNN, photos: LabelledPhoto[]): Promise<HeldOutMetrics> {
  const detections = await predictAll(model, photos);
  const report = evaluate(
    photos.map((p) => p.truth),
    detections.map((d) => d.map(({ box, label, score, attributes }) => ({ box, label, score, attributes }))),
    evaluationConfigOf(model.config),
  );
  const { kinds, garments } = report.attributes.matched;
  const color = kinds.color;
  const print = kinds.print;
  return {
    boxAp50: report.box.ap50 ?? 0,
    colorAccuracy: color?.type === 'single' ? color.accuracy : null,
    printMicroF1: print?.type === 'multi' ? print.microF1 : null,
    matchedGarments: garments,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function countFirstReasons(chosen: ImageUncertainty[]): StrategyResult['firstReasons'] {
  const counts: StrategyResult['firstReasons'] = {};
  for (const { reasons } of chosen) {
    const kind = reasons[0]?.kind ?? 'none';
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

export function photoModelConfig(size: number): ModelConfig {
  return resolveConfig(
    shapesConfig({ min_size: size, max_size: size, class_names: PHOTO_CLASS_NAMES, attributes: PHOTO_ATTRIBUTES }),
    'active-learning bench config',
  );
}

export async function runActiveLearningSeed(settings: ActiveLearningSettings): Promise<SeedResult> {
  const { seed, log } = settings;
  const dir = mkdtempSync(join(tmpdir(), 'kfashion-al-'));
  try {
    const total = settings.initialImages + settings.poolImages + settings.heldOutImages;
    const photos = await drawPhotos(join(dir, 'photos'), total, 1000 * seed + 7, settings.imageSize);
    const initialPhotos = photos.slice(0, settings.initialImages);
    const pool = photos.slice(settings.initialImages, settings.initialImages + settings.poolImages);
    const heldOut = photos.slice(settings.initialImages + settings.poolImages);
    const config = photoModelConfig(settings.imageSize);

    const initialStarted = process.cpuUsage();
    const model = AttributeRCNN.create(config, 1000 * seed + 1);
    const checkpoint = join(dir, 'initial.safetensors');
    let initial: HeldOutMetrics;
    let uncertainty: Map<string, ImageUncertainty>;
    try {
      await train(
        model,
        initialPhotos.map((p) => p.sample),
        settings.initialSteps,
        initialSchedule(settings.initialSteps),
      );
      initial = await heldOutMetrics(model, heldOut);
      const poolDetections = await predictAll(model, pool);
      uncertainty = new Map(pool.map((p, i) => [p.id, queueUncertainty(config, poolDetections[i])]));
      model.save(checkpoint, join(dir, 'initial.json'));
    } finally {
      model.dispose();
    }
    const initialCpuSeconds = cpuSeconds(initialStarted);
    const scoreOf = (id: string) => uncertainty.get(id)!.score;
    const poolScores = pool.map((p) => scoreOf(p.id));
    log?.(
      `seed ${seed} initial model: ${settings.initialSteps} steps on ${initialPhotos.length} photos, held-out AP@0.5 ${initial.boxAp50.toFixed(3)}, ` +
        `colour accuracy ${initial.colorAccuracy?.toFixed(3) ?? '-'}; pool scores ${Math.min(...poolScores).toFixed(3)}–${Math.max(...poolScores).toFixed(3)}; ` +
        `${initialCpuSeconds.toFixed(0)} CPU s`,
    );

    const choose: Record<StrategyName, () => string[]> = {
      uncertainty: () =>
        selectMostUncertain(
          pool.map((p) => ({ id: p.id, score: scoreOf(p.id) })),
          settings.budget,
        ),
      random: () =>
        selectAtRandom(
          pool.map((p) => p.id),
          settings.budget,
          1000 * seed + 5,
        ),
      none: () => [],
    };
    const byId = new Map(pool.map((p) => [p.id, p]));
    const strategies: StrategyResult[] = [];
    for (const strategy of settings.strategies) {
      const started = process.cpuUsage();
      const selected = choose[strategy]();
      const chosen = selected.map((id) => byId.get(id)!);
      // Both copies start from the same weights and RoI-sampling seed; only the photos differ.
      const copy = AttributeRCNN.withWeights(config, checkpoint);
      let heldOutResult: HeldOutMetrics;
      try {
        await train(
          copy,
          [...initialPhotos, ...chosen].map((p) => p.sample),
          settings.fineTuneSteps,
          TARGET_SCHEDULE,
        );
        heldOutResult = await heldOutMetrics(copy, heldOut);
      } finally {
        copy.dispose();
      }
      const result: StrategyResult = {
        strategy,
        selected,
        selectedGarments: chosen.reduce((n, p) => n + p.truth.length, 0),
        meanScore: chosen.length === 0 ? null : chosen.reduce((sum, p) => sum + scoreOf(p.id), 0) / chosen.length,
        firstReasons: countFirstReasons(chosen.map((p) => uncertainty.get(p.id)!)),
        heldOut: heldOutResult,
        cpuSeconds: cpuSeconds(started),
      };
      strategies.push(result);
      log?.(
        `seed ${seed} ${strategy}: ${result.selectedGarments} garments labelled (mean score ${result.meanScore?.toFixed(3) ?? '-'}), held-out AP@0.5 ` +
          `${heldOutResult.boxAp50.toFixed(3)}, colour accuracy ${heldOutResult.colorAccuracy?.toFixed(3) ?? '-'}, ${result.cpuSeconds.toFixed(0)} CPU s`,
      );
    }
    const { log: _log, ...recorded } = settings;
    return {
      settings: recorded,
      initial,
      initialCpuSeconds,
      poolScores: [Math.min(...poolScores), median(poolScores), Math.max(...poolScores)],
      poolTiedAtTop: poolScores.filter((s) => s === Math.max(...poolScores)).length,
      strategies,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
