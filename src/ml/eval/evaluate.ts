/**
 * `evaluate(groundTruth, detections, config)`: the whole evaluation of an Attribute R-CNN on a set of
 * images, as one JSON-able report (stored in model_versions.metrics, served over GraphQL).
 *
 * - box: COCO mAP@[.5:.95], AP50, AP75, AR@100, per category (coco.ts).
 * - attributes.matched: attribute metrics on the detections matched to a ground truth at IoU >= 0.5 by
 *   the COCO matching (same category, greedy by score); ground truth that no detection found is not
 *   part of them (it costs box recall instead). attributes.oracle: the same metrics on the predictions
 *   made for the ground-truth boxes themselves, when the caller gives them (attributes.ts).
 * - fashionpedia: AP^{IoU+F1} (fashionpedia.ts).
 *
 * Attribute kinds of the ground truth that the config does not list are ignored (the model was not
 * trained on them); the config's kinds are required on every detection.
 */
import { attributeMetrics, type AttributePair } from './attributes';
import { averagePrecisionAt, IOU_THRESHOLDS, matchCategory, meanDefined, prepareCategory, RECALL_THRESHOLDS } from './coco';
import { attributeSetF1, F1_THRESHOLDS, fashionpediaCategory } from './fashionpedia';
import type {
  AttributePrediction,
  CategoryBoxMetrics,
  DetectedGarment,
  EvaluationAttributeSpec,
  EvaluationConfig,
  EvaluationReport,
  GroundTruthGarment,
  Metric,
} from './types';

export const ATTRIBUTE_MATCH_IOU = 0.5;
const AP50 = IOU_THRESHOLDS.indexOf(0.5);
const AP75 = IOU_THRESHOLDS.indexOf(0.75);

function fail(where: string, problem: string): never {
  throw new Error(`evaluate: ${where}: ${problem}`);
}

function checkBox(box: unknown, where: string): void {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    fail(`${where}.box`, `expected [x1, y1, x2, y2] of finite numbers, got ${JSON.stringify(box)}`);
  }
}

function checkLabel(label: unknown, classes: number, where: string): void {
  if (!Number.isInteger(label) || (label as number) < 1 || (label as number) >= classes) {
    fail(`${where}.label`, `expected a class index in 1..${classes - 1}, got ${JSON.stringify(label)}`);
  }
}

function checkPrediction(prediction: AttributePrediction | undefined, specs: EvaluationAttributeSpec[], where: string): void {
  for (const spec of specs) {
    const scores = prediction?.[spec.kind];
    if (!Array.isArray(scores)) fail(`${where}.${spec.kind}`, 'missing: every attribute kind of the config needs its scores');
    scores.forEach((s, i) => {
      if (typeof s?.value !== 'string' || typeof s.probability !== 'number' || !Number.isFinite(s.probability)) {
        fail(`${where}.${spec.kind}[${i}]`, `expected {value: string, probability: number}, got ${JSON.stringify(s)}`);
      }
    });
  }
}

function checkTruth(garment: GroundTruthGarment, specs: EvaluationAttributeSpec[], where: string): void {
  for (const spec of specs) {
    const v = garment.attributes?.[spec.kind];
    if (v === null || v === undefined) continue;
    const ok = spec.type === 'single' ? typeof v === 'string' : Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!ok)
      fail(
        `${where}.attributes.${spec.kind}`,
        `${spec.type}-label kind needs ${spec.type === 'single' ? 'a string' : 'an array of strings'} or null, got ${JSON.stringify(v)}`,
      );
  }
}

function checkConfig(config: EvaluationConfig): void {
  if (!Array.isArray(config.classNames) || config.classNames.length < 2)
    fail('config.classNames', 'needs the background and at least one class');
  const kinds = new Set<string>();
  for (const spec of config.attributes) {
    if (kinds.has(spec.kind)) fail('config.attributes', `kind ${spec.kind} appears twice`);
    if (spec.type !== 'single' && spec.type !== 'multi')
      fail(`config.attributes.${spec.kind}.type`, `expected single or multi, got ${JSON.stringify(spec.type)}`);
    kinds.add(spec.kind);
  }
  const threshold = config.multiLabelThreshold ?? 0.5;
  if (!(threshold > 0 && threshold <= 1)) fail('config.multiLabelThreshold', `expected a number in (0, 1], got ${threshold}`);
  const maxDets = config.maxDetections ?? 100;
  if (!Number.isInteger(maxDets) || maxDets < 1) fail('config.maxDetections', `expected a positive integer, got ${maxDets}`);
}

function checkInputs(groundTruth: GroundTruthGarment[][], detections: DetectedGarment[][], config: EvaluationConfig): boolean {
  checkConfig(config);
  if (groundTruth.length !== detections.length) {
    fail(
      'detections',
      `has ${detections.length} images but groundTruth has ${groundTruth.length}; give one (possibly empty) list per image`,
    );
  }
  const classes = config.classNames.length;
  let withOracle = 0;
  let garments = 0;
  groundTruth.forEach((image, i) =>
    image.forEach((g, j) => {
      const where = `groundTruth[${i}][${j}]`;
      checkBox(g.box, where);
      checkLabel(g.label, classes, where);
      checkTruth(g, config.attributes, where);
      garments++;
      if (g.predictedAttributes !== undefined) {
        checkPrediction(g.predictedAttributes, config.attributes, `${where}.predictedAttributes`);
        withOracle++;
      }
    }),
  );
  if (withOracle > 0 && withOracle < garments)
    fail('groundTruth', `predictedAttributes given for ${withOracle} of ${garments} garments: give them for all or none`);
  detections.forEach((image, i) =>
    image.forEach((d, j) => {
      const where = `detections[${i}][${j}]`;
      checkBox(d.box, where);
      checkLabel(d.label, classes, where);
      if (typeof d.score !== 'number' || !Number.isFinite(d.score))
        fail(`${where}.score`, `expected a finite number, got ${JSON.stringify(d.score)}`);
      checkPrediction(d.attributes, config.attributes, `${where}.attributes`);
    }),
  );
  return withOracle > 0;
}

