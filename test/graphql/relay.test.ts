/**
 * Relay's contract over real HTTP on real PostgreSQL: global ids (opaque, unique across types,
 * refetchable with node/nodes), enums checked before any resolver runs, and connections for every
 * list that grows (past the page limit by `after`, `first: 0` allowed).
 */
import * as fs from 'node:fs';
import { importDataset } from '../../src/db/import';
import { MAX_PAGE_SIZE } from '../../src/graphql/connection';
import { globalId } from '../../src/graphql/ids';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { ApiClient, makeSampleTree, QueryCounter, startTestServer } from './support';

let db: TestDatabase;
let api: ApiClient;
let root: string;
/** Database keys of the rows made for the tests. */
const keys = { run: 0, version: 0, job: 0, dataset: 0, image: '', garment: '' };
const RUNS = MAX_PAGE_SIZE + 50;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  const q = (sql: string, params: unknown[] = []) => db.dataSource.query(sql, params);
  // More runs than one page holds; every run has key 1..RUNS, so some share their key with an image, a garment, …
  await q(
    `INSERT INTO training_runs (status, params) SELECT CASE WHEN n % 3 = 0 THEN 'failed' ELSE 'succeeded' END, '{}' FROM generate_series(1, $1) AS n`,
    [RUNS],
  );
  [{ id: keys.run }] = await q(`SELECT min(id) AS id FROM training_runs`);
  [{ id: keys.version }] = await q(
    `INSERT INTO model_versions (name, backbone, config, weights_path, training_run_id) VALUES ('v1', 'resnet18', '{}', '/nowhere', $1) RETURNING id`,
    [keys.run],
  );
  [{ id: keys.job }] = await q(`INSERT INTO prediction_jobs (model_version_id, status, total) VALUES ($1, 'running', 10) RETURNING id`, [
    keys.version,
  ]);
  [{ id: keys.dataset }] = await q(`SELECT id FROM datasets`);
  const [image] = await q(
    `SELECT i.id::text AS image, min(g.id)::text AS garment FROM images i JOIN garments g ON g.image_id = i.id GROUP BY i.id ORDER BY i.id LIMIT 1`,
  );
  keys.image = image.image;
  keys.garment = image.garment;
  api = await startTestServer(db.dataSource);
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const FIELDS = {
  Image: 'databaseId externalId fileName width height split',
  Garment: 'databaseId superCategory category source box { x1 y1 x2 y2 }',
  Dataset: 'databaseId name',
  TrainingRun: 'databaseId status createdAt',
  ModelVersion: 'databaseId name backbone isActive',
  PredictionJob: 'databaseId status total done',
} as const;

