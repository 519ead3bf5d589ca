/**
 * Malformed or out-of-range input answers 4xx with a code and logs no stack:
 * ids ≥ 2^63 on the image routes and in GraphQL, NUL characters in string arguments, variables
 * nested 5,000 deep, values spelled like Object.prototype members, scores out of [0, 1], an APQ
 * hash that does not match its query, and typos answered without suggestions when introspection is off.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { importDataset } from '../../src/db/import';
import { globalId } from '../../src/graphql/ids';
import { ApiClient, makeSampleTree, startTestServer } from './support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let api: ApiClient;
let root: string;
const logged: string[] = [];

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  api = await startTestServer(db.dataSource, {
    log: (message, error) => logged.push(`${message} ${error instanceof Error ? error.stack : String(error)}`),
  });
});
afterAll(async () => {
  await api.server.stop();
  await db.drop();
  fs.rmSync(root, { recursive: true, force: true });
});
afterEach(() => {
  expect(logged.splice(0)).toEqual([]);
});

const TOO_BIG = '9223372036854775808'; // 2^63: one more than PostgreSQL's largest bigint

it('answers 404 on the image and crop routes for ids beyond bigint', async () => {
  for (const route of [
    `/images/${TOO_BIG}`,
    `/images/${TOO_BIG}/thumbnail`,
    `/images/99999999999999999999/annotated`,
    `/garments/${TOO_BIG}/crop`,
  ]) {
    expect((await api.get(route)).status).toBe(404);
  }
  // The largest bigint is still an id (of no image).
  expect((await api.get('/images/9223372036854775807')).status).toBe(404);
});

it('answers BAD_USER_INPUT naming the argument for ids beyond bigint in GraphQL', async () => {
  for (const query of [
    `{ image(id: "${globalId('Image', TOO_BIG)}") { id } }`,
    `{ garment(id: "${globalId('Garment', TOO_BIG)}") { id } }`,
    `{ modelVersion(id: "${globalId('ModelVersion', TOO_BIG)}") { id } }`,
  ]) {
    const result = await api.query(query);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  }
  const cursor = Buffer.from(`v1:image:${TOO_BIG}`).toString('base64url');
  const paged = await api.query(`query($after: String) { images(first: 1, after: $after) { totalCount } }`, { after: cursor });
  expect(paged.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
});

it('refuses ids of serial tables beyond their integer range (never issued), and answers a well-formed id of no row as null or NOT_FOUND', async () => {
  // Training runs, model versions and prediction jobs have integer keys: 2^31 is a key of none.
  const beyond = {
    TrainingRun: globalId('TrainingRun', 2147483648),
    ModelVersion: globalId('ModelVersion', 2147483648),
    PredictionJob: globalId('PredictionJob', 2147483648),
  };
  const read = await api.query(
    `{ trainingRun(id: "${beyond.TrainingRun}") { id } modelVersion(id: "${beyond.ModelVersion}") { id } predictionJob(id: "${beyond.PredictionJob}") { id } }`,
  );
  expect(read.errors?.map((error) => error.extensions)).toEqual([0, 1, 2].map(() => ({ code: 'BAD_USER_INPUT', field: 'id' })));
  const absent = await api.query(
    `{ trainingRun(id: "${globalId('TrainingRun', 2147483647)}") { id } modelVersion(id: "${globalId('ModelVersion', 7)}") { id } }`,
  );
  expect(absent.errors).toBeUndefined();
  expect(absent.data).toEqual({ trainingRun: null, modelVersion: null });
  for (const mutation of [
    `cancelTraining(id: "${globalId('TrainingRun', 7)}") { id }`,
    `activateModelVersion(id: "${globalId('ModelVersion', 7)}") { id }`,
    `cancelPrediction(id: "${globalId('PredictionJob', 7)}") { id }`,
  ]) {
    expect((await api.query(`mutation { ${mutation} }`)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  }
});

it('answers BAD_USER_INPUT naming the field for a filter modelVersionId beyond the integer column', async () => {
  const search = await api.query(`query($w: GarmentWhere!) { searchGarments(where: $w) { totalCount } }`, {
    w: { modelVersionId: globalId('ModelVersion', 2147483648) },
  });
  expect(search.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'where.modelVersionId' });
  const inRange = await api.query(`query($w: GarmentWhere!) { searchGarments(where: $w) { totalCount } }`, {
    w: { modelVersionId: globalId('ModelVersion', 2147483647) },
  });
  expect(inRange.errors).toBeUndefined();
  expect(inRange.data?.searchGarments.totalCount).toBe(0);
});

it('refuses NUL characters in string arguments, naming the argument', async () => {
  const external = await api.query(`query($id: String!) { imageByExternalId(externalId: $id) { id } }`, { id: '100\u0000026' });
  expect(external.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'externalId' });
  const fileName = await api.query(`mutation { analyzeImage(uploadId: "${'0'.repeat(32)}", fileName: "a\\u0000.jpg") { image { id } } }`);
  expect(fileName.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'fileName' });
  const nested = await api.query(`query($w: GarmentWhere!) { searchGarments(where: $w) { totalCount } }`, {
    w: { not: { category: ['탑\u0000'] } },
  });
  expect(nested.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'where.not.category[0]' });
});

it('refuses variables nested 5,000 deep with 400 before coercing them', async () => {
  // Written as text: JSON.stringify itself would overflow jest's stack on 5,000 levels.
  const where = `${'{"not":'.repeat(5_000)}{"category":["탑"]}${'}'.repeat(5_000)}`;
  const query = JSON.stringify('query($w: GarmentWhere!) { searchGarments(where: $w) { totalCount } }');
  const response = await fetch(`${api.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
    body: `{"query":${query},"variables":{"w":${where}}}`,
  });
  expect(response.status).toBe(400);
  const result = (await response.json()) as { errors?: unknown[] };
  expect(result.errors?.[0]).toEqual({
    message: 'variables nest deeper than 64 levels',
    extensions: { code: 'BAD_USER_INPUT', field: 'variables' },
  });
});

const SEARCH = `query($w: GarmentWhere!) { searchGarments(where: $w) { totalCount } }`;

it('answers values spelled like Object.prototype members as unknown values, naming the field, over HTTP and WebSocket', async () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ category: ['toString'] }, 'where.category[0]', 'unknown category value "toString"'],
    [{ color: ['constructor'] }, 'where.color[0]', 'unknown color value "constructor"'],
    [{ not: { styles: ['__proto__'] } }, 'where.not.styles[0]', 'unknown style value "__proto__"'],
    [
      { attributes: [{ kind: 'MATERIAL', anyOf: ['hasOwnProperty'] }] },
      'where.attributes[0].anyOf[0]',
      'unknown material value "hasOwnProperty"',
    ],
  ];
  for (const [where, field, message] of cases) {
    const expected = { code: 'BAD_USER_INPUT', field };
    const http = await api.query(SEARCH, { w: where });
    expect(http.errors?.[0]).toMatchObject({ message: `${field}: ${message}`, extensions: expected });
    expect((await api.overWebSocket(SEARCH, { w: where })).errors?.[0]?.extensions).toEqual(expected);
  }
});

it('range-checks minScore where it enters: [0, 1], naming the field', async () => {
  for (const minScore of [1e308, -0.5, 1.5]) {
    const result = await api.query(SEARCH, { w: { minScore } });
    expect(result.errors?.[0]).toMatchObject({
      message: `where.minScore: must be from 0 to 1 (got ${minScore})`,
      extensions: { code: 'BAD_USER_INPUT', field: 'where.minScore' },
    });
  }
  const nested = await api.query(SEARCH, { w: { or: [{ minScore: 0.5 }, { minScore: 2 }] } });
  expect(nested.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'where.or[1].minScore' });
  for (const minScore of [0, 0.5, 1]) expect((await api.query(SEARCH, { w: { minScore } })).errors).toBeUndefined();
});

it('answers an APQ hash that does not match its query with 400 BAD_REQUEST and one log line', async () => {
  const query = '{ modelVersions(first: 1) { edges { node { id } } } }';
  const post = (sha256Hash: string) =>
    fetch(`${api.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
    });
  const mismatch = await post('0'.repeat(64));
  expect(mismatch.status).toBe(400);
  expect(await mismatch.json()).toEqual({
    errors: [{ message: 'provided sha does not match query', extensions: { code: 'BAD_REQUEST' } }],
  });
  const lines = logged.splice(0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toMatch(/\n\s+at /);
  // The matching hash registers the query.
  expect((await post(createHash('sha256').update(query).digest('hex'))).status).toBe(200);
});

it('answers a typo without "Did you mean" when introspection is off, over HTTP and WebSocket (and with it when on)', async () => {
  const typo = '{ modelVersions { totalCount edges { node { idd } } } }';
  expect((await api.query(typo)).errors?.[0]?.message).toMatch(/Did you mean "id"\?/);
  const locked = await startTestServer(db.dataSource, { introspection: false });
  try {
    for (const answer of [await locked.query(typo), await locked.overWebSocket(typo)]) {
      expect(answer.errors?.[0]).toMatchObject({
        message: 'Cannot query field "idd" on type "ModelVersion".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      });
    }
    const argument = await locked.query('{ images(firs: 1) { totalCount } }');
    expect(argument.errors?.[0]?.message).toBe('Unknown argument "firs" on field "Query.images".');
  } finally {
    await locked.server.stop();
  }
});
