/**
 * The importer on both databases: the real samples' values read back through SQL, every kind of
 * bad input reported and skipped, idempotent and changed-file re-imports, resume after an abort.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importDataset, ImportAbortedError, ImportStats } from '../../src/db/import';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import {
  copySamples,
  LABELS,
  makeTree,
  PHOTOS,
  readReport,
  readSample,
  removeTree,
  SAMPLES_DIR as LABELS_SOURCE,
  variant,
  writeFile,
  writeJson,
} from './import/fixtures';

interface GarmentRow {
  super_category: string;
  category: string | null;
  attributes: string[];
  search_terms: number[];
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  polygon: number[] | null;
}

describe.each([['PostgreSQL', createPostgresTestDatabase]])('importDataset on %s', (_name, create) => {
  let db: TestDatabase;
  const trees: string[] = [];
  const tree = () => {
    const root = makeTree();
    trees.push(root);
    return root;
  };
  const query = <T = any>(sql: string, params: unknown[] = []): Promise<T[]> => db.dataSource.query(sql, params);

  async function datasetId(name: string): Promise<number> {
    const [row] = await query<{ id: number }>('SELECT id FROM datasets WHERE name = $1', [name]);
    return row.id;
  }

  async function garmentsOf(dataset: number, externalId: string): Promise<GarmentRow[]> {
    return query<GarmentRow>(
      `SELECT g.super_category, c.value AS category, g.search_terms, g.x1, g.y1, g.x2, g.y2, g.polygon,
              array_agg(v.kind || '=' || v.value ORDER BY v.kind, v.value) AS attributes
         FROM garments g JOIN images i ON i.id = g.image_id
         LEFT JOIN vocabulary c ON c.id = g.category_id
         JOIN garment_attributes ga ON ga.garment_id = g.id JOIN vocabulary v ON v.id = ga.vocabulary_id
        WHERE i.dataset_id = $1 AND i.external_id = $2
        GROUP BY g.id, c.value ORDER BY g.super_category`,
      [dataset, externalId],
    );
  }

  async function counts(dataset: number) {
    const [row] = await query(
      `SELECT (SELECT count(*) FROM images WHERE dataset_id = $1)::int AS images,
              (SELECT count(*) FROM garments g JOIN images i ON i.id = g.image_id WHERE i.dataset_id = $1)::int AS garments,
              (SELECT count(*) FROM garment_attributes ga JOIN garments g ON g.id = ga.garment_id
                 JOIN images i ON i.id = g.image_id WHERE i.dataset_id = $1)::int AS attributes,
              (SELECT count(*) FROM image_styles s JOIN images i ON i.id = s.image_id WHERE i.dataset_id = $1)::int AS styles`,
      [dataset],
    );
    return row as { images: number; garments: number; attributes: number; styles: number };
  }

  async function vocabularyCount(kind: string, value: string): Promise<number> {
    const [row] = await query<{ count: number }>('SELECT count FROM vocabulary WHERE kind = $1 AND value = $2', [kind, value]);
    return row.count;
  }

  beforeAll(async () => {
    db = await create();
  });
  afterAll(async () => {
    await db?.drop();
    trees.forEach(removeTree);
  });

  describe('the three real samples', () => {
    let root: string;
    let first: ImportStats;
    let dataset: number;
    beforeAll(async () => {
      root = tree();
      copySamples(root);
      first = await importDataset(db.dataSource, { root, datasetName: 'samples' });
      dataset = await datasetId('samples');
    });

    it('imports every image with its path, size, split and date', async () => {
      expect(first).toMatchObject({ imagesImported: 3, garmentsImported: 6, filesRejected: 0, filesSeen: 3 });
      const images = await query(
        `SELECT external_id, file_name, image_path, annotation_path, width, height, split, annotated_at
           FROM images WHERE dataset_id = $1 ORDER BY external_id`,
        [dataset],
      );
      expect(images.map((image) => image.external_id)).toEqual(['100026', '1070263', '1092253']);
      expect(images[0]).toMatchObject({
        file_name: 'Ave29th_160_02.jpg',
        image_path: `${PHOTOS}/100026.jpg`,
        annotation_path: `${LABELS}/100026.json`,
        width: 800,
        height: 800,
        split: 'train',
      });
      expect(new Date(images[0].annotated_at).toISOString()).toBe('2020-08-09T23:33:18.000Z');
      expect(images[1]).toMatchObject({ width: 800, height: 1049, image_path: `${PHOTOS}/1070263.jpg` });
      const [dataRow] = await query('SELECT root_path FROM datasets WHERE id = $1', [dataset]);
      expect(dataRow.root_path).toBe(root);
    });

    it('stores 100026: a 스커트 and a 블라우스 with every attribute and the 로맨틱 style', async () => {
      const [bottom, top] = await garmentsOf(dataset, '100026');
      expect(bottom.super_category).toBe('BOTTOM');
      expect(bottom.category).toBe('스커트');
      expect(bottom.attributes).toEqual(
        [
          'category=스커트',
          'color=화이트',
          'fit=노멀',
          'length=니렝스',
          'material=레이스',
          'material=우븐',
          'print=도트',
          'subColor=실버',
        ].sort(),
      );
      expect(top.super_category).toBe('TOP');
      expect(top.category).toBe('블라우스');
      expect(top.attributes).toEqual(
        [
          'category=블라우스',
          'collar=보우칼라',
          'color=화이트',
          'fit=루즈',
          'length=노멀',
          'material=레이스',
          'material=우븐',
          'neckline=브이넥',
          'print=도트',
          'sleeveLength=캡',
          'subColor=실버',
        ].sort(),
      );
      // Rect 321.06, 288.216, 183 x 330 → x2 = x1 + 가로; polygon ordered by point number.
      expect([bottom.x1, bottom.y1, bottom.x2, bottom.y2].map((v) => Math.round(v * 100) / 100)).toEqual([321.06, 288.22, 504.06, 618.22]);
      expect(bottom.polygon).toHaveLength(12);
      expect(bottom.polygon!.slice(0, 4).map((v) => Math.round(v * 1000) / 1000)).toEqual([321.56, 315.568, 325.554, 619.479]);
      expect(top.polygon).toHaveLength(24);
      const styles = await query(
        `SELECT v.kind, v.value, v.value_en, s.sub_style_id FROM image_styles s JOIN images i ON i.id = s.image_id
           JOIN vocabulary v ON v.id = s.style_id WHERE i.dataset_id = $1 AND i.external_id = '100026'`,
        [dataset],
      );
      expect(styles).toEqual([{ kind: 'style', value: '로맨틱', value_en: 'romantic', sub_style_id: null }]);
    });

    it('stores 1070263 and 1092253: two garments with colour (and the top its sleeve length), no style', async () => {
      const expected: Record<string, string[][]> = {
        '1070263': [['color=화이트'], ['color=화이트', 'sleeveLength=7부소매']],
        '1092253': [['color=베이지'], ['color=그레이', 'sleeveLength=반팔']],
      };
      for (const [externalId, attributes] of Object.entries(expected)) {
        const garments = await garmentsOf(dataset, externalId);
        expect(garments.map((garment) => garment.super_category)).toEqual(['BOTTOM', 'TOP']);
        expect(garments.map((garment) => garment.attributes)).toEqual(attributes);
        expect(garments.map((garment) => garment.category)).toEqual([null, null]);
      }
      const [styles] = await query(
        `SELECT count(*)::int AS n FROM image_styles s JOIN images i ON i.id = s.image_id
          WHERE i.dataset_id = $1 AND i.external_id IN ('1070263', '1092253')`,
        [dataset],
      );
      expect(styles.n).toBe(0);
    });

    it('fills search_terms with the ids of the category, the attribute values and the image styles', async () => {
      const rows = await query(
        `SELECT g.search_terms,
                ARRAY(SELECT vocabulary_id FROM garment_attributes WHERE garment_id = g.id
                      UNION SELECT style_id FROM image_styles WHERE image_id = g.image_id ORDER BY 1) AS expected
           FROM garments g JOIN images i ON i.id = g.image_id WHERE i.dataset_id = $1`,
        [dataset],
      );
      expect(rows).toHaveLength(6);
      for (const row of rows) expect(row.search_terms).toEqual(row.expected);
      const [bow] = await query(`SELECT id, value_en FROM vocabulary WHERE kind = 'collar' AND value = '보우칼라'`);
      const [romantic] = await query(`SELECT id FROM vocabulary WHERE kind = 'style' AND value = '로맨틱'`);
      const [blouse] = await query(`SELECT id, value_en FROM vocabulary WHERE kind = 'category' AND value = '블라우스'`);
      expect(bow.value_en).toBe('bow');
      expect(blouse.value_en).toBe('blouse');
      const [top] = (await garmentsOf(dataset, '100026')).slice(1);
      expect(top.search_terms).toEqual(expect.arrayContaining([bow.id, romantic.id, blouse.id]));
    });

    it('leaves no dangling reference and copies the image split onto its garments', async () => {
      const [orphans] = await query(
        `SELECT (SELECT count(*) FROM garment_attributes ga LEFT JOIN garments g ON g.id = ga.garment_id WHERE g.id IS NULL)::int
                  + (SELECT count(*) FROM garment_attributes ga LEFT JOIN vocabulary v ON v.id = ga.vocabulary_id WHERE v.id IS NULL)::int
                  + (SELECT count(*) FROM garments g LEFT JOIN images i ON i.id = g.image_id WHERE i.id IS NULL)::int
                  + (SELECT count(*) FROM image_styles s LEFT JOIN vocabulary v ON v.id = s.style_id WHERE v.id IS NULL)::int AS n`,
      );
      expect(orphans.n).toBe(0);
      const [split] = await query(
        `SELECT count(*)::int AS n FROM garments g JOIN images i ON i.id = g.image_id
          WHERE i.dataset_id = $1 AND g.split IS NOT DISTINCT FROM i.split`,
        [dataset],
      );
      expect(split.n).toBe(6);
    });

    it('counts annotated garments per value (images per style) in the vocabulary', async () => {
      expect(await vocabularyCount('color', '화이트')).toBe(4);
      expect(await vocabularyCount('material', '우븐')).toBe(2);
      expect(await vocabularyCount('sleeveLength', '캡')).toBe(1);
      expect(await vocabularyCount('style', '로맨틱')).toBe(1);
      const [run] = await query(`SELECT status, stats FROM import_runs WHERE dataset_id = $1 ORDER BY id LIMIT 1`, [dataset]);
      expect(run.status).toBe('finished');
      expect(run.stats).toMatchObject({ imagesImported: 3, garmentsImported: 6 });
    });

    it('re-imports an unchanged tree without writing, and replaces the garments of a changed file', async () => {
      const before = await counts(dataset);
      const again = await importDataset(db.dataSource, { root, datasetName: 'samples' });
      expect(again).toMatchObject({ imagesImported: 0, imagesUpdated: 0, imagesUnchanged: 3, garmentsImported: 0 });
      expect(await counts(dataset)).toEqual(before);

      const changed = readSample('1070263');
      changed['데이터셋 정보']['데이터셋 상세설명']['라벨링']['상의'][0]['색상'] = '블랙';
      writeJson(root, `${LABELS}/1070263.json`, changed);
      const third = await importDataset(db.dataSource, { root, datasetName: 'samples' });
      expect(third).toMatchObject({ imagesImported: 0, imagesUpdated: 1, imagesUnchanged: 2, garmentsImported: 2 });
      expect(await counts(dataset)).toEqual({ ...before, attributes: before.attributes });
      const garments = await garmentsOf(dataset, '1070263');
      expect(garments.map((garment) => garment.attributes)).toEqual([['color=화이트'], ['color=블랙', 'sleeveLength=7부소매']]);
      expect(await vocabularyCount('color', '블랙')).toBe(1);
      expect(await vocabularyCount('color', '화이트')).toBe(3);
    });
  });

  it('reports every bad file or garment on one line with its reason, and imports the rest', async () => {
    const root = tree();
    copySamples(root);
    const truncated = writeFile(
      root,
      `${LABELS}/bad-truncated.json`,
      fs.readFileSync(path.join(root, LABELS, '100026.json')).subarray(0, 200),
    );
    const wrongType = variant(root, '100026', 900000, (json) => {
      json['이미지 정보']['이미지 너비'] = 'wide';
    });
    const missingImage = writeJson(root, `${LABELS}/900001.json`, {
      ...readSample('1092253'),
      '이미지 정보': { '이미지 식별자': 900001, '이미지 높이': 1049, '이미지 너비': 800, '이미지 파일명': 'nowhere.jpg' },
    });
    const corruptImage = variant(root, '100026', 900002);
    writeFile(root, `${PHOTOS}/900002.jpg`, Buffer.from('this is not a JPEG'));
    const wrongSize = variant(root, '100026', 900003, (json) => {
      json['이미지 정보']['이미지 너비'] = 801;
    });
    const zeroArea = variant(root, '100026', 900004, (json) => {
      json['데이터셋 정보']['데이터셋 상세설명']['렉트좌표']['상의'][0]['가로'] = 0;
    });
    // Same identifier as the sample, in a folder walked after 로맨틱.
    const duplicate = writeJson(root, 'Training/라벨링데이터/스트리트/1070263.json', readSample('1070263'));
    const reportPath = path.join(root, 'report.jsonl');

    const stats = await importDataset(db.dataSource, { root, datasetName: 'bad', reportPath, verifyImages: true });
    expect(stats).toMatchObject({ filesSeen: 10, imagesImported: 4, filesRejected: 6, garmentsRejected: 1, garmentsImported: 7 });
    const rejected = readReport(reportPath).filter((line) => line.action === 'rejected');
    const byFile = Object.fromEntries(rejected.map((line) => [line.file, line]));
    expect(rejected).toHaveLength(7);
    expect(byFile[truncated].reason).toMatch(/^invalid JSON: .*(end of JSON input|position)/);
    expect(byFile[wrongType]).toMatchObject({ field: '이미지 정보.이미지 너비' });
    expect(byFile[wrongType].reason).toMatch(/"wide"|string/);
    expect(byFile[missingImage]).toMatchObject({ reason: expect.stringMatching(/^image not found: tried nowhere\.jpg, 900001\.jpg/) });
    expect(byFile[corruptImage].reason).toMatch(/^image unreadable: Training\/원천데이터\/로맨틱\/900002\.jpg: /);
    expect(byFile[wrongSize].reason).toBe(
      `image ${PHOTOS}/900003.jpg is 800x800, which does not match the annotation's 이미지 너비 x 이미지 높이 801x800`,
    );
    expect(byFile[duplicate].reason).toBe(
      `duplicate 이미지 식별자 1070263: already imported from ${LABELS}/1070263.json; this file was skipped`,
    );
    expect(byFile[zeroArea]).toMatchObject({ superCategory: 'TOP', slotIndex: 0, field: expect.stringContaining('렉트좌표.상의') });
    expect(byFile[zeroArea].reason).toMatch(/zero-area box/);
    const dataset = await datasetId('bad');
    const kept = await garmentsOf(dataset, '900004');
    expect(kept.map((garment) => garment.category)).toEqual(['스커트']);
    const [{ ids }] = await query(`SELECT array_agg(external_id ORDER BY external_id) AS ids FROM images WHERE dataset_id = $1`, [dataset]);
    expect(ids).toEqual(['100026', '1070263', '1092253', '900004']);
  });

  it('resumes an interrupted import without duplicates and ends where a clean import ends', async () => {
    const root = tree();
    copySamples(root);
    for (let i = 0; i < 27; i++) variant(root, (['100026', '1070263', '1092253'] as const)[i % 3], 700000 + i);
    const controller = new AbortController();
    let batches = 0;
    await expect(
      importDataset(db.dataSource, {
        root,
        datasetName: 'resumed',
        batchSize: 4,
        signal: controller.signal,
        onProgress: () => {
          if (++batches === 2) controller.abort();
        },
      }),
    ).rejects.toThrow(ImportAbortedError);
    const dataset = await datasetId('resumed');
    const partial = await counts(dataset);
    expect(partial.images).toBeGreaterThanOrEqual(8);
    expect(partial.images).toBeLessThan(30);
    const [failedRun] = await query(`SELECT status FROM import_runs WHERE dataset_id = $1`, [dataset]);
    expect(failedRun.status).toBe('failed');

    const resumed = await importDataset(db.dataSource, { root, datasetName: 'resumed', batchSize: 4 });
    expect(resumed.imagesUnchanged).toBe(partial.images);
    expect(resumed.imagesImported).toBe(30 - partial.images);

    // The reference goes through the ordinary per-row-checked inserts: both paths must agree.
    const clean = await importDataset(db.dataSource, { root, datasetName: 'clean', batchSize: 64, bypassTriggers: false });
    expect(clean.imagesImported).toBe(30);
    expect(await counts(dataset)).toEqual(await counts(await datasetId('clean')));
  });

  it('imports labels without their photos when asked to (label archive only)', async () => {
    const root = tree();
    writeFile(root, 'Validation/라벨링데이터/100026.json', fs.readFileSync(path.join(LABELS_SOURCE, '100026.json')));
    const rejected = await importDataset(db.dataSource, { root, datasetName: 'labels-only' });
    expect(rejected).toMatchObject({ filesRejected: 1, imagesImported: 0 });
    const stats = await importDataset(db.dataSource, { root, datasetName: 'labels-only', allowMissingImages: true });
    expect(stats).toMatchObject({ filesRejected: 0, imagesImported: 1, filesWithoutImage: 1, garmentsImported: 2 });
    const [image] = await query(`SELECT image_path, split FROM images WHERE dataset_id = $1`, [await datasetId('labels-only')]);
    expect(image).toEqual({ image_path: null, split: 'validation' });
  });

  it('vacuums and analyses the tables it wrote, so counts can skip all-visible heap pages', async () => {
    const root = tree();
    copySamples(root);
    await importDataset(db.dataSource, { root, datasetName: 'vacuumed' });
    const rows = await query<{ relname: string; vacuumed: boolean; analysed: boolean; pages: number; visible: number }>(
      `SELECT s.relname, s.last_vacuum IS NOT NULL AS vacuumed, s.last_analyze IS NOT NULL AS analysed, c.relpages AS pages, c.relallvisible AS visible
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = ANY($1) ORDER BY s.relname`,
      [['garments', 'garment_attributes', 'image_styles', 'images', 'vocabulary']],
    );
    expect(rows.map((r) => [r.relname, r.vacuumed, r.analysed])).toEqual(
      ['garment_attributes', 'garments', 'image_styles', 'images', 'vocabulary'].map((t) => [t, true, true]),
    );
    const garments = rows.find((r) => r.relname === 'garments')!;
    expect(garments.pages).toBeGreaterThan(0);
    expect(garments.visible).toBe(garments.pages);
  });

  it('fails with a message naming the root when it does not exist', async () => {
    await expect(importDataset(db.dataSource, { root: '/nonexistent/k-fashion' })).rejects.toThrow(
      'import root not found: /nonexistent/k-fashion',
    );
  });
});
