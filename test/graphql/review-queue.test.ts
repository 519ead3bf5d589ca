/**
 * The review queue on real PostgreSQL and over real HTTP: scores computed when predictions are stored
 * (hand-computed here from the detections), runner-up values kept out of search, the UNCERTAINTY
 * order with its tie-break, filters, keyset pages, reviewed images skipped and back when unmarked,
 * the seeded RANDOM order, the backfill, and the index scan the queue reads at scale.
 */
import * as fs from 'node:fs';
import { createApiToken } from '../../src/db/api-tokens';
import { markImageReviewed } from '../../src/db/garment-edits';
import { importDataset } from '../../src/db/import';
import { storePredictions, type PredictionModel, type StoredDetection } from '../../src/db/predictions';
import { backfillReviewScores, reviewQueueStatement } from '../../src/db/review-queue';
import { VocabularyCache } from '../../src/db/search-vocabulary';
import { globalId } from '../../src/graphql/ids';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { ApiClient, importedImageIds, insertImageRow, makeSampleTree, startTestServer } from './support';

let db: TestDatabase;
let api: ApiClient;
let root: string;
let versionId: number;
const ids: Record<string, string> = {};

const model = (): PredictionModel => ({
  id: versionId,
  config: { attributes: [{ kind: 'color', type: 'single' }] },
  labelSpace: null,
});

/** One detection with a colour whose two most probable values are `top` (레드) and `second` (블루). */
function detection(box: [number, number, number, number], className: string, score: number, top: number, second: number): StoredDetection {
  return {
    box,
    label: 1,
    className,
    score,
    attributes: {
      color: [
        { value: '블루', probability: second },
        { value: '레드', probability: top },
        { value: '그린', probability: Math.max(0, 1 - top - second) / 2 },
      ],
    },
  };
}

