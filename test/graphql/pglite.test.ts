/**
 * The API on the embedded database (no DATABASE_URL): the real samples imported into PGlite and
 * queried over HTTP. Broad filters are counted live there (no precomputed counts on PGlite).
 */
import * as fs from 'node:fs';
import { importDataset } from '../../src/db/import';
import { createPgliteTestDatabase, TestDatabase } from '../support/database';
import { ApiClient, makeSampleTree, startTestServer } from './support';

let db: TestDatabase;
let api: ApiClient;
let root: string;

beforeAll(async () => {
  db = await createPgliteTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  api = await startTestServer(db.dataSource);
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

it('browses, searches in English and counts facets on PGlite', async () => {
  const data = await api.data(`{
    imageByExternalId(externalId: "100026") { styles { style } garments { category attributes { kind value } } }
    searchGarments(where: { collar: "bow" }) { totalCount edges { node { category image { externalId } } } }
    garmentFacets(kinds: ["color"]) { kind values { value count } } }`);
  expect(data.imageByExternalId.styles).toEqual([{ style: '로맨틱' }]);
  expect(data.imageByExternalId.garments.map((g: any) => g.category).sort()).toEqual(['블라우스', '스커트']);
  expect(data.searchGarments).toEqual({ totalCount: 1, edges: [{ node: { category: '블라우스', image: { externalId: '100026' } } }] });
  // Colours of the six sample garments: 화이트 ×4 (100026 both, 1070263 both), 그레이, 베이지.
  expect(data.garmentFacets).toEqual([
    { kind: 'color', values: [{ value: '화이트', count: 4 }, { value: '그레이', count: 1 }, { value: '베이지', count: 1 }] },
  ]);
  expect(await api.server.facetCounts!.isFresh()).toBe(false);
});
