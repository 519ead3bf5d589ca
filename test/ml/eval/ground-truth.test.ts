/**
 * Ground truth for `kfashion eval` from the real K-Fashion samples: read from a folder and from the
 * database after `importDataset`, the two agree garment for garment.
 */
import * as fs from 'node:fs';
import { importDataset } from '../../../src/db/import';
import type { GroundTruthSet } from '../../../src/ml/eval/ground-truth';
import { groundTruthFromDatabase, groundTruthFromDirectory } from '../../../src/cli/eval';
import { createPostgresTestDatabase, type TestDatabase } from '../../support/database';
import { copySamples, EVAL_CONFIG } from './samples';

const { work, root } = copySamples();
let db: TestDatabase;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  await importDataset(db.dataSource, { root, split: 'validation', parseWorkers: 0 });
});

afterAll(async () => {
  await db?.drop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Images keyed by file, garments in label order (the two sources list them in different orders). */
function byPath(set: GroundTruthSet): Record<string, unknown> {
  return Object.fromEntries(
    set.images.map((image) => [
      image.path,
      { width: image.width, height: image.height, garments: [...image.garments].sort((a, b) => a.label - b.label) },
    ]),
  );
}

describe('ground truth for kfashion eval', () => {
  it('reads the samples from the folder in the label space, values as stored and unlabelled kinds null', async () => {
    const truth = await groundTruthFromDirectory(root, EVAL_CONFIG);
    expect(truth.images).toHaveLength(3);
    expect(truth.rejectedFiles).toEqual([]);
    expect(truth.garmentsOutsideLabelSpace).toBe(0);
    const lace = truth.images.find((i) => i.path?.endsWith('100026.jpg'));
    // 100026.json: 상의 블라우스 (화이트, 소재 우븐 + 레이스) and 하의 스커트 (화이트, 소재 레이스 + 우븐), 800 x 800
    expect(lace?.garments.map((g) => [g.label, g.attributes?.color, g.attributes?.material])).toEqual(
      expect.arrayContaining([
        [1, '화이트', ['레이스', '우븐']],
        [2, '화이트', ['레이스', '우븐']],
      ]),
    );
    expect([lace?.width, lace?.height]).toEqual([800, 800]);
    // 1070263.json labels only 색상 and 소매기장: material is unlabelled (null), not "none"
    const plain = truth.images.find((i) => i.path?.endsWith('1070263.jpg'));
    expect(plain?.garments.map((g) => g.attributes)).toEqual([
      { color: '화이트', material: null },
      { color: '화이트', material: null },
    ]);
  });

  it('reads the same garments back from the database split after the import', async () => {
    const fromFolder = await groundTruthFromDirectory(root, EVAL_CONFIG);
    const fromDatabase = await groundTruthFromDatabase(db.dataSource, 'validation', EVAL_CONFIG);
    expect(Object.keys(byPath(fromDatabase))).toHaveLength(3);
    expect(byPath(fromDatabase)).toEqual(byPath(fromFolder));
    expect((await groundTruthFromDatabase(db.dataSource, 'validation', EVAL_CONFIG, { maxImages: 2 })).images).toHaveLength(2);
    expect((await groundTruthFromDatabase(db.dataSource, 'train', EVAL_CONFIG)).images).toEqual([]);
  });

  it('leaves garments of no class out and counts them', async () => {
    const categoriesOnly = { ...EVAL_CONFIG, classNames: ['__background__', '블라우스'] };
    const truth = await groundTruthFromDirectory(root, categoriesOnly);
    expect(truth.images.flatMap((i) => i.garments)).toHaveLength(1);
    expect(truth.garmentsOutsideLabelSpace).toBe(5);
    const fromDatabase = await groundTruthFromDatabase(db.dataSource, 'validation', categoriesOnly);
    expect(fromDatabase.garmentsOutsideLabelSpace).toBe(5);
  });
});
