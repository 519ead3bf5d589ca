/**
 * Operations that would stall the API are refused before they run: alias bombs
 * (4,900 `garmentFacets` of all 13 kinds, 4,000 `vocabulary`), too many root fields, and a facet
 * that costs its kinds. The three real samples are imported, so the simple search sent meanwhile has rows to find.
 */
import { getComplexity, fieldExtensionsEstimator, simpleEstimator } from 'graphql-query-complexity';
import { parse } from 'graphql';
import { ATTRIBUTE_KINDS } from '../../src/kfashion/types';
import { buildApiSchema } from '../../src/graphql/schema';
import { rootFieldCount } from '../../src/graphql/limits';
import * as fs from 'node:fs';
import { importDataset } from '../../src/db/import';
import { ApiClient, makeSampleTree, startTestServer } from './support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let api: ApiClient;
let root: string;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  api = await startTestServer(db.dataSource);
});
afterAll(async () => {
  await api.server.stop();
  await db.drop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** `count` aliases of `field` in one query (declaring $kinds when the field uses it). */
const aliases = (count: number, field: string) =>
  `query${field.includes('$kinds') ? '($kinds: [String!]!)' : ''} { ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
const KINDS = { kinds: ATTRIBUTE_KINDS };
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
  const long = await api.query(`{ modelVersions { id } }${' '.repeat(60_000)}`);
  expect(long.status).toBe(400);
  expect(long.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  expect(long.errors?.[0]?.message).toBe('the query is 60024 characters long; the maximum is 50000');
  // Short enough, but more tokens than the parser takes.
  const tokens = await api.query(aliases(1_500, 'vocabulary { value }'));
  expect(tokens.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  expect(tokens.errors?.[0]?.message).toMatch(/5000 tokens\. Parsing aborted/);
  // Within the token limit, the root-field cap refuses it.
  const small = await api.query(aliases(200, FACET_ALL_KINDS), KINDS);
  expect(small.errors?.[0]?.message).toMatch(/200 root fields \(aliases count\); the maximum is 20/);
});

it('caps root fields per operation, counting aliases and fragments but not __typename', async () => {
  expect((await api.query(aliases(20, 'modelVersions { id }'), KINDS)).errors).toBeUndefined();
  expect((await api.query(aliases(21, 'modelVersions { id }'), KINDS)).errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  const document = parse(`query A { __typename ...F } query B { x: modelVersions { id } } fragment F on Query { a: modelVersions { id } b: modelVersions { id } }`);
  expect(rootFieldCount(document, 'A')).toBe(2);
  expect(rootFieldCount(document, 'B')).toBe(1);
});

it('costs a facet by its kinds, so a few aliases of all kinds exceed the budget', async () => {
  const schema = buildApiSchema();
  const cost = (query: string) =>
    getComplexity({ schema, query: parse(query), variables: KINDS, estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })] });
  const one = cost(`{ garmentFacets(kinds: ["color"]) { kind values { value count } } }`);
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
    expect((await gated.query(`{ modelVersions { id } }`)).errors).toBeUndefined();
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
