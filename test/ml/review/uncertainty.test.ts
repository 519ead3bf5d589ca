import { scoreImageUncertainty, topTwo, type PredictedGarmentScores } from '../../../src/ml/review/uncertainty';

const summary = (reasons: { kind: string; garmentId: string | null; attributeKind: string | null; score: number }[]) =>
  reasons.map((r) => [r.kind, r.garmentId, r.attributeKind, Number(r.score.toFixed(6))]);

describe('scoreImageUncertainty', () => {
  it('scores attribute margins and detection scores near the threshold (hand-computed)', () => {
    const predictions: PredictedGarmentScores[] = [
      {
        garmentId: 'g1',
        box: [0, 0, 10, 10],
        category: 'top',
        detectionScore: 0.9,
        singleLabelAttributes: [
          // margin 0.5 - 0.3 = 0.2 → 0.8; the order of the values does not matter
          {
            kind: 'color',
            ranked: [
              { value: 'blue', probability: 0.3 },
              { value: 'red', probability: 0.5 },
              { value: 'green', probability: 0.2 },
            ],
          },
          // margin 0.9 → 0.1
          {
            kind: 'sleeveLength',
            ranked: [
              { value: 'long', probability: 0.95 },
              { value: 'short', probability: 0.05 },
            ],
          },
        ],
      },
      // below the threshold: a detection-score reason (1 - 0.05 / 0.5 = 0.9) and no margins
      {
        garmentId: 'g2',
        box: [20, 20, 30, 30],
        category: 'pants',
        detectionScore: 0.45,
        singleLabelAttributes: [
          {
            kind: 'color',
            ranked: [
              { value: 'red', probability: 0.5 },
              { value: 'blue', probability: 0.5 },
            ],
          },
        ],
      },
    ];
    const result = scoreImageUncertainty({ predictions, annotations: [], scoreThreshold: 0.5 });
    expect(summary(result.reasons)).toEqual([
      ['DETECTION_SCORE', 'g2', null, 0.9],
      ['ATTRIBUTE_MARGIN', 'g1', 'color', 0.8],
      ['DETECTION_SCORE', 'g1', null, 0.2], // 1 - |0.9 - 0.5| / 0.5
      ['ATTRIBUTE_MARGIN', 'g1', 'sleeveLength', 0.1],
    ]);
    expect(result.score).toBeCloseTo(0.9, 12);
    expect(result.reasons[1].detail).toBe('color: red 0.500 vs blue 0.300 (margin 0.200)');
  });

  it('measures the distance to the threshold against the longer side of it', () => {
    const at = (detectionScore: number) =>
      scoreImageUncertainty({
        predictions: [{ box: [0, 0, 1, 1], category: 'top', detectionScore, singleLabelAttributes: [] }],
        annotations: [],
        scoreThreshold: 0.2,
      }).score;
    expect(at(0.2)).toBeCloseTo(1, 12);
    expect(at(0.6)).toBeCloseTo(0.5, 12); // 1 - 0.4 / 0.8
    expect(at(0.05)).toBeCloseTo(0.8125, 12); // 1 - 0.15 / 0.8
    expect(at(1)).toBeCloseTo(0, 12);
  });

  it('finds disagreements and missed garments in both directions (hand-computed IoUs)', () => {
    const result = scoreImageUncertainty({
      predictions: [
        { garmentId: 'p1', box: [0, 0, 10, 10], category: 'coat', detectionScore: 0.8, singleLabelAttributes: [] },
        { garmentId: 'p2', box: [100, 100, 120, 120], category: 'dress', detectionScore: 0.7, singleLabelAttributes: [] },
        // not confident: neither matches an annotation nor counts as a missed annotation
        { garmentId: 'p3', box: [50, 50, 60, 60], category: 'pants', detectionScore: 0.3, singleLabelAttributes: [] },
      ],
      annotations: [
        { garmentId: 'a1', box: [0, 0, 10, 8], category: 'top' }, // IoU with p1 = 80 / 100 = 0.8, other category
        { garmentId: 'a2', box: [50, 50, 60, 60], category: 'pants' }, // only p3 (not confident) covers it
        { garmentId: 'a3', box: [5, 0, 15, 10], category: 'skirt' }, // IoU with p1 = 50 / 150 = 1/3
        { garmentId: 'a4', box: [0, 0, 10, 9], category: 'coat' }, // IoU 0.9, same category: no reason
      ],
      scoreThreshold: 0.5,
    });
    expect(summary(result.reasons)).toEqual([
      ['MISSED_GARMENT', 'a2', null, 1],
      ['DISAGREEMENT', 'a1', null, 0.8],
      ['MISSED_GARMENT', 'p2', null, 0.7],
      ['DETECTION_SCORE', 'p2', null, 0.6], // 1 - 0.2 / 0.5
      ['DETECTION_SCORE', 'p3', null, 0.6], // 1 - 0.2 / 0.5, after p2 (equal scores keep their order)
      ['DETECTION_SCORE', 'p1', null, 0.4], // 1 - 0.3 / 0.5
      ['MISSED_GARMENT', 'a3', null, Number((1 - 1 / 3 / 0.5).toFixed(6))],
    ]);
    expect(result.score).toBe(1);
    expect(result.reasons.find((r) => r.garmentId === 'a1')?.detail).toBe('annotated top, predicted coat with score 0.800 (IoU 0.800)');
  });

  it('leaves predictions alone on an image nobody annotated, and scores an empty image 0', () => {
    const lone: PredictedGarmentScores = { box: [0, 0, 4, 4], category: 'top', detectionScore: 1, singleLabelAttributes: [] };
    expect(scoreImageUncertainty({ predictions: [lone], annotations: [], scoreThreshold: 0.5 })).toEqual({
      score: 0,
      reasons: [expect.objectContaining({ kind: 'DETECTION_SCORE', score: 0, garmentId: null })],
    });
    expect(scoreImageUncertainty({ predictions: [], annotations: [], scoreThreshold: 0.5 })).toEqual({ score: 0, reasons: [] });
    const missed = scoreImageUncertainty({ predictions: [], annotations: [{ box: [0, 0, 1, 1], category: null }], scoreThreshold: 0.5 });
    expect(summary(missed.reasons)).toEqual([['MISSED_GARMENT', null, null, 1]]);
  });

  it('takes a lone value as certain as its probability and refuses a threshold outside (0, 1)', () => {
    const result = scoreImageUncertainty({
      predictions: [
        {
          box: [0, 0, 1, 1],
          category: 'top',
          detectionScore: 0.75,
          singleLabelAttributes: [{ kind: 'fit', ranked: [{ value: 'loose', probability: 0.6 }] }],
        },
      ],
      annotations: [],
      scoreThreshold: 0.5,
    });
    expect(summary(result.reasons)).toEqual([
      ['DETECTION_SCORE', null, null, 0.5],
      ['ATTRIBUTE_MARGIN', null, 'fit', 0.4],
    ]);
    expect(() => scoreImageUncertainty({ predictions: [], annotations: [], scoreThreshold: 1 })).toThrow(/scoreThreshold/);
    expect(() => scoreImageUncertainty({ predictions: [], annotations: [], scoreThreshold: Number.NaN })).toThrow(/scoreThreshold/);
  });
});

describe('topTwo', () => {
  it('picks the two largest, the first on ties', () => {
    const a = { value: 'a', probability: 0.4 };
    const b = { value: 'b', probability: 0.4 };
    const c = { value: 'c', probability: 0.2 };
    expect(topTwo([c, a, b])).toEqual([a, b]);
    expect(topTwo([c])).toEqual([c, null]);
    expect(topTwo([])).toBeNull();
  });
});
