/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 *
 * similarGarments and shopTheLook over real HTTP on a real PostgreSQL database: garments and their
 * int8 embeddings are written with plain SQL, and every answer is checked against an exact
 * reference computed here (cosine of the stored int8 vectors in float64, the codec's cosineSimilarity, not the index's code; the filter evaluated on the
 * rows written). Changes to embeddings and garments must show in the next search without a rebuild.
 * (The host's typed arrays: usearch's native binding makes and checks them in the host realm.)
 */
import { createApiToken } from '../../src/db/api-tokens';
import { globalId } from '../../src/graphql/ids';
import { cosineSimilarity as cosine } from '../../src/ml/embedding/int8';
import { seededRandom } from '../../src/util/random';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { ApiClient, startTestServer } from './support';

const DIMENSIONS = 48;
const GARMENTS = 240;
const CATEGORIES = ['블라우스', '티셔츠', '스커트'] as const;
const COLORS = ['블랙', '화이트'] as const;

interface Row {
  id: number;
  imageId: number;
  category: (typeof CATEGORIES)[number];
  color: (typeof COLORS)[number];
  split: 'train' | 'validation';
  source: 'annotation' | 'prediction';
  vector: Int8Array;
}

let db: TestDatabase;
let api: ApiClient;
let viewer: string;
let modelVersionId: number;
let otherModelVersionId: number;
const rows = new Map<number, Row>();
const termIds = new Map<string, number>();

const random = seededRandom(24);

function randomVector(): Int8Array {
  return Int8Array.from({ length: DIMENSIONS }, () => Math.round(random() * 254 - 127));
}

/** Ids of the `count` garments most like `garmentId` among those `admit` accepts, by the reference. */
function exactNearest(garmentId: number, count: number, admit: (row: Row) => boolean = () => true, exclude = [garmentId]): number[] {
  const query = rows.get(garmentId)!.vector;
  return [...rows.values()]
    .filter((row) => !exclude.includes(row.id) && admit(row))
    .map((row) => ({ id: row.id, similarity: cosine(query, row.vector) }))
    .sort((a, b) => b.similarity - a.similarity || a.id - b.id)
    .slice(0, count)
    .map((entry) => entry.id);
}

async function writeEmbedding(garmentId: number, vector: Int8Array, version = modelVersionId): Promise<void> {
  await db.dataSource.query(
    `INSERT INTO garment_embeddings (model_version_id, garment_id, scale, vector) VALUES ($1, $2, 0.01, $3)
     ON CONFLICT (model_version_id, garment_id) DO UPDATE SET vector = EXCLUDED.vector`,
    [version, garmentId, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength)],
  );
}

async function insertGarment(row: Omit<Row, 'id'>): Promise<number> {
  const [{ id }] = await db.dataSource.query(
    `INSERT INTO garments (image_id, super_category, category_id, x1, y1, x2, y2, source, model_version_id, score, search_terms)
     VALUES ($1, $2, $3, 10, 10, 200, 300, $4, $5, $6, $7) RETURNING id`,
    [
      row.imageId,
      row.category === '스커트' ? 'BOTTOM' : 'TOP',
      termIds.get(`category:${row.category}`),
      row.source,
      row.source === 'prediction' ? modelVersionId : null,
      row.source === 'prediction' ? 0.9 : null,
      [termIds.get(`category:${row.category}`), termIds.get(`color:${row.color}`)],
    ],
  );
  const garment = { ...row, id: Number(id) };
  rows.set(garment.id, garment);
  await writeEmbedding(garment.id, row.vector);
  return garment.id;
}