describe('global object identification', () => {
  it('refetches every Node type with node(id:) as the typed query answers it', async () => {
    const { image, garment, trainingRun, modelVersion, predictionJob } = await api.data(
      `query($i: ID!, $g: ID!, $r: ID!, $v: ID!, $j: ID!) {
      image(id: $i) { id __typename ${FIELDS.Image} dataset { id __typename ${FIELDS.Dataset} } }
      garment(id: $g) { id __typename ${FIELDS.Garment} }
      trainingRun(id: $r) { id __typename ${FIELDS.TrainingRun} }
      modelVersion(id: $v) { id __typename ${FIELDS.ModelVersion} }
      predictionJob(id: $j) { id __typename ${FIELDS.PredictionJob} } }`,
      {
        i: globalId('Image', keys.image),
        g: globalId('Garment', keys.garment),
        r: globalId('TrainingRun', keys.run),
        v: globalId('ModelVersion', keys.version),
        j: globalId('PredictionJob', keys.job),
      },
    );
    const { dataset, ...imageItself } = image;
    const typed = [imageItself, garment, dataset, trainingRun, modelVersion, predictionJob];
    expect(typed.map((object) => object.__typename)).toEqual(Object.keys(FIELDS));
    for (const object of typed) {
      const type = object.__typename as keyof typeof FIELDS;
      const { node } = await api.data(`query($id: ID!) { node(id: $id) { id __typename ... on ${type} { ${FIELDS[type]} } } }`, {
        id: object.id,
      });
      expect(node).toEqual(object);
      expect(object.id).toBe(globalId(type, object.databaseId));
    }
    const { nodes } = await api.data(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, {
      ids: [...typed.map((object) => object.id), globalId('Image', '999999999')],
    });
    expect(nodes).toEqual([...typed.map((object) => ({ id: object.id })), null]);
  });

  it('answers nodes(ids:) of many objects with one statement per type', async () => {
    const ids = (count: number) =>
      Array.from({ length: count }, (_, i) => [
        globalId('TrainingRun', keys.run + i),
        globalId('Image', BigInt(keys.image) + BigInt(i)),
      ]).flat();
    const counter = new QueryCounter(db.dataSource);
    try {
      const few = await counter.during(() => api.data(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: ids(2) }));
      const many = await counter.during(() => api.data(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: ids(40) }));
      expect(many.result.nodes.filter((node: unknown) => node !== null).length).toBeGreaterThan(40);
      expect(many.queries).toBe(few.queries);
    } finally {
      counter.detach();
    }
  });

  it('gives objects of different types different ids, also where their database keys are equal', async () => {
    const { images, searchGarments, trainingRuns, modelVersions, predictionJobs } = await api.data(`{
      images(first: 100) { edges { node { id databaseId dataset { id databaseId } } } }
      searchGarments(where: {}, first: 100) { edges { node { id databaseId } } }
      trainingRuns(first: 100) { edges { node { id databaseId } } }
      modelVersions(first: 100) { edges { node { id databaseId } } }
      predictionJobs(first: 100) { edges { node { id databaseId } } } }`);
    const objects = [images, searchGarments, trainingRuns, modelVersions, predictionJobs].flatMap((connection) =>
      connection.edges.map((edge: any) => edge.node),
    );
    objects.push(images.edges[0].node.dataset);
    const keysSeen = objects.map((object) => object.databaseId);
    expect(new Set(keysSeen).size).toBeLessThan(keysSeen.length); // the same keys recur across tables…
    expect(new Set(objects.map((object) => object.id)).size).toBe(objects.length); // …their ids never do
    for (const { id } of objects) expect(id).not.toMatch(/^\d+$/);
  });

  it('refuses a malformed id or an id of another type with BAD_USER_INPUT naming the argument', async () => {
    const garmentId = globalId('Garment', keys.garment);
    const cases: [string, Record<string, unknown>, string][] = [
      ['query($id: ID!) { image(id: $id) { id } }', { id: garmentId }, 'id'],
      ['query($id: ID!) { image(id: $id) { id } }', { id: keys.image }, 'id'],
      ['query($id: ID!) { trainingRun(id: $id) { id } }', { id: 'not an id' }, 'id'],
      ['query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [garmentId, 'SW1hZ2U6MDQy'] }, 'ids[1]'],
      [
        'query($w: GarmentWhere!) { searchGarments(where: $w) { totalCount } }',
        { w: { or: [{ modelVersionId: garmentId }] } },
        'where.or[0].modelVersionId',
      ],
      [
        'query($w: ImageWhere) { images(where: $w) { totalCount } }',
        { w: { datasetId: globalId('ModelVersion', keys.version) } },
        'where.datasetId',
      ],
      ['mutation($id: ID!) { analyzeImage(imageId: $id) { image { id } } }', { id: globalId('TrainingRun', keys.run) }, 'imageId'],
      ['mutation($id: ID!) { activateModelVersion(id: $id) { id } }', { id: globalId('Image', keys.image) }, 'id'],
      ['mutation { analyzeImage(uploadId: "") { image { id } } }', {}, 'uploadId'],
    ];
    for (const [query, variables, field] of cases) {
      const result = await api.query(query, variables);
      expect({ query, variables, extensions: result.errors?.[0]?.extensions }).toEqual({
        query,
        variables,
        extensions: { code: 'BAD_USER_INPUT', field },
      });
    }
    const wrongType = await api.query('query($id: ID!) { image(id: $id) { id } }', { id: garmentId });
    expect(wrongType.errors?.[0]?.message).toBe(`id: "${garmentId}" names a Garment; id takes Image ids`);
  });

  it('filters by dataset with its global id', async () => {
    const { images } = await api.data(`query($d: ID!) { images(where: { datasetId: $d }) { totalCount } }`, {
      d: globalId('Dataset', keys.dataset),
    });
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM images WHERE dataset_id = $1`, [keys.dataset]);
    expect(images.totalCount).toBe(n);
  });
});

describe('enums', () => {
  it('refuses an unknown status before any resolver runs, as a literal and as a variable', async () => {
    const counter = new QueryCounter(db.dataSource);
    try {
      const literal = await counter.during(() => api.query(`{ trainingRuns(status: BOGUS) { totalCount } }`));
      expect(literal.result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(literal.result.errors?.[0]?.message).toMatch(/Value "BOGUS" does not exist in "JobStatus" enum/);
      expect(literal.result.data).toBeUndefined();
      const variable = await counter.during(() =>
        api.query(`query($s: JobStatus) { trainingRuns(status: $s) { totalCount } }`, { s: 'bogus' }),
      );
      expect(variable.result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$s' });
      // The token lookup at most: no statement of a resolver.
      expect([literal.queries, variable.queries].every((queries) => queries <= 1)).toBe(true);
    } finally {
      counter.detach();
    }
  });
});

describe('connections', () => {
  it(`reaches runs beyond the ${MAX_PAGE_SIZE}th by after, newest first, filtered by status`, async () => {
    const all = await db.dataSource.query(`SELECT id FROM training_runs ORDER BY id DESC`);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const { trainingRuns }: any = await api.data(
        `query($after: String) { trainingRuns(first: ${MAX_PAGE_SIZE}, after: $after) {
        totalCount edges { cursor node { databaseId } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      expect(trainingRuns.totalCount).toBe(RUNS);
      seen.push(...trainingRuns.edges.map((edge: any) => edge.node.databaseId));
      after = trainingRuns.pageInfo.hasNextPage ? trainingRuns.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(2);
    expect(seen).toEqual(all.map((row: { id: number }) => String(row.id)));
    const failed = await api.data(`{ trainingRuns(status: FAILED, first: 100) { totalCount edges { node { status } } } }`);
    expect(failed.trainingRuns.totalCount).toBe(Math.floor(RUNS / 3));
    expect(new Set(failed.trainingRuns.edges.map((edge: any) => edge.node.status))).toEqual(new Set(['FAILED']));
  });

  it('answers first: 0 with an empty page that still says whether items follow, on every connection', async () => {
    const data = await api.data(`{
      trainingRuns(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } }
      modelVersions(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } }
      predictionJobs(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } }
      images(first: 0) { edges { cursor } pageInfo { hasNextPage endCursor } }
      searchGarments(where: {}, first: 0) { edges { cursor } pageInfo { hasNextPage endCursor } } }`);
    for (const connection of Object.values(data) as any[]) {
      expect(connection.edges).toEqual([]);
      expect(connection.pageInfo).toEqual({ hasNextPage: true, endCursor: null });
    }
    expect([data.trainingRuns.totalCount, data.modelVersions.totalCount, data.predictionJobs.totalCount]).toEqual([RUNS, 1, 1]);
    const negative = await api.query(`{ trainingRuns(first: -1) { totalCount } }`);
    expect(negative.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('refuses a cursor of another connection, naming `after`', async () => {
    const { images } = await api.data(`{ images(first: 1) { pageInfo { endCursor } } }`);
    const result = await api.query(`query($after: String) { trainingRuns(after: $after) { totalCount } }`, {
      after: images.pageInfo.endCursor,
    });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});
