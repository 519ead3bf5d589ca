/**
 * The GraphQL API over real HTTP against real PostgreSQL, on the three real K-Fashion samples
 * (imported by the real importer) plus variants of them: browsing, search in Korean and English,
 * facets checked against plain SQL, keyset pagination, errors with codes, and query counts.
 */
import * as fs from 'node:fs';
import { importDataset } from '../../src/db/import';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { globalId } from '../../src/graphql/ids';
import { ApiClient, makeSampleTree, QueryCounter, startTestServer } from './support';

const GARMENT_FIELDS = `id superCategory category categoryEn source score box { x1 y1 x2 y2 } polygon { x y }
  attributes { kind value valueEn score }`;

/** Variants: one validation copy of 100026 with another collar and style, and 60 training copies (pagination, query counts). */
const VARIANTS = [
  {
    from: '100026',
    id: 2000001,
    split: 'Validation' as const,
    change: (json: any) => {
      const labels = json['데이터셋 정보']['데이터셋 상세설명']['라벨링'];
      labels['상의'][0]['옷깃'] = '셔츠칼라';
      labels['스타일'] = [{ 스타일: '스트리트', 서브스타일: '모던' }];
    },
  },
  ...Array.from({ length: 60 }, (_, i) => ({
    from: i % 2 ? '1070263' : '1092253',
    id: 3000000 + i,
    change: (json: any) => {
      const labels = json['데이터셋 정보']['데이터셋 상세설명']['라벨링'];
      labels['상의'][0]['소재'] = i % 3 === 0 ? ['니트', '면'] : ['면'];
      if (i % 4 === 0) labels['스타일'] = [{ 스타일: '모던' }];
    },
  })),
];

let db: TestDatabase;
let api: ApiClient;
let root: string;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree(VARIANTS);
  await importDataset(db.dataSource, { root });
  api = await startTestServer(db.dataSource);
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

async function allGarmentIds(where: string): Promise<string[]> {
  const rows: { id: string }[] = await db.dataSource.query(
    `SELECT g.id FROM garments g JOIN images i ON i.id = g.image_id WHERE ${where} ORDER BY g.id`,
  );
  return rows.map((row) => globalId('Garment', row.id));
}