const BLOUSE_BOX: [number, number, number, number] = [260.144, 59.4236, 555.144, 394.4236]; // 100026's annotated blouse

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  Object.assign(ids, await importedImageIds(db.dataSource));
  for (const name of ['A', 'B', 'C', 'D', 'E']) ids[name] = await insertImageRow(db.dataSource, name, `none/${name}.jpg`);
  const [row] = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('m', 'resnet18', '{}', '/nonexistent') RETURNING id`,
  );
  versionId = Number(row.id);
  const box: [number, number, number, number] = [10, 10, 200, 300];
  // Crafted images have no annotations: the score is the larger of the colour margin reason and the
  // detection reason 1 - |0.9 - 0.5| / 0.5 = 0.2.
  await storePredictions(db.dataSource, ids.A, model(), [detection(box, '블라우스', 0.9, 0.5, 0.4)]); // 1 - 0.1 = 0.9
  await storePredictions(db.dataSource, ids.B, model(), [detection(box, '블라우스', 0.9, 0.6, 0.3)]); // 0.7
  await storePredictions(db.dataSource, ids.C, model(), [detection(box, '블라우스', 0.9, 0.8, 0.1)]); // 0.3
  await storePredictions(db.dataSource, ids.D, model(), [detection(box, '블라우스', 0.9, 0.5, 0.4)]); // 0.9, as A
  await storePredictions(db.dataSource, ids.E, model(), [detection(box, '블라우스', 0.9, 0.7, 0.2)]); // 0.5
  // 100026: its blouse predicted as a skirt with score 0.95 (DISAGREEMENT 0.95); its skirt overlaps that
  // box at IoU 19436 / 139779 (MISSED_GARMENT 1 - 0.139 / 0.5 = 0.722).
  await storePredictions(db.dataSource, ids['100026'], model(), [detection(BLOUSE_BOX, '스커트', 0.95, 0.96, 0.02)]);
  // 1070263: the model found nothing, every annotation is missed (score 1). 1092253: never predicted.
  await storePredictions(db.dataSource, ids['1070263'], model(), []);
  api = await startTestServer(db.dataSource);
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const QUEUE = `query Queue($where: ImageWhere, $order: ReviewOrder, $seed: Int, $first: Int, $after: String, $version: ID) {
  reviewQueue(where: $where, order: $order, seed: $seed, first: $first, after: $after, modelVersionId: $version) {
    edges { cursor score node { databaseId } reasons { kind score attributeKind detail garment { databaseId source } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface QueueEdge {
  cursor: string;
  score: number;
  node: { databaseId: string };
  reasons: {
    kind: string;
    score: number;
    attributeKind: string | null;
    detail: string;
    garment: { databaseId: string; source: string } | null;
  }[];
}

async function queue(variables: Record<string, unknown> = {}, client = api): Promise<{ edges: QueueEdge[]; pageInfo: any }> {
  return (await client.data(QUEUE, { version: globalId('ModelVersion', versionId), ...variables })).reviewQueue;
}

/** Every page of a queue, `first` at a time. */
async function walk(variables: Record<string, unknown>, first: number): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: { edges: QueueEdge[]; pageInfo: any } = await queue({ ...variables, first, after });
    seen.push(...page.edges.map((edge) => edge.node.databaseId));
    if (!page.pageInfo.hasNextPage) return seen;
    after = page.pageInfo.endCursor;
  }
}

describe('scores stored with the predictions', () => {
  it('orders the images by their hand-computed scores, ties by the newer image first', async () => {
    const { edges } = await queue();
    expect(edges.map((edge) => [edge.node.databaseId, Number(edge.score.toFixed(3))])).toEqual([
      [ids['1070263'], 1],
      [ids['100026'], 0.95],
      [ids.D, 0.9],
      [ids.A, 0.9],
      [ids.B, 0.7],
      [ids.E, 0.5],
      [ids.C, 0.3],
    ]);
  });

  it('gives the reasons with their scores and garments, most doubtful first', async () => {
    const { edges } = await queue({ where: { externalId: '100026' } });
    const reasons = edges[0].reasons.map((r) => [r.kind, Number(r.score.toFixed(3)), r.attributeKind, r.garment?.source ?? null]);
    expect(reasons).toEqual([
      ['DISAGREEMENT', 0.95, null, 'ANNOTATION'],
      ['MISSED_GARMENT', 0.722, null, 'ANNOTATION'], // 1 - (183 × 106.2076 / 139779) / 0.5
      ['DETECTION_SCORE', 0.1, null, 'PREDICTION'],
      ['ATTRIBUTE_MARGIN', 0.06, 'COLOR', 'PREDICTION'],
    ]);
    expect(edges[0].reasons[0].detail).toMatch(/^annotated 블라우스, predicted 스커트 with score 0\.950 \(IoU 1\.000\)$/);
    const crafted = (await queue({ where: { externalId: 'B' } })).edges[0].reasons;
    expect(crafted[0]).toMatchObject({
      kind: 'ATTRIBUTE_MARGIN',
      attributeKind: 'COLOR',
      detail: 'color: 레드 0.600 vs 블루 0.300 (margin 0.300)',
    });
  });

  it('keeps runner-up values for the margins but out of the garments and their search terms', async () => {
    const runnerUps = await db.dataSource.query(`SELECT kind, value FROM prediction_runner_ups ORDER BY garment_id`);
    expect(runnerUps).toHaveLength(6);
    expect(runnerUps[0]).toEqual({ kind: 'color', value: '블루' });
    const found = await api.data(`{ searchGarments(where: { source: PREDICTION, color: ["블루"] }) { totalCount } }`);
    expect(found.searchGarments.totalCount).toBe(0);
    const topValue = await api.data(`{ searchGarments(where: { source: PREDICTION, color: ["레드"] }) { totalCount } }`);
    expect(topValue.searchGarments.totalCount).toBe(6);
  });

  it('backfills the same scores for predictions stored without them', async () => {
    const before = await db.dataSource.query(`SELECT image_id, score, reasons FROM review_scores ORDER BY image_id`);
    await db.dataSource.query(`DELETE FROM review_scores`);
    // 1070263 has no prediction rows to find: only images with stored predictions are backfilled.
    expect(await backfillReviewScores(db.dataSource, { batchSize: 4 })).toBe(6);
    const after = await db.dataSource.query(`SELECT image_id, score, reasons FROM review_scores ORDER BY image_id`);
    expect(after).toEqual(before.filter((row: { image_id: string }) => row.image_id !== ids['1070263']));
    await storePredictions(db.dataSource, ids['1070263'], model(), []);
  });
});

describe('the queue over GraphQL', () => {
  it('pages with keyset cursors to the same order, and filters like images(where:)', async () => {
    const all = (await queue()).edges.map((edge) => edge.node.databaseId);
    expect(await walk({}, 2)).toEqual(all);
    expect(await walk({}, 1)).toEqual(all);
    expect((await queue({ where: { split: 'TRAIN' } })).edges.map((edge) => edge.node.databaseId)).toEqual([ids['1070263'], ids['100026']]);
    const skirts = await queue({ where: { garments: { source: 'ANNOTATION', category: ['skirt'] } } });
    expect(skirts.edges.map((edge) => edge.node.databaseId)).toContain(ids['100026']);
    expect(skirts.edges.map((edge) => edge.node.databaseId)).not.toContain(ids.A);
  });

  it('skips reviewed images, and takes them back when unmarked', async () => {
    await markImageReviewed(db.dataSource, ids['100026'], true, {});
    await markImageReviewed(db.dataSource, ids.B, true, {});
    const ordered = (await queue()).edges.map((edge) => edge.node.databaseId);
    expect(ordered).toEqual([ids['1070263'], ids.D, ids.A, ids.E, ids.C]);
    const shuffled = (await queue({ order: 'RANDOM', seed: 5 })).edges.map((edge) => edge.node.databaseId);
    expect(shuffled).not.toContain(ids['100026']);
    await markImageReviewed(db.dataSource, ids['100026'], false, {});
    await markImageReviewed(db.dataSource, ids.B, false, {});
    expect((await queue()).edges.map((edge) => edge.node.databaseId)).toHaveLength(7);
  });

  it('shuffles every unreviewed image by seed: the same seed the same order, page after page', async () => {
    const first = await walk({ order: 'RANDOM', seed: 1 }, 3);
    const everyImage = Object.values(ids).sort();
    expect([...first].sort()).toEqual(everyImage);
    expect(await walk({ order: 'RANDOM', seed: 1 }, 100)).toEqual(first);
    expect(await walk({ order: 'RANDOM', seed: 2 }, 2)).not.toEqual(first);
    const page = await queue({ order: 'RANDOM', seed: 1, where: { externalId: '1092253' } });
    expect(page.edges).toEqual([expect.objectContaining({ score: 0, reasons: [] })]); // never predicted
  });

  it('refuses a cursor of another order or seed, a seed without RANDOM and an unknown model version, naming the field', async () => {
    const cursor = (await queue({ first: 1 })).pageInfo.endCursor;
    const other = await api.query(QUEUE, { version: globalId('ModelVersion', versionId), order: 'RANDOM', seed: 0, after: cursor });
    expect(other.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const seeded = await api.query(QUEUE, { version: globalId('ModelVersion', versionId), seed: 3 });
    expect(seeded.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'seed' });
    const unknown = await api.query(QUEUE, { version: globalId('ModelVersion', versionId + 100) });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'modelVersionId' });
    const noActive = await api.query(QUEUE, { version: null });
    expect(noActive.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'modelVersionId' });
  });

  it('lets a viewer read the queue of the active model version', async () => {
    await db.dataSource.query(`UPDATE model_versions SET is_active = true WHERE id = $1`, [versionId]);
    const { token } = await createApiToken(db.dataSource, { role: 'viewer', name: 'viewer' });
    const viewer = api.as(token);
    const page = await queue({ version: null, first: 1 }, viewer);
    expect(page.edges.map((edge) => edge.node.databaseId)).toEqual([ids['1070263']]);
  });
});