type FashionpediaCategory = { label: number; name: string; grid: Metric[][]; ap: Metric };

/** One category: its box metrics at every IoU threshold, its Fashionpedia grid, and its garments matched at IoU 0.5. */
function evaluateCategory(
  label: number,
  groundTruth: GroundTruthGarment[][],
  detections: DetectedGarment[][],
  config: EvaluationConfig,
  limits: { maxDetections: number; multiLabelThreshold: number },
): { box: CategoryBoxMetrics; fashionpedia: FashionpediaCategory; matchedPairs: AttributePair[] } {
  const prepared = prepareCategory(
    groundTruth.map((gts, i) => ({
      groundTruth: gts.filter((g) => g.label === label),
      detections: detections[i].filter((d) => d.label === label),
    })),
    limits.maxDetections,
  );
  const perThreshold = IOU_THRESHOLDS.map((t) => {
    const matches = matchCategory(prepared, t);
    return { matches, ...averagePrecisionAt(prepared, matches) };
  });
  const matchedPairs: AttributePair[] = [];
  perThreshold[AP50].matches.forEach((matches, image) =>
    matches.forEach((g, d) => {
      if (g >= 0)
        matchedPairs.push({ truth: prepared.groundTruth[image][g].attributes, predicted: prepared.detections[image][d].attributes });
    }),
  );
  const name = config.classNames[label];
  const box: CategoryBoxMetrics = {
    label,
    name,
    groundTruth: prepared.gtCount,
    detections: prepared.order.length,
    ap: meanDefined(perThreshold.map((r) => r.ap)),
    ap50: perThreshold[AP50].ap,
    ap75: perThreshold[AP75].ap,
    ar100: meanDefined(perThreshold.map((r) => r.recall)),
  };
  const f1Of = (d: DetectedGarment, g: GroundTruthGarment) =>
    attributeSetF1(config.attributes, g.attributes, d.attributes, limits.multiLabelThreshold);
  return { box, fashionpedia: { label, name, ...fashionpediaCategory(prepared, f1Of) }, matchedPairs };
}

export function evaluate(groundTruth: GroundTruthGarment[][], detections: DetectedGarment[][], config: EvaluationConfig): EvaluationReport {
  const withOracle = checkInputs(groundTruth, detections, config);
  const multiLabelThreshold = config.multiLabelThreshold ?? 0.5;
  const maxDetections = config.maxDetections ?? 100;
  const categories = config.classNames
    .slice(1)
    .map((_, i) => evaluateCategory(i + 1, groundTruth, detections, config, { maxDetections, multiLabelThreshold }));
  const perCategory = categories.map((c) => c.box);
  const fashionpedia = categories.map((c) => c.fashionpedia);
  const matchedPairs = categories.flatMap((c) => c.matchedPairs);
  const oraclePairs: AttributePair[] = withOracle
    ? groundTruth.flat().map((g) => ({ truth: g.attributes, predicted: g.predictedAttributes as AttributePrediction }))
    : [];
  const grid = IOU_THRESHOLDS.map((_, i) => F1_THRESHOLDS.map((_, j) => meanDefined(fashionpedia.map((c) => c.grid[i][j]))));
  return {
    images: groundTruth.length,
    groundTruthGarments: groundTruth.reduce((n, g) => n + g.length, 0),
    detections: detections.reduce((n, d) => n + d.length, 0),
    box: {
      map: meanDefined(perCategory.map((c) => c.ap)),
      ap50: meanDefined(perCategory.map((c) => c.ap50)),
      ap75: meanDefined(perCategory.map((c) => c.ap75)),
      ar100: meanDefined(perCategory.map((c) => c.ar100)),
      perCategory,
    },
    attributes: {
      matched: { garments: matchedPairs.length, kinds: attributeMetrics(config.attributes, matchedPairs, multiLabelThreshold) },
      oracle: withOracle
        ? { garments: oraclePairs.length, kinds: attributeMetrics(config.attributes, oraclePairs, multiLabelThreshold) }
        : null,
    },
    fashionpedia: {
      ap: meanDefined(fashionpedia.map((c) => c.ap)),
      apIou50F150: grid[0][0],
      apIou75F175: grid[AP75][F1_THRESHOLDS.indexOf(0.75)],
      grid,
      perCategory: fashionpedia.map(({ label, name, ap }) => ({ label, name, ap })),
    },
    settings: {
      iouThresholds: IOU_THRESHOLDS,
      f1Thresholds: F1_THRESHOLDS,
      recallPoints: RECALL_THRESHOLDS.length,
      maxDetections,
      multiLabelThreshold,
      attributeMatchIou: ATTRIBUTE_MATCH_IOU,
    },
  };
}

/** The evaluation config of a model config (src/ml/model/config.ts keys). */
export function evaluationConfigOf(
  model: { class_names: string[]; attributes: EvaluationAttributeSpec[] },
  options: Partial<EvaluationConfig> = {},
): EvaluationConfig {
  return {
    classNames: model.class_names,
    attributes: model.attributes.map(({ kind, type, values }) => ({ kind, type, values })),
    ...options,
  };
}
