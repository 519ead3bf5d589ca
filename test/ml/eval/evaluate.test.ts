/**
 * The evaluation against (1) small cases whose expected numbers are derived by hand in the comments and
 * (2) an independent Python implementation written from the COCO / Fashionpedia definitions
 * (tools/reference/eval_reference.py → test/ml/fixtures/eval_reference.json), to 1e-6.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, boxIou, rankingAveragePrecision, attributeSetF1, IOU_THRESHOLDS, F1_THRESHOLDS } from '../../../src/ml/eval';
import type { AttributePrediction, Box, DetectedGarment, EvaluationConfig, GroundTruthGarment } from '../../../src/ml/eval';

const CONFIG: EvaluationConfig = {
  classNames: ['__background__', 'top', 'bottom', 'outer'],
  attributes: [
    { kind: 'color', type: 'single', values: ['red', 'blue', 'green'] },
    { kind: 'material', type: 'multi', values: ['cotton', 'denim', 'knit'] },
  ],
};

/** A prediction with the given probabilities (missing values of the config get 0.01). */
function prediction(color: Record<string, number> = {}, material: Record<string, number> = {}): AttributePrediction {
  const scores = (values: string[], given: Record<string, number>) =>
    values.map((value) => ({ value, probability: given[value] ?? 0.01 })).sort((a, b) => b.probability - a.probability);
  return { color: scores(['red', 'blue', 'green'], color), material: scores(['cotton', 'denim', 'knit'], material) };
}

function gt(box: Box, label = 1, attributes: GroundTruthGarment['attributes'] = {}): GroundTruthGarment {
  return { box, label, attributes };
}

function det(box: Box, score: number, label = 1, attributes = prediction()): DetectedGarment {
  return { box, label, score, attributes };
}