describe('browsing', () => {
  it('imageByExternalId("100026") returns its two garments with attributes and the 로맨틱 style', async () => {
    const data = await api.data(
      `query($id: String!) { imageByExternalId(externalId: $id) {
         id databaseId externalId fileName width height split url thumbnailUrl(size: 128) styles { style styleEn subStyle }
         garments { ${GARMENT_FIELDS} } } }`,
      { id: '100026' },
    );
    const image = data.imageByExternalId;
    expect(image).toMatchObject({ externalId: '100026', fileName: 'Ave29th_160_02.jpg', width: 800, height: 800, split: 'TRAIN' });
    expect(image.styles).toEqual([{ style: '로맨틱', styleEn: 'romantic', subStyle: null }]);
    expect(image.url).toBe(`/images/${image.databaseId}`);
    expect(image.thumbnailUrl).toBe(`/images/${image.databaseId}/thumbnail?size=128`);
    const bySlot = Object.fromEntries(image.garments.map((garment: any) => [garment.superCategory, garment]));
    expect(Object.keys(bySlot).sort()).toEqual(['BOTTOM', 'TOP']);
    const blouse = bySlot.TOP;
    expect(blouse).toMatchObject({ category: '블라우스', categoryEn: 'blouse', source: 'ANNOTATION', score: null });
    expect(blouse.box.x1).toBeCloseTo(260.144, 3);
    expect(blouse.box.x2).toBeCloseTo(260.144 + 295, 3);
    expect(blouse.polygon).toHaveLength(12);
    expect(blouse.polygon[0].x).toBeCloseTo(350.519, 3);
    const attributes = blouse.attributes.map((a: any) => `${a.kind}=${a.value}/${a.valueEn}`).sort();
    expect(attributes).toEqual(
      [
        'CATEGORY=블라우스/blouse',
        'COLLAR=보우칼라/bow',
        'COLOR=화이트/white',
        'FIT=루즈/loose',
        'LENGTH=노멀/normal',
        'MATERIAL=레이스/lace',
        'MATERIAL=우븐/woven',
        'NECKLINE=브이넥/V-neck',
        'PRINT=도트/dot',
        'SLEEVE_LENGTH=캡/cap',
        'SUB_COLOR=실버/silver',
      ].sort(),
    );
    expect(bySlot.BOTTOM).toMatchObject({ category: '스커트', categoryEn: 'skirt' });
  });

  it('image(id) and garment(id) resolve back and forth', async () => {
    const { imageByExternalId } = await api.data(`{ imageByExternalId(externalId: "1092253") { id garments { id } } }`);
    const garmentId = imageByExternalId.garments[0].id;
    const data = await api.data(
      `query($g: ID!, $i: ID!) {
      garment(id: $g) { id databaseId image { externalId } cropUrl(size: 64) }
      image(id: $i) { externalId } }`,
      { g: garmentId, i: imageByExternalId.id },
    );
    expect(data.garment).toEqual({
      id: garmentId,
      databaseId: expect.stringMatching(/^\d+$/),
      image: { externalId: '1092253' },
      cropUrl: `/garments/${data.garment.databaseId}/crop?size=64`,
    });
    expect(garmentId).toBe(globalId('Garment', data.garment.databaseId));
    expect(data.image).toEqual({ externalId: '1092253' });
    expect((await api.data(`{ image(id: "${globalId('Image', 999999999)}") { id } }`)).image).toBeNull();
  });

  it('vocabulary(kind) lists values with counts and English labels', async () => {
    const { vocabulary } = await api.data(`{ vocabulary(kind: COLLAR) { kind value valueEn count } }`);
    expect(vocabulary).toEqual([
      { kind: 'COLLAR', value: '보우칼라', valueEn: 'bow', count: 1 },
      { kind: 'COLLAR', value: '셔츠칼라', valueEn: 'shirt', count: 1 },
    ]);
  });
});

