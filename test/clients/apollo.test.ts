/**
 * A real Apollo Client, offline: it pages a garment search of the running server (test database)
 * with `relayStylePagination`, and its cache ends up holding every match once, in order.
 */
import * as fs from 'node:fs';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client/core';
import { relayStylePagination } from '@apollo/client/utilities';
import { importDataset } from '../../src/db/import';
import { ApiClient, makeSampleTree, startTestServer } from '../graphql/support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let api: ApiClient;
let root: string;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree(Array.from({ length: 8 }, (_, i) => ({ from: i % 2 ? '100026' : '1092253', id: 3000000 + i })));
  await importDataset(db.dataSource, { root });
  api = await startTestServer(db.dataSource);
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const SEARCH = gql`
  query Search($where: GarmentWhere!, $first: Int!, $after: String) {
    searchGarments(where: $where, first: $first, after: $after) {
      totalCount
      edges { cursor node { id databaseId category image { id externalId } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

it('pages a search with relayStylePagination: every match once, in order, garments and images apart', async () => {
  const client = new ApolloClient({
    link: new HttpLink({ uri: `${api.origin}/graphql`, headers: { authorization: `Bearer ${api.token}` }, fetch }),
    cache: new InMemoryCache({ typePolicies: { Query: { fields: { searchGarments: relayStylePagination(['where']) } } } }),
  });
  const where = { superCategory: ['TOP'] };
  const expected: string[] = (
    await db.dataSource.query(`SELECT g.id::text AS id FROM garments g WHERE g.super_category = 'TOP' ORDER BY g.id`)
  ).map((row: { id: string }) => row.id);
  expect(expected.length).toBeGreaterThan(6);

  const search = client.watchQuery({ query: SEARCH, variables: { where, first: 3 } });
  let pageInfo = (await search.refetch()).data.searchGarments.pageInfo;
  let pages = 1;
  while (pageInfo.hasNextPage) {
    await search.fetchMore({ variables: { after: pageInfo.endCursor } });
    // The merged connection: its pageInfo is the last page's.
    pageInfo = search.getCurrentResult().data.searchGarments.pageInfo;
    pages++;
  }
  const merged: any = client.readQuery({ query: SEARCH, variables: { where, first: 3 } });
  expect(merged.searchGarments.totalCount).toBe(expected.length);
  expect(merged.searchGarments.edges.map((edge: any) => edge.node.databaseId)).toEqual(expected);
  expect(merged.searchGarments.pageInfo.hasNextPage).toBe(false);
  expect(pages).toBe(Math.ceil(expected.length / 3));
  // Normalised by __typename and id: a garment and an image never share an entry.
  const cache = client.cache.extract() as Record<string, { __typename?: string }>;
  for (const [key, value] of Object.entries(cache))
    if (key !== 'ROOT_QUERY') expect(key).toBe(`${value.__typename}:${(value as { id: string }).id}`);
  expect(new Set(Object.keys(cache).filter((key) => key.startsWith('Image:'))).size).toBeGreaterThan(1);
});