describe('COCO box AP (pycocotools semantics), hand-computed', () => {
  it('thresholds are numpy.linspace(.5, .95, 10) and IoU is intersection over union', () => {
    expect(IOU_THRESHOLDS).toHaveLength(10);
    expect(IOU_THRESHOLDS[0]).toBe(0.5);
    expect(IOU_THRESHOLDS[5]).toBe(0.75);
    expect(F1_THRESHOLDS[9]).toBe(0.95);
    // [0,0,10,10] vs [5,0,15,10]: intersection 50, union 150
    expect(boxIou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3, 12);
    expect(boxIou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
  });

  it('one false positive between two true positives; IoU exactly 0.5 matches at t = .5 only', () => {
    // g1 [0,0,10,10], g2 [20,0,30,10]; d1 (.9) = g1 (IoU 1), d2 (.8) elsewhere, d3 (.7) = top half of g2:
    // IoU(d3, g2) = 50 / 100 = 0.5.
    // t = .50: ranking TP FP TP → precision 1, 1/2, 2/3; recall 1/2, 1/2, 1. Made monotone from the right:
    //   1, 2/3, 2/3. Recall points 0..0.50 (51 of them) read precision 1; 0.51..1 (50) read 2/3.
    //   AP50 = (51 + 50 * 2/3) / 101 = 0.834983...
    // t >= .55: d3 is a false positive: TP FP FP, recall stays 1/2: 51 points at precision 1, the rest 0:
    //   AP = 51/101 for each of the 9 other thresholds. mAP = (AP50 + 9 * 51/101) / 10.
    // AR@100: recall 1 at t = .5, 1/2 at the 9 others → (1 + 4.5) / 10 = 0.55.
    const report = evaluate(
      [[gt([0, 0, 10, 10]), gt([20, 0, 30, 10])]],
      [[det([0, 0, 10, 10], 0.9), det([50, 50, 60, 60], 0.8), det([20, 0, 30, 5], 0.7)]],
      CONFIG,
    );
    const ap50 = (51 + (50 * 2) / 3) / 101;
    const top = report.box.perCategory[0];
    expect(top.ap50).toBeCloseTo(ap50, 12);
    expect(top.ap75).toBeCloseTo(51 / 101, 12);
    expect(top.ap).toBeCloseTo((ap50 + (9 * 51) / 101) / 10, 12);
    expect(top.ar100).toBeCloseTo(0.55, 12);
    expect(report.box.map).toBeCloseTo(top.ap as number, 12);
  });

  it('matching is greedy by score, not the best overall assignment', () => {
    // g1 [0,0,10,10], g2 [8,0,18,10]. d1 (.9) [2,0,12,10]: IoU(g1) = 80/120 = .667, IoU(g2) = 40/160 = .25.
    // d2 (.8) = g1 exactly. At t = .5, d1 (first by score) takes g1 and d2 finds it taken: TP FP,
    // AP50 = 51/101 (a best-IoU assignment would give FP TP and 51 * 0.5 / 101).
    // At t = .7, d1 (IoU .667) cannot match, d2 takes g1: FP TP → precision 0, 1/2 → AP = 51 * 0.5 / 101.
    const report = evaluate([[gt([0, 0, 10, 10]), gt([8, 0, 18, 10])]], [[det([2, 0, 12, 10], 0.9), det([0, 0, 10, 10], 0.8)]], CONFIG);
    expect(report.box.perCategory[0].ap50).toBeCloseTo(51 / 101, 12);
    expect(report.box.perCategory[0].ap75).toBeCloseTo((51 * 0.5) / 101, 12);
  });

  it('on equal IoU the later ground truth is taken (pycocotools `if iou < best: continue`)', () => {
    // Two ground truths on the same box, red then blue; one detection on it predicting blue. It takes the
    // later (blue) ground truth, so colour accuracy on matched detections is 1/1 (it would be 0/1 otherwise).
    const report = evaluate(
      [[gt([0, 0, 10, 10], 1, { color: 'red' }), gt([0, 0, 10, 10], 1, { color: 'blue' })]],
      [[det([0, 0, 10, 10], 0.9, 1, prediction({ blue: 0.8 }))]],
      CONFIG,
    );
    expect(report.attributes.matched.garments).toBe(1);
    expect(report.attributes.matched.kinds.color).toMatchObject({ evaluated: 1, accuracy: 1 });
  });

  it('categories without ground truth are left out of the mean; with ground truth but no detection they count 0', () => {
    // top: one perfect detection → AP 1 at every threshold. bottom: a detection but no ground truth → null.
    // outer: ground truth, no detection → AP 0. mAP = (1 + 0) / 2.
    const report = evaluate(
      [[gt([0, 0, 10, 10], 1), gt([30, 30, 50, 50], 3)], []],
      [[det([0, 0, 10, 10], 0.6, 1), det([0, 0, 10, 10], 0.95, 2)], [det([5, 5, 9, 9], 0.99, 2)]],
      CONFIG,
    );
    // (precision is tp / (tp + fp + eps) as in pycocotools, so a perfect AP is 1 - 2e-16)
    expect(report.box.perCategory.map((c) => (c.ap === null ? null : Number(c.ap.toFixed(12))))).toEqual([1, null, 0]);
    expect(report.box.perCategory.map((c) => [c.groundTruth, c.detections])).toEqual([
      [1, 1],
      [0, 2],
      [1, 0],
    ]);
    expect(report.box.map).toBeCloseTo(0.5, 12);
    expect(report.box.ar100).toBe(0.5);
  });

  it('keeps at most maxDetections per image and category, best first', () => {
    // Two false positives (.9, .8) above the true positive (.7). maxDetections 3: FP FP TP → precision
    // 0, 0, 1/3 → monotone 1/3 everywhere → AP = 1/3 at every threshold (the TP box is exact).
    // maxDetections 2: the TP is cut, recall 0 → AP 0.
    const images = [[gt([0, 0, 10, 10])]];
    const detections = [[det([0, 0, 10, 10], 0.7), det([50, 50, 60, 60], 0.9), det([70, 70, 80, 80], 0.8)]];
    expect(evaluate(images, detections, { ...CONFIG, maxDetections: 3 }).box.map).toBeCloseTo(1 / 3, 12);
    const cut = evaluate(images, detections, { ...CONFIG, maxDetections: 2 });
    expect(cut.box.map).toBe(0);
    expect(cut.box.ar100).toBe(0);
  });
});

describe('attribute metrics, hand-computed', () => {
  // Four matched garments. colour truths red, red, blue, (unlabelled); top-1 predictions red, blue, blue, green.
  // material truths {cotton}, {cotton, denim}, {}, (unlabelled); probabilities
  //   cotton .9 .6 .5 | denim .45 .4 .1   → predicted sets (>= .5) {cotton} {cotton} {cotton}.
  const truths: GroundTruthGarment['attributes'][] = [
    { color: 'red', material: ['cotton'] },
    { color: 'red', material: ['cotton', 'denim'] },
    { color: 'blue', material: [] },
    { color: null },
  ];
  const predictions = [
    prediction({ red: 0.7 }, { cotton: 0.9, denim: 0.45 }),
    prediction({ blue: 0.6 }, { cotton: 0.6, denim: 0.4 }),
    prediction({ blue: 0.5 }, { cotton: 0.5, denim: 0.1 }),
    prediction({ green: 0.9 }, { knit: 0.9 }),
  ];
  const boxes: Box[] = [
    [0, 0, 10, 10],
    [20, 0, 30, 10],
    [40, 0, 50, 10],
    [60, 0, 70, 10],
  ];
  const report = evaluate(
    [boxes.map((box, i) => ({ ...gt(box, 1, truths[i]), predictedAttributes: predictions[i] }))],
    [boxes.map((box, i) => det(box, 0.9 - i / 10, 1, predictions[i]))],
    CONFIG,
  );

  it('single-label: accuracy and macro-F1 over the values seen, unlabelled garments left out', () => {
    // Evaluated 3 (the unlabelled one is neither right nor wrong; its "green" is not a value seen).
    // accuracy 2/3. red: TP 1, FN 1 → F1 2/3; blue: TP 1, FP 1 → F1 2/3. macro-F1 2/3 over 2 values.
    expect(report.attributes.matched.kinds.color).toEqual({
      type: 'single',
      evaluated: 3,
      accuracy: 2 / 3,
      macroF1: 2 / 3,
      macroValues: 2,
    });
  });

  it('multi-label: micro/macro-F1 at the threshold (inclusive) and mAP over values with positives', () => {
    // cotton: TP 2 (g1, g2), FP 1 (g3: .5 counts as predicted) → F1 4/5. denim: FN 1 → F1 0.
    // micro: TP 2, FP 1, FN 1 → 4/6. macro: (4/5 + 0) / 2.
    // AP(cotton): scores .9 .6 .5, positives T T F → P 1 at R .5 and R 1 → 1.
    // AP(denim): scores .45 .4 .1, positives F T F → first hit at rank 2: P 1/2, R 1 → 1/2.
    // knit has no positive: not averaged. mAP = 3/4 over 2 values.
    const material = report.attributes.matched.kinds.material;
    expect(material).toMatchObject({ type: 'multi', evaluated: 3, threshold: 0.5, macroValues: 2, mapValues: 2 });
    if (material.type !== 'multi') throw new Error('multi expected');
    expect(material.microF1).toBeCloseTo(4 / 6, 12);
    expect(material.macroF1).toBeCloseTo(0.4, 12);
    expect(material.map).toBeCloseTo(0.75, 12);
  });

  it('oracle boxes give the same numbers here (the predictions are the same) and need all garments', () => {
    expect(report.attributes.oracle).toEqual(report.attributes.matched);
    const partial = [[{ ...gt([0, 0, 10, 10]), predictedAttributes: prediction() }, gt([20, 0, 30, 10])]];
    expect(() => evaluate(partial, [[]], CONFIG)).toThrow(/predictedAttributes given for 1 of 2 garments/);
    expect(evaluate([[gt([0, 0, 10, 10])]], [[]], CONFIG).attributes.oracle).toBeNull();
  });

  it('ranking AP takes tied scores together (sklearn average_precision_score)', () => {
    // scores .5 .5 .2, positives T F T: at .5 two retrieved, one hit → P 1/2, R 1/2; at .2 → P 2/3, R 1.
    // AP = 1/2 * 1/2 + 1/2 * 2/3 = 7/12.
    expect(rankingAveragePrecision([0.5, 0.5, 0.2], [true, false, true])).toBeCloseTo(7 / 12, 12);
    expect(rankingAveragePrecision([0.5, 0.2], [false, false])).toBeNull();
  });
});

describe('Fashionpedia AP^{IoU+F1}, hand-computed', () => {
  it('a detection counts only when its attribute F1 reaches t_F1', () => {
    // Ground truth: colour red, material {cotton, denim}. d1 (.9, exact box) predicts red and
    // {cotton, knit}: |P ∩ G| = 2 of |P| = |G| = 3 → F1 = 4/6 = .667: it passes t_F1 .50 .55 .60 .65.
    // d2 (.5, exact box) predicts everything right: F1 1.
    // t_F1 <= .65: d1 TP, d2 FP → AP 1. t_F1 >= .70: d1 FP, d2 TP → precision 0, 1/2 → AP 1/2.
    // Every IoU threshold passes (IoU 1). AP^{IoU+F1} = (4 * 1 + 6 * 1/2) / 10 = .7; box mAP = 1.
    const truth = gt([0, 0, 10, 10], 1, { color: 'red', material: ['cotton', 'denim'] });
    const d1 = det([0, 0, 10, 10], 0.9, 1, prediction({ red: 0.8 }, { cotton: 0.9, denim: 0.3, knit: 0.6 }));
    const d2 = det([0, 0, 10, 10], 0.5, 1, prediction({ red: 0.8 }, { cotton: 0.9, denim: 0.8 }));
    expect(attributeSetF1(CONFIG.attributes, truth.attributes, d1.attributes, 0.5)).toBeCloseTo(2 / 3, 12);
    const report = evaluate([[truth]], [[d1, d2]], CONFIG);
    expect(report.box.map).toBeCloseTo(1, 12);
    expect(report.fashionpedia.ap).toBeCloseTo(0.7, 12);
    expect(report.fashionpedia.apIou50F150).toBeCloseTo(1, 12);
    expect(report.fashionpedia.apIou75F175).toBeCloseTo(0.5, 12);
    expect(report.fashionpedia.grid[9].map((v) => Number((v as number).toFixed(12)))).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  });

  it('unlabelled kinds are outside both sets; nothing labelled means the F1 condition holds', () => {
    const specs = CONFIG.attributes;
    expect(attributeSetF1(specs, { color: null, material: ['knit'] }, prediction({ red: 0.9 }, { knit: 0.7 }), 0.5)).toBe(1);
    expect(attributeSetF1(specs, {}, prediction({ red: 0.9 }, { knit: 0.7 }), 0.5)).toBe(1);
    expect(attributeSetF1(specs, { color: 'blue' }, prediction({ red: 0.9 }), 0.5)).toBe(0);
  });
});

describe('input errors name the field', () => {
  it.each([
    ['image counts differ', [[]], [], /detections: has 0 images but groundTruth has 1/],
    ['label out of range', [[gt([0, 0, 1, 1], 4)]], [[]], /groundTruth\[0\]\[0\]\.label: expected a class index in 1\.\.3, got 4/],
    ['bad box', [[{ box: [0, 0, 1], label: 1 }]], [[]], /groundTruth\[0\]\[0\]\.box/],
    [
      'array for a single-label kind',
      [[gt([0, 0, 1, 1], 1, { color: ['red'] })]],
      [[]],
      /attributes\.color: single-label kind needs a string/,
    ],
    [
      'detection without a kind',
      [[]],
      [[{ box: [0, 0, 1, 1], label: 1, score: 0.5, attributes: { color: [] } }]],
      /detections\[0\]\[0\]\.attributes\.material: missing/,
    ],
    ['NaN score', [[]], [[det([0, 0, 1, 1], Number.NaN)]], /detections\[0\]\[0\]\.score: expected a finite number/],
  ])('%s', (_name, groundTruth, detections, message) => {
    expect(() => evaluate(groundTruth as GroundTruthGarment[][], detections as DetectedGarment[][], CONFIG)).toThrow(message);
  });
});

/** Every number of `expected` (the Python report) equals the TypeScript one within 1e-6; same keys. */
function expectSameReport(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number') {
    if (typeof actual !== 'number' || Math.abs(actual - expected) > 1e-6)
      throw new Error(`${path}: expected ${expected}, got ${JSON.stringify(actual)}`);
    return;
  }
  if (expected === null || typeof expected !== 'object') {
    if (actual !== expected) throw new Error(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    return;
  }
  if (typeof actual !== 'object' || actual === null) throw new Error(`${path}: expected an object, got ${JSON.stringify(actual)}`);
  const expectedKeys = Object.keys(expected).sort();
  expect(`${path}: ${Object.keys(actual).sort().join(',')}`).toBe(`${path}: ${expectedKeys.join(',')}`);
  for (const key of expectedKeys)
    expectSameReport((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
}

describe('against the independent Python reference (random data)', () => {
  const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/eval_reference.json'), 'utf8')) as {
    cases: {
      name: string;
      config: EvaluationConfig;
      groundTruth: GroundTruthGarment[][];
      detections: DetectedGarment[][];
      expected: unknown;
    }[];
  };

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: the whole report matches to 1e-6', (_name, c) => {
    const report = evaluate(c.groundTruth, c.detections, c.config);
    // the data exercise what they should: matches, misses, categories without ground truth, ties
    expect(report.attributes.matched.garments).toBeGreaterThan(20);
    expect(report.box.perCategory.some((p) => p.ap === null && p.detections > 0)).toBe(true);
    expect(report.box.perCategory.some((p) => p.ap === 0 && p.groundTruth > 0)).toBe(true);
    expectSameReport(JSON.parse(JSON.stringify(report)), c.expected, c.name);
  });
});