describe('searchGarments', () => {
  const SEARCH = `query($where: GarmentWhere!, $first: Int, $after: String) {
    searchGarments(where: $where, first: $first, after: $after) {
      totalCount edges { cursor node { id category image { externalId } } } pageInfo { hasNextPage endCursor } } }`;

  it('collar 보우칼라 finds exactly the blouse of 100026, and so does collar "bow" in English', async () => {
    const { imageByExternalId } = await api.data(`{ imageByExternalId(externalId: "100026") { garments { id superCategory } } }`);
    const blouseId = imageByExternalId.garments.find((g: any) => g.superCategory === 'TOP').id;
    for (const where of [{ collar: ['보우칼라'] }, { collar: 'bow' }, { attributes: [{ kind: 'COLLAR', anyOf: ['Bow'] }] }]) {
      const { searchGarments } = await api.data(SEARCH, { where });
      expect(searchGarments.totalCount).toBe(1);
      expect(searchGarments.edges.map((edge: any) => edge.node)).toEqual([
        { id: blouseId, category: '블라우스', image: { externalId: '100026' } },
      ]);
    }
  });

  it('combines split, styles, allOf, or and not as plain SQL over the attribute rows does', async () => {
    const hasValue = (kind: string, value: string) =>
      `EXISTS (SELECT 1 FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
                WHERE ga.garment_id = g.id AND v.kind = '${kind}' AND v.value = '${value}')`;
    const hasStyle = (value: string) =>
      `EXISTS (SELECT 1 FROM image_styles s JOIN vocabulary v ON v.id = s.style_id WHERE s.image_id = i.id AND v.value = '${value}')`;
    const cases: [object, string][] = [
      [{ split: 'VALIDATION' }, `i.split = 'validation'`],
      [{ split: 'TRAIN', superCategory: 'TOP' }, `i.split = 'train' AND g.super_category = 'TOP'`],
      [{ styles: ['modern', '스트리트'] }, `(${hasStyle('모던')} OR ${hasStyle('스트리트')})`],
      [{ attributes: [{ kind: 'MATERIAL', allOf: ['knit', '면'] }] }, `${hasValue('material', '니트')} AND ${hasValue('material', '면')}`],
      [{ material: ['knit', 'lace'] }, `(${hasValue('material', '니트')} OR ${hasValue('material', '레이스')})`],
      [
        { or: [{ color: 'white' }, { color: '베이지' }], not: { superCategory: ['BOTTOM'] } },
        `(${hasValue('color', '화이트')} OR ${hasValue('color', '베이지')}) AND g.super_category <> 'BOTTOM'`,
      ],
      [{ and: [{ color: 'grey' }, { sleeveLength: 'short' }] }, `${hasValue('color', '그레이')} AND ${hasValue('sleeveLength', '반팔')}`],
      [{ category: 'skirt', source: 'ANNOTATION' }, hasValue('category', '스커트')],
      [{ source: 'PREDICTION' }, 'FALSE'],
      [{ collar: 'sailor' }, 'FALSE'], // a published value no garment has: empty, not an error
    ];
    for (const [where, sql] of cases) {
      const expected = await allGarmentIds(sql);
      const { searchGarments } = await api.data(SEARCH, { where, first: 100 });
      expect({ where, ids: searchGarments.edges.map((edge: any) => edge.node.id) }).toEqual({ where, ids: expected });
      expect(searchGarments.totalCount).toBe(expected.length);
    }
  });

  it('walks every match page by page with opaque cursors, no duplicates, no gaps', async () => {
    const expected = await allGarmentIds(`g.super_category = 'TOP'`);
    expect(expected.length).toBeGreaterThan(20);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const { searchGarments }: any = await api.data(SEARCH, { where: { superCategory: 'TOP' }, first: 7, after });
      expect(searchGarments.totalCount).toBe(expected.length);
      seen.push(...searchGarments.edges.map((edge: any) => edge.node.id));
      pages++;
      if (!searchGarments.pageInfo.hasNextPage) break;
      after = searchGarments.pageInfo.endCursor;
      expect(after).not.toMatch(/\d{3,}/); // opaque, not a bare id
    }
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(Math.ceil(expected.length / 7));
  });
});

describe('garmentFacets', () => {
  it('counts each value among the matches exactly as plain SQL over garment_attributes and image_styles does', async () => {
    const { garmentFacets } = await api.data(`{ garmentFacets(where: { superCategory: TOP }, kinds: [COLOR, MATERIAL, STYLE]) {
      kind values { value valueEn count } } }`);
    const attributeCounts: { kind: string; value: string; n: number }[] = await db.dataSource.query(
      `SELECT v.kind, v.value, count(DISTINCT g.id)::int AS n
         FROM garments g JOIN garment_attributes ga ON ga.garment_id = g.id JOIN vocabulary v ON v.id = ga.vocabulary_id
        WHERE g.super_category = 'TOP' AND v.kind IN ('color', 'material') GROUP BY v.kind, v.value`,
    );
    const styleCounts: { kind: string; value: string; n: number }[] = await db.dataSource.query(
      `SELECT 'style' AS kind, v.value, count(DISTINCT g.id)::int AS n
         FROM garments g JOIN image_styles s ON s.image_id = g.image_id JOIN vocabulary v ON v.id = s.style_id
        WHERE g.super_category = 'TOP' GROUP BY v.value`,
    );
    const expected = [...attributeCounts, ...styleCounts].map((row) => `${row.kind.toUpperCase()}:${row.value}=${row.n}`).sort();
    const actual = garmentFacets.flatMap((facet: any) => facet.values.map((v: any) => `${facet.kind}:${v.value}=${v.count}`)).sort();
    expect(actual).toEqual(expected);
    expect(garmentFacets.map((facet: any) => facet.kind)).toEqual(['COLOR', 'MATERIAL', 'STYLE']);
    const colors = garmentFacets[0].values;
    expect(colors.map((v: any) => v.count)).toEqual([...colors.map((v: any) => v.count)].sort((a, b) => b - a));
    expect(colors.find((v: any) => v.value === '화이트').valueEn).toBe('white');
  });
});