const SIMILAR = `query Similar($id: ID!, $where: GarmentWhere, $first: Int, $after: String, $modelVersionId: ID) {
  similarGarments(garmentId: $id, where: $where, first: $first, after: $after, modelVersionId: $modelVersionId) {
    edges { cursor similarity node { id databaseId } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface SimilarPage {
  ids: number[];
  similarities: number[];
  hasNextPage: boolean;
  endCursor: string | null;
}

async function similar(client: ApiClient, garmentId: number, variables: Record<string, unknown> = {}): Promise<SimilarPage> {
  const data = await client.data(SIMILAR, { id: globalId('Garment', garmentId), ...variables });
  const { edges, pageInfo } = data.similarGarments;
  return {
    ids: edges.map((edge: any) => Number(edge.node.databaseId)),
    similarities: edges.map((edge: any) => edge.similarity),
    hasNextPage: pageInfo.hasNextPage,
    endCursor: pageInfo.endCursor,
  };
}

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  const q = db.dataSource.query.bind(db.dataSource);
  for (const [kind, values] of [
    ['category', CATEGORIES],
    ['color', COLORS],
  ] as const) {
    for (const value of values) {
      const [{ id }] = await q(`INSERT INTO vocabulary (kind, value) VALUES ($1, $2) RETURNING id`, [kind, value]);
      termIds.set(`${kind}:${value}`, id);
    }
  }
  [{ id: modelVersionId }] = await q(
    `INSERT INTO model_versions (name, backbone, config, weights_path, is_active) VALUES ('v1', 'resnet50', '{}', 'v1', true) RETURNING id`,
  );
  [{ id: otherModelVersionId }] = await q(
    `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('v2', 'resnet50', '{}', 'v2') RETURNING id`,
  );
  const imageIds: number[] = [];
  for (let i = 0; i < GARMENTS / 2; i++) {
    const [{ id }] = await q(`INSERT INTO images (file_name, width, height, split) VALUES ($1, 800, 800, $2) RETURNING id`, [
      `${i}.jpg`,
      i % 4 === 0 ? 'validation' : 'train',
    ]);
    imageIds.push(Number(id));
  }
  for (let i = 0; i < GARMENTS; i++) {
    const imageId = imageIds[Math.floor(i / 2)];
    await insertGarment({
      imageId,
      category: CATEGORIES[Math.floor(random() * CATEGORIES.length)],
      color: COLORS[Math.floor(random() * COLORS.length)],
      split: Math.floor(i / 2) % 4 === 0 ? 'validation' : 'train',
      source: i % 5 === 0 ? 'prediction' : 'annotation',
      vector: randomVector(),
    });
  }
  api = await startTestServer(db.dataSource, { publicRead: false });
  viewer = (await createApiToken(db.dataSource, { role: 'viewer', name: 'viewer' })).token;
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
});

const ids = () => [...rows.keys()].sort((a, b) => a - b);

describe('similarGarments', () => {
  it('ranks every other garment by the exact cosine of the stored vectors, for a viewer', async () => {
    const reader = api.as(viewer);
    for (const garmentId of ids().filter((_, i) => i % 40 === 3)) {
      const page = await similar(reader, garmentId, { first: 25 });
      expect(page.ids).toEqual(exactNearest(garmentId, 25));
      page.ids.forEach((id, i) => expect(page.similarities[i]).toBeCloseTo(cosine(rows.get(garmentId)!.vector, rows.get(id)!.vector), 6));
      expect(page.ids).not.toContain(garmentId);
      expect(page.hasNextPage).toBe(true);
    }
  });

  it('pages with cursors: the pages joined are the ranking', async () => {
    const garmentId = ids()[7];
    const first = await similar(api, garmentId, { first: 10 });
    const second = await similar(api, garmentId, { first: 10, after: first.endCursor });
    expect([...first.ids, ...second.ids]).toEqual(exactNearest(garmentId, 20));
    const third = await similar(api, garmentId, { first: 30, after: second.endCursor });
    expect(third.ids).toEqual(exactNearest(garmentId, 50).slice(20));
    expect(third.hasNextPage).toBe(true);
    // The last page of a filter (48 predictions): hasNextPage turns false.
    const predictions = (row: Row) => row.source === 'prediction';
    const all = exactNearest(garmentId, GARMENTS, predictions);
    const head = await similar(api, garmentId, { first: 40, where: { source: 'PREDICTION' } });
    const tail = await similar(api, garmentId, { first: 40, after: head.endCursor, where: { source: 'PREDICTION' } });
    expect([head.hasNextPage, tail.hasNextPage]).toEqual([true, false]);
    expect([...head.ids, ...tail.ids]).toEqual(all);
  });

  it('applies category, colour, split and source filters inside the search: only matching garments, the nearest of them', async () => {
    const filters: [Record<string, unknown>, (row: Row) => boolean][] = [
      [{ category: ['블라우스'] }, (row) => row.category === '블라우스'],
      [{ category: ['skirt'], color: ['black'] }, (row) => row.category === '스커트' && row.color === '블랙'],
      [{ split: 'VALIDATION' }, (row) => row.split === 'validation'],
      [{ source: 'PREDICTION' }, (row) => row.source === 'prediction'],
      [{ attributes: [{ kind: 'COLOR', anyOf: ['white'] }] }, (row) => row.color === '화이트'],
      [{ not: { category: ['티셔츠'] } }, (row) => row.category !== '티셔츠'],
    ];
    for (const garmentId of [ids()[11], ids()[130]]) {
      for (const [where, admit] of filters) {
        const page = await similar(api, garmentId, { where, first: 15 });
        expect(page.ids.every((id) => admit(rows.get(id)!))).toBe(true);
        expect(page.ids).toEqual(exactNearest(garmentId, 15, admit));
      }
    }
  });

  it("takes the graph search's answer over exactLimit: without a filter, and with one when the candidates nearest the query hold enough matches", async () => {
    // exactLimit 10: the index and every filter here hold more, so the graph proposes the candidates
    // (a graph of 240 searched 512 wide: every garment is a candidate, so its answer is exact).
    const graphFirst = await startTestServer(db.dataSource, { similarityLimits: { exactLimit: 10 } });
    try {
      const admit = (row: Row) => row.category !== '스커트';
      for (const garmentId of [ids()[5], ids()[99], ids()[200]]) {
        expect((await similar(graphFirst, garmentId, { first: 25 })).ids).toEqual(exactNearest(garmentId, 25));
        // Matches from the bit strings (all in memory), and the same matches as SQL reads them (a `not`).
        for (const where of [{ category: ['블라우스', '티셔츠'] }, { not: { category: ['스커트'] } }]) {
          const page = await similar(graphFirst, garmentId, { where, first: 20 });
          expect(page.ids).toEqual(exactNearest(garmentId, 20, admit));
        }
      }
    } finally {
      await graphFirst.server.stop();
    }
  });

  it('compares every match when the candidates nearest the query hold too few, never answering a short list', async () => {
    // About a sixth of the garments match; the quarter of the graph's candidates that counts (128
    // of these 240 garments) holds about 21 of them, under the 31 a page of 30 needs.
    const graphFirst = await startTestServer(db.dataSource, { similarityLimits: { exactLimit: 10 } });
    try {
      const admit = (row: Row) => row.category === '스커트' && row.color === '화이트';
      for (const garmentId of [ids()[7], ids()[123]]) {
        for (const where of [{ category: ['스커트'], color: ['화이트'] }, { or: [{ category: ['스커트'], color: ['화이트'] }] }]) {
          const page = await similar(graphFirst, garmentId, { where, first: 30 });
          expect(page.ids).toEqual(exactNearest(garmentId, 30, admit));
          expect(page.hasNextPage).toBe(exactNearest(garmentId, 31, admit).length === 31);
        }
      }
    } finally {
      await graphFirst.server.stop();
    }
  });

  it('finds a changed, new or deleted embedding and an edited garment in the next search, without rebuilding', async () => {
    const garmentId = ids()[20];
    await similar(api, garmentId, { first: 5 });
    const builds = api.server.similarity.builds;
    const query = rows.get(garmentId)!.vector;

    // An embedding replaced by one next to the query's: it becomes the nearest.
    const moved = ids()[150];
    const near = Int8Array.from(query, (value, i) => (i === 0 ? value - Math.sign(value || 1) : value));
    rows.get(moved)!.vector = near;
    await writeEmbedding(moved, near);
    expect((await similar(api, garmentId, { first: 5 })).ids[0]).toBe(moved);

    // A new garment with an embedding equal to the query's.
    const added = await insertGarment({ ...rows.get(garmentId)!, vector: Int8Array.from(query) });
    let page = await similar(api, garmentId, { first: 5 });
    expect(page.ids[0]).toBe(added);
    expect(page.similarities[0]).toBeCloseTo(1, 9);
    expect(page.ids).toEqual(exactNearest(garmentId, 5));

    // The garment deleted: its embedding goes with it (cascade, logged as a removal).
    await db.dataSource.query(`DELETE FROM garments WHERE id = $1`, [added]);
    rows.delete(added);
    page = await similar(api, garmentId, { first: 5 });
    expect(page.ids).not.toContain(added);
    expect(page.ids).toEqual(exactNearest(garmentId, 5));

    // An edited category: the filter sees the garment as it is now.
    await db.dataSource.query(`UPDATE garments SET category_id = $1, search_terms = $2 WHERE id = $3`, [
      termIds.get('category:티셔츠'),
      [termIds.get('category:티셔츠'), termIds.get(`color:${rows.get(moved)!.color}`)],
      moved,
    ]);
    rows.get(moved)!.category = '티셔츠';
    expect((await similar(api, garmentId, { first: 5, where: { category: ['티셔츠'] } })).ids[0]).toBe(moved);
    expect((await similar(api, garmentId, { first: 5, where: { category: ['블라우스', '스커트'] } })).ids).not.toContain(moved);

    // Only an embedding removed (the garment stays): gone from the search.
    await db.dataSource.query(`DELETE FROM garment_embeddings WHERE garment_id = $1`, [moved]);
    expect((await similar(api, garmentId, { first: 5 })).ids).not.toContain(moved);
    await writeEmbedding(moved, near);
    expect((await similar(api, garmentId, { first: 5 })).ids[0]).toBe(moved);

    expect(api.server.similarity.builds).toBe(builds);
  });

  it('does not skip an embedding committed after a later one (its seq is the smaller)', async () => {
    const garmentId = ids()[80];
    const query = rows.get(garmentId)!;
    await similar(api, garmentId, { first: 1 });
    // The garment first (writing garments locks search_generation until commit); its embedding in an open transaction.
    const [{ id }] = await db.dataSource.query(
      `INSERT INTO garments (image_id, super_category, category_id, x1, y1, x2, y2, search_terms)
       VALUES ($1, 'TOP', $2, 1, 1, 9, 9, $3) RETURNING id`,
      [
        query.imageId,
        termIds.get(`category:${query.category}`),
        [termIds.get(`category:${query.category}`), termIds.get(`color:${query.color}`)],
      ],
    );
    const runner = db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(`INSERT INTO garment_embeddings (model_version_id, garment_id, scale, vector) VALUES ($1, $2, 0.01, $3)`, [
        modelVersionId,
        id,
        Buffer.from(query.vector.buffer, query.vector.byteOffset, query.vector.byteLength),
      ]);
      // A later seq, committed first: the index reads it while the earlier one is still open.
      const nearly = Int8Array.from(query.vector, (value, i) => (i === 1 ? value - Math.sign(value || 1) : value));
      const later = await insertGarment({ ...query, vector: nearly });
      expect((await similar(api, garmentId, { first: 1 })).ids).toEqual([later]);
      await runner.commitTransaction();
      rows.set(Number(id), { ...query, id: Number(id), vector: Int8Array.from(query.vector) });
      expect((await similar(api, garmentId, { first: 2 })).ids).toEqual([Number(id), later]);
    } finally {
      await runner.release();
    }
  });

  it('applies a notified change before any search asks for it (LISTEN)', async () => {
    await similar(api, ids()[3], { first: 1 });
    const added = await insertGarment({ ...rows.get(ids()[3])!, vector: randomVector() });
    const deadline = Date.now() + 10_000;
    while (!api.server.similarity.peek(modelVersionId)?.has(added) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(api.server.similarity.peek(modelVersionId)?.has(added)).toBe(true);
  });

  it('keeps a second API process in step with the same changes', async () => {
    const second = await startTestServer(db.dataSource);
    try {
      const garmentId = ids()[40];
      expect((await similar(second, garmentId, { first: 10 })).ids).toEqual(exactNearest(garmentId, 10));
      const added = await insertGarment({ ...rows.get(garmentId)!, vector: Int8Array.from(rows.get(garmentId)!.vector) });
      expect((await similar(second, garmentId, { first: 1 })).ids).toEqual([added]);
      expect((await similar(api, garmentId, { first: 1 })).ids).toEqual([added]);
    } finally {
      await second.server.stop();
    }
  });

  it('compares the embeddings of the model version asked for', async () => {
    const [a, b, c] = ids().slice(60, 63);
    await writeEmbedding(a, rows.get(a)!.vector, otherModelVersionId);
    await writeEmbedding(b, Int8Array.from(rows.get(a)!.vector), otherModelVersionId);
    await writeEmbedding(
      c,
      Int8Array.from(rows.get(a)!.vector, (v) => -v),
      otherModelVersionId,
    );
    const page = await similar(api, a, { modelVersionId: globalId('ModelVersion', otherModelVersionId), first: 5 });
    expect(page.ids).toEqual([b, c]);
    expect(page.similarities[0]).toBeCloseTo(1, 9);
    expect(page.similarities[1]).toBeCloseTo(-1, 9);
  });

  it('answers SERVICE_UNAVAILABLE (503) while the index is still being built, and the answer once it is', async () => {
    const impatient = await startTestServer(db.dataSource, { similarityLimits: { buildWaitMs: 0 } });
    try {
      const variables = { id: globalId('Garment', ids()[60]), modelVersionId: globalId('ModelVersion', otherModelVersionId) };
      const refused = await impatient.query(SIMILAR, variables);
      expect(refused.status).toBe(503);
      expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
      await impatient.server.similarity.current(otherModelVersionId);
      expect((await similar(impatient, ids()[60], { modelVersionId: variables.modelVersionId })).ids.length).toBeGreaterThan(0);
    } finally {
      await impatient.server.stop();
    }
  });

  it('refuses bad input by field, a garment without an embedding by EMBEDDING_NOT_FOUND, and anonymous callers', async () => {
    const garmentId = globalId('Garment', ids()[0]);
    const refused = async (variables: Record<string, unknown>, client = api) => (await client.query(SIMILAR, variables)).errors?.[0];
    expect(await refused({ id: globalId('Image', 1) })).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'garmentId' } });
    expect(await refused({ id: garmentId, first: 101 })).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'first' } });
    expect(await refused({ id: garmentId, after: 'bm9wZQ' })).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'after' } });
    expect(await refused({ id: garmentId, where: { category: ['no such thing'] } })).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'where.category[0]' },
    });
    expect(await refused({ id: garmentId, modelVersionId: globalId('Garment', 1) })).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'modelVersionId' },
    });
    expect(await refused({ id: garmentId, first: 100, after: Buffer.from('v1:similarGarment:950').toString('base64url') })).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'first' },
    });
    const [{ id: bare }] = await db.dataSource.query(
      `INSERT INTO garments (image_id, super_category, x1, y1, x2, y2) VALUES ($1, 'TOP', 1, 1, 5, 5) RETURNING id`,
      [rows.get(ids()[0])!.imageId],
    );
    expect(await refused({ id: globalId('Garment', bare) })).toMatchObject({
      extensions: { code: 'EMBEDDING_NOT_FOUND', field: 'garmentId', modelVersionId: String(modelVersionId) },
    });
    expect(await refused({ id: garmentId }, api.as(undefined))).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    await db.dataSource.query(`DELETE FROM garments WHERE id = $1`, [bare]);
  });
});

describe('shopTheLook', () => {
  const LOOK = `query Look($imageId: ID!, $where: GarmentWhere, $first: Int) {
    shopTheLook(imageId: $imageId, where: $where, first: $first) { garment { databaseId } matches { similarity node { databaseId } } }
  }`;

  it('answers every garment of the photo with its nearest garments of other photos', async () => {
    const imageId = rows.get(ids()[30])!.imageId;
    const ofImage = [...rows.values()].filter((row) => row.imageId === imageId).map((row) => row.id);
    const [{ id: bare }] = await db.dataSource.query(
      `INSERT INTO garments (image_id, super_category, x1, y1, x2, y2) VALUES ($1, 'OUTER', 1, 1, 5, 5) RETURNING id`,
      [imageId],
    );
    const data = await api.as(viewer).data(LOOK, { imageId: globalId('Image', imageId), first: 4, where: { split: 'TRAIN' } });
    const looks = data.shopTheLook as { garment: { databaseId: string }; matches: { node: { databaseId: string } }[] }[];
    expect(looks.map((look) => Number(look.garment.databaseId))).toEqual([...ofImage, Number(bare)].sort((a, b) => a - b));
    for (const look of looks) {
      const garmentId = Number(look.garment.databaseId);
      const found = look.matches.map((match) => Number(match.node.databaseId));
      if (garmentId === Number(bare)) expect(found).toEqual([]);
      else expect(found).toEqual(exactNearest(garmentId, 4, (row) => row.split === 'train', ofImage));
    }
    await db.dataSource.query(`DELETE FROM garments WHERE id = $1`, [bare]);
  });
});
