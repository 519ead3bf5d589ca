/**
 * The label space and the training targets come from any TrainingExampleSource, not only from the
 * database: here a hand-made one, whose expected results are worked out by hand.
 */
import {
  buildLabelSpace,
  countDatasetImages,
  loadDatasetImages,
  type AnnotatedGarment,
  type DatasetScope,
  type TrainingExampleSource,
} from '../../../src/ml/data/dataset';
import { SuperCategory } from '../../../src/kfashion/types';

const garment = (imageId: string, category: string | null, terms: [string, string][]): AnnotatedGarment => ({
  imageId,
  path: `/data/${imageId}.jpg`,
  width: 100,
  height: 80,
  category,
  box: [1, 2, 30, 40],
  terms: terms.map(([kind, value]) => ({ kind, value })),
});

const GARMENTS = [
  garment('1', '블라우스', [
    ['color', '화이트'],
    ['material', '레이스'],
    ['material', '우븐'],
  ]),
  garment('1', '스커트', [['color', '블랙']]),
  garment('2', '블라우스', [
    ['color', '블랙'],
    ['material', '우븐'],
  ]),
  garment('3', '티셔츠', [['color', '화이트']]),
  garment('3', null, []),
];

/** Counts as a source computes them from GARMENTS (the categories' slots are given, 블라우스 once under OUTER). */
function handMadeSource(scopes: DatasetScope[]): TrainingExampleSource {
  return {
    categoryCounts: async (scope) => {
      scopes.push(scope);
      return [
        { category: '블라우스', superCategory: SuperCategory.TOP, count: 2 },
        { category: '블라우스', superCategory: SuperCategory.OUTER, count: 1 },
        { category: '스커트', superCategory: SuperCategory.BOTTOM, count: 1 },
        { category: '티셔츠', superCategory: SuperCategory.TOP, count: 1 },
      ];
    },
    attributeValueCounts: async (scope, kinds, minCount) => {
      scopes.push(scope);
      const counts = new Map<string, number>();
      for (const g of GARMENTS)
        for (const t of g.terms)
          if (kinds.includes(t.kind)) counts.set(`${t.kind}\t${t.value}`, (counts.get(`${t.kind}\t${t.value}`) ?? 0) + 1);
      return [...counts]
        .filter(([, n]) => n >= minCount)
        .map(([key, count]) => ({ kind: key.split('\t')[0], value: key.split('\t')[1], count }));
    },
    countImagesWithCategories: async (scope, categories) =>
      new Set(GARMENTS.filter((g) => g.category !== null && categories.includes(g.category)).map((g) => g.imageId)).size,
    annotatedGarments: async (scope) => {
      scopes.push(scope);
      return GARMENTS;
    },
  };
}

describe('training examples from a TrainingExampleSource', () => {
  it('builds the label space: categories by count (slot of the majority), heads with enough values', async () => {
    const scopes: DatasetScope[] = [];
    const space = await buildLabelSpace(handMadeSource(scopes), { attributeKinds: ['color', 'material'], minValueCount: 2, maxImages: 5 });
    // 블라우스 3 garments (TOP 2 > OUTER 1); 스커트 and 티셔츠 have 1 < 2
    expect(space.classes).toEqual([{ name: '블라우스', superCategory: SuperCategory.TOP, count: 3 }]);
    // color: 화이트 2, 블랙 2 (single: two values, kept); material: 우븐 2 (multi: one value is enough), 레이스 1 dropped
    expect(space.attributes).toEqual([
      { kind: 'color', type: 'single', values: ['블랙', '화이트'] },
      { kind: 'material', type: 'multi', values: ['우븐'] },
    ]);
    expect(scopes).toEqual([
      { split: 'train', superCategories: null, maxImages: 5, labels: 'ANNOTATIONS' },
      { split: 'train', superCategories: null, maxImages: 5, labels: 'ANNOTATIONS' },
    ]);
  });

  it('turns garments into targets in that label space and drops garments and images of no class', async () => {
    const scopes: DatasetScope[] = [];
    const source = handMadeSource(scopes);
    const space = await buildLabelSpace(source, { attributeKinds: ['color', 'material'], minValueCount: 2 });
    const images = await loadDatasetImages(source, { superCategories: [SuperCategory.TOP] }, space, 'validation');
    expect(scopes[2]).toEqual({ split: 'validation', superCategories: [SuperCategory.TOP], maxImages: null, labels: 'ANNOTATIONS' });
    expect(images).toEqual([
      {
        imageId: '1',
        path: '/data/1.jpg',
        width: 100,
        height: 80,
        garments: [{ box: [1, 2, 30, 40], label: 1, attributes: { color: 1, material: [0] } }],
        reviewed: false,
      },
      {
        imageId: '2',
        path: '/data/2.jpg',
        width: 100,
        height: 80,
        garments: [{ box: [1, 2, 30, 40], label: 1, attributes: { color: 0, material: [0] } }],
        reviewed: false,
      },
    ]);
    expect(await countDatasetImages(source, {}, space, 'train')).toBe(2);
  });
});