describe('errors', () => {
  async function errorOf(query: string, variables: Record<string, unknown> = {}) {
    const result = await api.query(query, variables);
    expect(result.errors).toHaveLength(1);
    return { status: result.status, ...result.errors![0] };
  }

  it('names the argument and uses BAD_USER_INPUT for unknown kinds, values, bad cursors and oversized pages', async () => {
    const search = `query($where: GarmentWhere!, $first: Int, $after: String) {
      searchGarments(where: $where, first: $first, after: $after) { totalCount } }`;
    const unknownKind = await errorOf(search, { where: { attributes: [{ kind: 'COLOUR', anyOf: ['red'] }] } });
    expect(unknownKind.extensions).toEqual({ code: 'BAD_USER_INPUT', field: '$where.attributes[0].kind' });
    expect(unknownKind.message).toMatch(/Value "COLOUR" does not exist in "AttributeKind" enum/);
    const unknownValue = await errorOf(search, { where: { or: [{ color: ['red'] }, { color: ['reddish'] }] } });
    expect(unknownValue.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'where.or[1].color[0]' });
    expect(unknownValue.message).toMatch(/unknown color value "reddish"/);
    const allOfSingle = await errorOf(search, { where: { attributes: [{ kind: 'COLOR', allOf: ['red', 'blue'] }] } });
    expect(allOfSingle.extensions?.field).toBe('where.attributes[0].allOf');
    const badCursor = await errorOf(search, { where: {}, after: 'bm90LWEtY3Vyc29y' });
    expect(badCursor.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    const imageCursor = (await api.data(`{ images(first: 1) { pageInfo { endCursor } } }`)).images.pageInfo.endCursor;
    expect((await errorOf(search, { where: {}, after: imageCursor })).extensions?.code).toBe('BAD_USER_INPUT');
    const oversized = await errorOf(search, { where: {}, first: 1000 });
    expect(oversized.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    // An unknown kind is refused before anything runs.
    const facetKind = await errorOf(`{ garmentFacets(kinds: [COLOR, SHAPE]) { kind } }`);
    expect(facetKind.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    const badEnum = await errorOf(search, { where: { superCategory: ['HAT'] } });
    expect(badEnum.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('rejects queries that are too deep or too costly before running them', async () => {
    const deep = await errorOf(`{ searchGarments(where: {}) { edges { node { image { garments { image { garments {
      image { garments { image { id } } } } } } } } } } }`);
    expect(deep.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(deep.message).toMatch(/depth \d+ exceeds the maximum of 10/);
    const costly = await errorOf(`{ images(first: 100) { edges { node { garments { attributes { kind value valueEn score }
      image { garments { attributes { kind } } } } } } } }`);
    expect(costly.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(costly.message).toMatch(/complexity \d+ exceeds the maximum/);
  });

  it('answers a query cancelled by the statement timeout with QUERY_TIMEOUT, not internals', async () => {
    const { openDatabase } = await import('../../src/db/data-source');
    const slowSource = await openDatabase({ url: db.url, statementTimeoutMs: 300, poolSize: 2 });
    const slowApi = await startTestServer(slowSource);
    const locker = db.dataSource.createQueryRunner();
    try {
      await locker.startTransaction();
      await locker.query('LOCK TABLE garments IN ACCESS EXCLUSIVE MODE');
      const result = await slowApi.query(`{ searchGarments(where: {}) { totalCount } }`);
      expect(result.errors?.[0].extensions?.code).toBe('QUERY_TIMEOUT');
      expect(JSON.stringify(result)).not.toMatch(/canceling|statement timeout|57014|relation/i);
    } finally {
      await locker.rollbackTransaction();
      await locker.release();
      await slowApi.server.stop();
      await slowSource.destroy();
    }
  });
});

describe('efficiency', () => {
  it('answers a page of 50 images with garments, attributes and styles in a constant number of queries', async () => {
    const counter = new QueryCounter(db.dataSource);
    // Anonymous (reads are public here): a token adds its one lookup to every request.
    const page = (first: number) =>
      counter.during(() =>
        api.as(undefined).data(
          `query($first: Int!) { images(first: $first) { totalCount edges { node { externalId styles { style }
          garments { category attributes { kind value } image { externalId } } } } } }`,
          { first },
        ),
      );
    try {
      const fifty = await page(50);
      expect(fifty.result.images.edges).toHaveLength(50);
      const garments = fifty.result.images.edges.flatMap((edge: any) => edge.node.garments);
      expect(garments.length).toBeGreaterThanOrEqual(100);
      expect(garments.every((garment: any) => garment.attributes.length > 0)).toBe(true);
      // images page + count + garments + attributes + styles; garment → image comes from the primed loader
      expect(fifty.queries).toBe(5);
      const five = await page(5);
      expect(five.queries).toBe(fifty.queries);
    } finally {
      counter.detach();
    }
  });
});

describe('predictions, model versions and training runs (rows as the model server writes them)', () => {
  let modelVersionId: number;
  const predicted: Record<string, string> = {};

  beforeAll(async () => {
    const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);
    const [run] = await q(`INSERT INTO training_runs (status, params) VALUES ('succeeded', '{"epochs": 2}') RETURNING id`);
    await q(
      `INSERT INTO training_metrics (training_run_id, step, epoch, name, value) VALUES ($1, 1, 0, 'loss', 2.5), ($1, 2, 0, 'loss', 1.5)`,
      [run.id],
    );
    const [version] = await q(
      `INSERT INTO model_versions (name, backbone, config, weights_path, training_run_id) VALUES ('v1', 'resnet50', '{"num_classes": 5}', '/m/v1.safetensors', $1) RETURNING id`,
      [run.id],
    );
    modelVersionId = version.id;
    await q(`UPDATE training_runs SET model_version_id = $1 WHERE id = $2`, [modelVersionId, run.id]);
    const [image] = await q(`SELECT id FROM images WHERE external_id = '100026'`);
    const vocabularyId = async (kind: string, value: string) =>
      (await q(`SELECT id FROM vocabulary WHERE kind = $1 AND value = $2`, [kind, value]))[0].id;
    const blouse = await vocabularyId('category', '블라우스');
    const bow = await vocabularyId('collar', '보우칼라');
    for (const [name, score] of [
      ['confident', 0.9],
      ['unsure', 0.3],
    ] as const) {
      const [garment] = await q(
        `INSERT INTO garments (image_id, super_category, category_id, x1, y1, x2, y2, source, model_version_id, score, search_terms)
         VALUES ($1, 'TOP', $2, 10, 10, 100, 100, 'prediction', $3, $4, $5) RETURNING id`,
        [image.id, blouse, modelVersionId, score, [blouse, bow]],
      );
      predicted[name] = globalId('Garment', garment.id);
      await q(`INSERT INTO garment_attributes (garment_id, vocabulary_id, score) VALUES ($1, $2, $4), ($1, $3, 0.8)`, [
        garment.id,
        blouse,
        bow,
        score,
      ]);
    }
    // An image outside both splits (e.g. an upload): NOT { split: TRAIN } must still find its garment.
    const [upload] = await q(
      `INSERT INTO images (external_id, file_name, width, height) VALUES ('upload-1', 'u.jpg', 10, 10) RETURNING id`,
    );
    const [garment] = await q(
      `INSERT INTO garments (image_id, super_category, x1, y1, x2, y2, search_terms) VALUES ($1, 'TOP', 1, 1, 5, 5, '{}') RETURNING id`,
      [upload.id],
    );
    predicted.upload = globalId('Garment', garment.id);
  });

  it('filters by source, model version and minimum score', async () => {
    const search = `query($where: GarmentWhere!) { searchGarments(where: $where, first: 100) {
      totalCount edges { node { id source score modelVersion { id name } attributes { kind value score } } } } }`;
    const all = await api.data(search, { where: { source: 'PREDICTION', modelVersionId: globalId('ModelVersion', modelVersionId) } });
    expect(all.searchGarments.edges.map((e: any) => e.node.id)).toEqual([predicted.confident, predicted.unsure]);
    const confident = await api.data(search, { where: { source: 'PREDICTION', minScore: 0.5, collar: 'bow' } });
    expect(confident.searchGarments.edges).toHaveLength(1);
    expect(confident.searchGarments.edges[0].node).toEqual({
      id: predicted.confident,
      source: 'PREDICTION',
      score: expect.closeTo(0.9, 5),
      modelVersion: { id: globalId('ModelVersion', modelVersionId), name: 'v1' },
      attributes: [
        { kind: 'CATEGORY', value: '블라우스', score: expect.closeTo(0.9, 5) },
        { kind: 'COLLAR', value: '보우칼라', score: expect.closeTo(0.8, 5) },
      ],
    });
    const annotationsOnly = await api.data(search, { where: { collar: '보우칼라', source: 'ANNOTATION' } });
    expect(annotationsOnly.searchGarments.totalCount).toBe(1);
  });

  it('lets an image list its annotations or its predictions', async () => {
    const { imageByExternalId } = await api.data(`{ imageByExternalId(externalId: "100026") {
      annotations: garments(source: ANNOTATION) { id } predictions: garments(source: PREDICTION) { id score }
      all: garments { id } } }`);
    expect(imageByExternalId.annotations).toHaveLength(2);
    expect(imageByExternalId.predictions.map((g: any) => g.id)).toEqual([predicted.confident, predicted.unsure]);
    expect(imageByExternalId.all).toHaveLength(4);
  });

  it('keeps garments of images without a split in NOT { split: TRAIN }', async () => {
    const expected = await allGarmentIds(`i.split IS DISTINCT FROM 'train'`);
    expect(expected).toContain(predicted.upload);
    const { searchGarments } = await api.data(`{ searchGarments(where: { not: { split: TRAIN } }, first: 100) { edges { node { id } } } }`);
    expect(searchGarments.edges.map((e: any) => e.node.id)).toEqual(expected);
  });

  it('reads model versions and training runs with their metrics', async () => {
    const data =
      await api.data(`{ modelVersions { edges { node { id name backbone config isActive trainingRun { status params { epochs momentum }
      metrics(name: "loss") { step value } modelVersion { name } } } } } trainingRuns(status: SUCCEEDED) { edges { node { id status } } } }`);
    expect(data.modelVersions.edges.map((edge: any) => edge.node)).toEqual([
      {
        id: globalId('ModelVersion', modelVersionId),
        name: 'v1',
        backbone: 'resnet50',
        config: { num_classes: 5 },
        isActive: false,
        trainingRun: {
          status: 'SUCCEEDED',
          params: { epochs: 2, momentum: null },
          metrics: [
            { step: 1, value: 2.5 },
            { step: 2, value: 1.5 },
          ],
          modelVersion: { name: 'v1' },
        },
      },
    ]);
    expect(data.trainingRuns.edges).toHaveLength(1);
  });
});
