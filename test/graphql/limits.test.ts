/**
 * Operations that would stall the API are refused before they run: alias bombs
 * (4,900 `garmentFacets` of all 13 kinds, 4,000 `vocabulary`), too many root fields, and a facet
 * that costs its kinds. The three real samples are imported, so the simple search sent meanwhile has rows to find.
 */
import { getComplexity, fieldExtensionsEstimator, simpleEstimator } from 'graphql-query-complexity';
import { parse } from 'graphql';
import WebSocket from 'ws';
import { ATTRIBUTE_KINDS } from '../../src/kfashion/types';
import { attributeKindName } from '../../src/graphql/types';
import { buildApiSchema } from '../../src/graphql/schema';
import { measureOperation } from '../../src/graphql/limits';
import * as fs from 'node:fs';
import { importDataset } from '../../src/db/import';
import { ApiClient, makeSampleTree, startTestServer } from './support';
import { openDatabase } from '../../src/db/data-source';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let api: ApiClient;
let root: string;
/** What the server logged (it must stay quiet about refused operations). */
const logged: string[] = [];

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  api = await startTestServer(db.dataSource, {
    log: (message, error) => logged.push(`${message} ${error instanceof Error ? error.stack : String(error ?? '')}`),
  });
});
afterAll(async () => {
  await api.server.stop();
  await db.drop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** `count` aliases of `field` in one query (declaring $kinds when the field uses it). */
const aliases = (count: number, field: string) =>
  `query${field.includes('$kinds') ? '($kinds: [AttributeKind!]!)' : ''} { ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
const KINDS = { kinds: ATTRIBUTE_KINDS.map(attributeKindName) };
const FACET_ALL_KINDS = `garmentFacets(kinds: $kinds) { kind values { value count } }`;

/** POSTs a query and answers the status and the raw body (a refused body is not GraphQL-shaped). */
async function post(query: string, variables: Record<string, unknown> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(`${api.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, text: await response.text() };
}

it('refuses the alias bombs at once, without reading or parsing them', async () => {
  for (const bomb of [aliases(4_900, FACET_ALL_KINDS), aliases(4_000, 'vocabulary { value count }')]) {
    const started = Date.now();
    const result = await post(bomb, KINDS);
    expect(result.status).toBe(413);
    // Parsing and validating the whole facet bomb takes about a second of the event loop (generous margin: shared cores).
    expect(Date.now() - started).toBeLessThan(1_500);
  }
  // Under the byte bound, but longer than a query may be: refused before parsing.
  const long = await api.query(`{ modelVersions(first: 1) { totalCount } }${' '.repeat(60_000)}`);
  expect(long.status).toBe(400);
  expect(long.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  expect(long.errors?.[0]?.message).toBe('the query is 60042 characters long; the maximum is 50000');
  // Short enough, but more tokens than the parser takes.
  const tokens = await api.query(aliases(1_500, 'vocabulary { value }'));
  expect(tokens.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  expect(tokens.errors?.[0]?.message).toMatch(/5000 tokens\. Parsing aborted/);
  // Within the token limit, the root-field cap refuses it.
  const small = await api.query(aliases(200, FACET_ALL_KINDS), KINDS);
  expect(small.errors?.[0]?.message).toMatch(/200 root fields \(aliases count\); the maximum is 20/);
});

it('caps root fields per operation, counting aliases and fragments but not __typename', async () => {
  expect((await api.query(aliases(20, 'modelVersions(first: 1) { totalCount }'), KINDS)).errors).toBeUndefined();
  expect((await api.query(aliases(21, 'modelVersions(first: 1) { totalCount }'), KINDS)).errors?.[0]?.extensions?.code).toBe(
    'QUERY_TOO_COMPLEX',
  );
  const document = parse(
    `query A { __typename ...F } query B { x: modelVersions(first: 1) { totalCount } } fragment F on Query { a: modelVersions(first: 1) { totalCount } b: modelVersions(first: 1) { totalCount } }`,
  );
  expect(measureOperation(document, 'A').fields).toBe(2);
  expect(measureOperation(document, 'B').fields).toBe(1);
});

it('costs a facet by its kinds, so a few aliases of all kinds exceed the budget', async () => {
  const schema = buildApiSchema();
  const cost = (query: string) =>
    getComplexity({
      schema,
      query: parse(query),
      variables: KINDS,
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  const one = cost(`{ garmentFacets(kinds: [COLOR]) { kind values { value count } } }`);
  expect(cost(aliases(1, FACET_ALL_KINDS))).toBe(ATTRIBUTE_KINDS.length * one);
  const tooMany = await api.query(aliases(10, FACET_ALL_KINDS), KINDS);
  expect(tooMany.errors?.[0]?.message).toMatch(/complexity \d+ exceeds the maximum of 25000/);
  // The console's own request, facets of every kind in one field, stays well inside it.
  expect((await api.query(aliases(1, FACET_ALL_KINDS), KINDS)).errors).toBeUndefined();
});

it('answers /health and a simple search while the bomb is sent 3 times in parallel, 40 times each', async () => {
  // Their latency meanwhile is measured by `npm run bench:api-bombs` (bench/RESULTS.md), not asserted here.
  const bomb = aliases(4_900, FACET_ALL_KINDS);
  const lane = async () => {
    for (let round = 0; round < 40; round++) expect((await post(bomb, KINDS)).status).toBe(413);
  };
  let bombing = true;
  const bombs = Promise.all([lane(), lane(), lane()]).finally(() => (bombing = false));
  const answers: number[] = [];
  while (bombing) {
    answers.push((await api.get('/health')).status);
    const found = await api.data(`{ searchGarments(where: { superCategory: [TOP] }, first: 5) { edges { node { id } } } }`);
    expect(found.searchGarments.edges.length).toBeGreaterThan(0);
  }
  await bombs;
  expect(answers.length).toBeGreaterThan(5);
  expect(new Set(answers)).toEqual(new Set([200]));
});

it('runs at most `limit` expensive operations at once; the next waits, then is refused, while cheap ones pass', async () => {
  const gated = await startTestServer(db.dataSource, { expensive: { cost: 1_000, limit: 1, maxWaitMs: 500 } });
  const locker = db.dataSource.createQueryRunner();
  const costly = `{ images(first: 100) { edges { node { id garments { attributes { kind } } } } } }`;
  try {
    await locker.startTransaction();
    await locker.query('LOCK TABLE images IN ACCESS EXCLUSIVE MODE');
    const first = gated.query(costly); // holds the only slot, blocked by the lock
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const second = await gated.query(costly);
    expect(second.status).toBe(503);
    expect(second.errors?.[0]?.extensions?.code).toBe('SERVER_BUSY');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    // A cheap query needs no slot (and no locked table).
    expect((await gated.query(`{ modelVersions(first: 1) { totalCount } }`)).errors).toBeUndefined();
    await locker.rollbackTransaction();
    expect((await first).errors).toBeUndefined();
    // The slot was freed with the first response.
    expect((await gated.query(costly)).errors).toBeUndefined();
  } finally {
    if (locker.isTransactionActive) await locker.rollbackTransaction();
    await locker.release();
    await gated.server.stop();
  }
});

/** `query { ...F0 }` where each fragment spreads the next twice: 2^levels root fields spelled in about 40 bytes a level. */
const fragmentBomb = (levels: number) =>
  `query { ...F0 } ${Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F${levels} on Query { modelVersions(first: 1) { totalCount } }`;

describe('work limits', () => {
  it('measures an operation without expanding its fragments', () => {
    // Expanded, 200 levels would be 2^200 fields: measured once per fragment, it takes 200 steps.
    const measure = measureOperation(parse(fragmentBomb(200)));
    expect(measure.fields).toBe(2 ** 200);
    expect(measure.depth).toBe(2);
    const shallow = measureOperation(
      parse(
        `query { ...A } fragment A on Query { a: modelVersions(first: 1) { totalCount } ...B ...B } fragment B on Query { b: vocabulary { value } }`,
      ),
    );
    expect(shallow).toEqual({ depth: 2, fields: 3, selections: 9 });
  });

  it('refuses the fragment bomb (30 levels, anonymous) with QUERY_TOO_COMPLEX, over HTTP and over WebSocket', async () => {
    const message = `the operation has ${2 ** 30} root fields (aliases count); the maximum is 20`;
    const anonymous = api.as(undefined);
    const http = await anonymous.query(fragmentBomb(30));
    expect(http.status).toBe(400);
    expect(http.errors).toEqual([{ message, extensions: { code: 'QUERY_TOO_COMPLEX' } }]);
    expect((await anonymous.overWebSocket(fragmentBomb(30))).errors).toEqual([{ message, extensions: { code: 'QUERY_TOO_COMPLEX' } }]);
    // Few root fields, but still 2^30 selections once expanded: refused by its expanded size.
    const wide = `query { modelVersions { edges { node { ...F0 } } } } ${Array.from({ length: 30 }, (_, i) => `fragment F${i} on ModelVersion { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F30 on ModelVersion { id }`;
    for (const answer of [await anonymous.query(wide), await anonymous.overWebSocket(wide)]) {
      expect(answer.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(answer.errors?.[0]?.message).toMatch(/expands to \d+ selections \(fragments counted at each spread\); the maximum is 5000/);
    }
  });

  it('applies the same limits to operations sent over graphql-ws: root fields, complexity, depth', async () => {
    // The probe's 300 aliased facets of 13 kinds: more tokens than the parser reads, as over HTTP.
    const facets = await api.overWebSocket(aliases(300, FACET_ALL_KINDS), KINDS);
    expect(facets.errors).toEqual([
      { message: 'Syntax Error: Document contains more that 5000 tokens. Parsing aborted.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } },
    ]);
    const fewer = await api.overWebSocket(aliases(200, FACET_ALL_KINDS), KINDS);
    expect(fewer.errors).toEqual([
      { message: 'the operation has 200 root fields (aliases count); the maximum is 20', extensions: { code: 'QUERY_TOO_COMPLEX' } },
    ]);
    expect((await api.overWebSocket(aliases(10, FACET_ALL_KINDS), KINDS)).errors?.[0]?.message).toMatch(
      /complexity \d+ exceeds the maximum of 25000/,
    );
    const deep = `{ images(first: 1) { edges { node { garments { image { garments { image { garments { image { garments { id } } } } } } } } } } }`;
    expect((await api.overWebSocket(deep)).errors?.[0]?.message).toBe('query depth 11 exceeds the maximum of 10');
    // A query within the limits is answered over WebSocket as over HTTP.
    const found = await api.overWebSocket(`{ searchGarments(where: { superCategory: [TOP] }, first: 5) { edges { node { id } } } }`);
    expect(found.errors).toBeUndefined();
    expect(found.data.searchGarments.edges.length).toBeGreaterThan(0);
  });

  it('refuses introspection over graphql-ws when introspection is off, and hides suggestions there', async () => {
    const locked = await startTestServer(db.dataSource, { introspection: false });
    try {
      for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "Image") { fields { name } } }']) {
        expect((await locked.overWebSocket(query)).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      }
      const typo = await locked.overWebSocket('{ modelVersions { totalCount edges { node { idd } } } }');
      expect(typo.errors?.[0]?.message).toBe('Cannot query field "idd" on type "ModelVersion".');
    } finally {
      await locked.server.stop();
    }
  });

  it('refuses variables nested 6,000 deep over graphql-ws with BAD_USER_INPUT, keeping the socket open', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${api.server.port}/graphql`, 'graphql-transport-ws');
    const messages: any[] = [];
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    const next = () => new Promise<any>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${api.token}` } }));
    messages.push(await next());
    const where = `${'{"not":'.repeat(6_000)}{"category":["탑"]}${'}'.repeat(6_000)}`;
    const query = JSON.stringify('query($w: GarmentWhere!) { searchGarments(where: $w) { totalCount } }');
    socket.send(`{"id":"1","type":"subscribe","payload":{"query":${query},"variables":{"w":${where}}}}`);
    messages.push(await next());
    socket.send(JSON.stringify({ id: '2', type: 'subscribe', payload: { query: '{ modelVersions(first: 1) { totalCount } }' } }));
    messages.push(await next());
    socket.close(1000);
    expect(await closed).toBe(1000);
    expect(messages.map((message) => message.type)).toEqual(['connection_ack', 'error', 'next']);
    expect(messages[1].payload).toEqual([
      { message: 'variables nest deeper than 64 levels', extensions: { code: 'BAD_USER_INPUT', field: 'variables' } },
    ]);
    expect(logged).toEqual([]);
  });

  it('answers /health from its own connection while costly operations hold every pooled connection', async () => {
    const small = await openDatabase({ url: db.url, poolSize: 2 });
    const gated = await startTestServer(small, { expensive: { cost: 1_000, limit: 1, maxWaitMs: 10_000 } });
    const locker = db.dataSource.createQueryRunner();
    // Two root fields run side by side: one costly operation takes both pooled connections.
    const costly = `{ a: images(first: 100) { edges { node { id garments { attributes { kind } } } } } b: images(first: 99) { edges { node { id garments { attributes { kind } } } } } }`;
    try {
      await locker.startTransaction();
      await locker.query('LOCK TABLE images IN ACCESS EXCLUSIVE MODE');
      const held = gated.query(costly);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const health = await Promise.race([
        gated.get('/health').then((response) => response.status),
        new Promise((resolve) => setTimeout(() => resolve('no answer within 3 s'), 3_000)),
      ]);
      expect(health).toBe(200);
      await locker.rollbackTransaction();
      expect((await held).errors).toBeUndefined();
    } finally {
      if (locker.isTransactionActive) await locker.rollbackTransaction();
      await locker.release();
      await gated.server.stop();
      await small.destroy();
    }
  });

  it('never lets the expensive gate admit as many operations as the pool has connections', async () => {
    const small = await openDatabase({ url: db.url, poolSize: 4 });
    try {
      await expect(startTestServer(small, { expensive: { limit: 4 } })).rejects.toThrow(
        'expensive.limit must be a whole number from 1 to 3 (below the database pool size 4); got 4',
      );
    } finally {
      await small.destroy();
    }
  });
});
