/**
 * The similarity search's garment filter on a real database: the matching ids come from the bit
 * strings when they are current (no statement over the garments), from the filter's SQL when they
 * are stale or the filter is more than value, split, source and super-category conditions, and are
 * the same either way. The
 * catalogue has 300,000 garments, so one answer carries more ids than one call's arguments may.
 */
import { EVERY_MATCH, GarmentIdFilter } from '../../src/db/garment-id-filter';
import { FacetCounts } from '../../src/db/search-counts';
import type { GarmentFilter } from '../../src/db/search-filter';
import { VocabularyCache } from '../../src/db/search-vocabulary';
import { SuperCategory } from '../../src/kfashion/types';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

const GARMENTS = 300_000;

describe('GarmentIdFilter', () => {
  let db: TestDatabase;
  let ids: GarmentIdFilter;
  let counts: FacetCounts;
  const statements: string[] = [];

  /** The reference: ids of garments whose terms include `term` (and `and`, when given), from plain SQL. */
  const reference = async (term: string, and?: string): Promise<number[]> =>
    (
      await db.dataSource.query(
        `SELECT id FROM garments WHERE search_terms @> ARRAY(SELECT id FROM vocabulary WHERE value = ANY($1::text[])) ORDER BY id`,
        [and ? [term, and] : [term]],
      )
    ).map((row: { id: string }) => Number(row.id));

  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

  /** The reference: ids of the garments meeting a plain SQL condition. */
  const sql = async (condition: string): Promise<number[]> =>
    (await db.dataSource.query(`SELECT id FROM garments WHERE ${condition} ORDER BY id`)).map((row: { id: string }) => Number(row.id));

  beforeAll(async () => {
    db = await createPostgresTestDatabase();
    const q = db.dataSource.query.bind(db.dataSource);
    await q(`INSERT INTO vocabulary (kind, value) VALUES ('category', '스커트'), ('category', '블라우스'), ('color', '블랙')`);
    const [{ id: imageId }] = await q(
      `INSERT INTO images (file_name, width, height, split) VALUES ('a.jpg', 800, 800, 'train') RETURNING id`,
    );
    // Skirts (BOTTOM) are every 4th garment, blouses (TOP) the rest; every 3rd garment is black,
    // every 5th in the validation split.
    await q(
      `INSERT INTO garments (image_id, split, super_category, category_id, x1, y1, x2, y2, source, search_terms)
       SELECT $1, CASE WHEN i % 5 = 0 THEN 'validation' ELSE 'train' END, CASE WHEN i % 4 = 0 THEN 'BOTTOM' ELSE 'TOP' END,
              c.id, 10, 10, 200, 300, 'annotation',
              ARRAY[c.id] || CASE WHEN i % 3 = 0 THEN ARRAY[(SELECT id FROM vocabulary WHERE value = '블랙')] ELSE '{}' END
         FROM generate_series(1, ${GARMENTS}) i
         JOIN vocabulary c ON c.value = CASE WHEN i % 4 = 0 THEN '스커트' ELSE '블라우스' END`,
      [imageId],
    );
    counts = new FacetCounts(db.dataSource);
    await counts.rebuild();
    ids = new GarmentIdFilter(db.dataSource, new VocabularyCache(db.dataSource), counts);
    const query = db.dataSource.query.bind(db.dataSource);
    jest.spyOn(db.dataSource, 'query').mockImplementation((sql: string, ...rest: any[]) => {
      statements.push(sql);
      return query(sql, ...rest);
    });
  }, 120_000);

  afterAll(async () => {
    jest.restoreAllMocks();
    await counts?.settled(); // the rebuild the stale bits asked for
    await db?.drop();
  });

  const garmentScans = () => statements.filter((sql) => sql.includes('FROM garments g WHERE'));

  it('reads every match of a value filter from the current term bits, over 200,000 of them in one answer', async () => {
    statements.length = 0;
    const blouses = await ids.matching({ category: ['블라우스'] }, EVERY_MATCH);
    expect(blouses.length).toBe((GARMENTS * 3) / 4);
    expect(blouses).toEqual(await reference('블라우스'));
    const blackSkirts = await ids.matching({ category: ['스커트'], color: ['블랙'] }, EVERY_MATCH);
    expect(blackSkirts).toEqual(await reference('스커트', '블랙'));
    expect(await ids.matching({ category: ['스커트'] }, 1000)).toEqual((await reference('스커트')).slice(0, 1000));
    expect(garmentScans()).toEqual([]);
  });

  it('reads split, source and super-category conditions from the bits too, and finds what SQL finds', async () => {
    const blouse = `search_terms @> ARRAY(SELECT id FROM vocabulary WHERE value = '블라우스')`;
    const cases: [GarmentFilter, string][] = [
      [{ split: 'validation' }, `split = 'validation'`],
      [{ superCategory: [SuperCategory.BOTTOM] }, `super_category = 'BOTTOM'`],
      [{ superCategory: [SuperCategory.BOTTOM, SuperCategory.OUTER] }, `super_category IN ('BOTTOM', 'OUTER')`],
      [{ source: 'annotation', split: 'train', category: ['블라우스'] }, `source = 'annotation' AND split = 'train' AND ${blouse}`],
      [{ source: 'prediction' }, `source = 'prediction'`],
    ];
    statements.length = 0;
    for (const [filter, condition] of cases) expect(await ids.matching(filter, EVERY_MATCH)).toEqual(await sql(condition));
    expect(garmentScans()).toEqual([]);
  });

  it('reads every match from the bits for a search that needs at least some, and says when SQL read only part of them', async () => {
    statements.length = 0;
    expect(await ids.matchingAtLeast({ category: ['블라우스'] }, 1000)).toEqual({ ids: await reference('블라우스'), complete: true });
    expect(garmentScans()).toEqual([]);
    const trainSkirts = { category: ['스커트'], not: { split: 'validation' as const } };
    const part = await ids.matchingAtLeast(trainSkirts, 1000);
    expect([part.ids.length, part.complete]).toEqual([1001, false]);
    const black = await ids.matchingAtLeast({ ...trainSkirts, color: ['블랙'] }, 100_000);
    expect({ ...black, ids: sorted(black.ids) }).toEqual({
      ids: await sql(`split = 'train' AND search_terms @> ARRAY(SELECT id FROM vocabulary WHERE value IN ('스커트', '블랙'))`),
      complete: true,
    });
    expect(garmentScans()).toHaveLength(2);
  });

  it('reads the matches with SQL when the filter is more than these conditions, or the bits are stale, and finds the same', async () => {
    statements.length = 0;
    expect(sorted(await ids.matching({ category: ['스커트'], not: { split: 'validation' } }, EVERY_MATCH))).toEqual(
      await sql(`split = 'train' AND search_terms @> ARRAY(SELECT id FROM vocabulary WHERE value = '스커트')`),
    );
    expect(garmentScans()).toHaveLength(1);

    const [{ id: imageId }] = await db.dataSource.query(`SELECT id FROM images LIMIT 1`);
    const [{ id: added }] = await db.dataSource.query(
      `INSERT INTO garments (image_id, split, super_category, category_id, x1, y1, x2, y2, source, search_terms)
       SELECT $1, 'train', 'BOTTOM', id, 10, 10, 200, 300, 'annotation', ARRAY[id] FROM vocabulary WHERE value = '스커트' RETURNING id`,
      [imageId],
    );
    statements.length = 0;
    const skirts = sorted(await ids.matching({ category: ['스커트'] }, EVERY_MATCH));
    expect(skirts).toContain(Number(added));
    expect(skirts).toEqual(await reference('스커트'));
    expect(garmentScans()).toHaveLength(1);
  });
});