describe('at scale', () => {
  it('reads a page of 20 000 scored images by a backward scan of the queue index, without sorting', async () => {
    const [version] = await db.dataSource.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('big', 'resnet18', '{}', '/nonexistent') RETURNING id`,
    );
    const [{ last }] = await db.dataSource.query(`SELECT max(id) AS last FROM images`);
    await db.dataSource.query(`INSERT INTO images (file_name, width, height) SELECT 'x.jpg', 10, 10 FROM generate_series(1, 20000)`);
    // Statistics first: planned for a handful of images, the foreign-key checks would scan them all per row.
    await db.dataSource.query(`ANALYZE images`);
    await db.dataSource.query(
      `INSERT INTO review_scores (model_version_id, image_id, score, reasons, reviewed)
       SELECT $1, id, (id % 997) / 997.0, '[]', id % 10 = 0 FROM images WHERE id > $2`,
      [version.id, last],
    );
    await db.dataSource.query(`ANALYZE review_scores`);
    const vocabulary = new VocabularyCache(db.dataSource);
    for (const after of [null, { key: '0.5', imageId: '1000' }]) {
      const { sql, params } = await reviewQueueStatement(vocabulary, {
        modelVersionId: Number(version.id),
        order: 'UNCERTAINTY',
        seed: 0,
        filter: null,
        first: 20,
        after,
      });
      const [{ 'QUERY PLAN': plan }] = await db.dataSource.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const nodes = JSON.stringify(plan);
      expect(nodes).toContain('"Scan Direction":"Backward"');
      expect(nodes).toContain('"Index Name":"review_scores_queue"');
      expect(nodes).not.toContain('"Node Type":"Sort"');
    }
  });
});
