/**
 * A real Relay client, offline: relay-compiler compiles the small app of ./relay-app (a `node`
 * refetch of a garment, @refetchable Garment and Image fragments, a @connection search, enum
 * filters) against schema.graphql, and relay-runtime's store, fed the answers of the running
 * server on a test database, holds every object under its own id without a collision warning.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Environment, fetchQuery, Network, RecordSource, Store, type ConcreteRequest, type GraphQLResponse } from 'relay-runtime';
import { importDataset } from '../../src/db/import';
import { globalId } from '../../src/graphql/ids';
import { ApiClient, makeSampleTree, startTestServer } from '../graphql/support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

const APP_DIR = path.join(__dirname, 'relay-app');
const SCHEMA = path.resolve(__dirname, '../../schema.graphql');

let db: TestDatabase;
let api: ApiClient;
let root: string;
let work: string;
let compiled: { status: number; output: string };

/** Runs relay-compiler (the binary its npm package ships) over the app into `work`/generated. */
function compileApp(): { status: number; output: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's main export is the binary's path
  const binary: string = require('relay-compiler');
  const config = path.join(work, 'relay.config.json');
  fs.mkdirSync(path.join(work, 'generated'));
  fs.writeFileSync(
    config,
    JSON.stringify({ src: APP_DIR, schema: SCHEMA, language: 'typescript', artifactDirectory: path.join(work, 'generated') }),
  );
  try {
    return { status: 0, output: execFileSync(binary, [config], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { status: failed.status, output: `${failed.stdout}${failed.stderr}` };
  }
}

/** A compiled operation of the app. */
function operation(name: string): ConcreteRequest {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module the test generated into a temporary folder
  return require(path.join(work, 'generated', `${name}.graphql.ts`)).default;
}

/** A Relay environment whose network is the test server over real HTTP. */
function environment(): Environment {
  return new Environment({
    network: Network.create(async (params, variables) => {
      const response = await fetch(`${api.origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
        body: JSON.stringify({ query: params.text, variables }),
      });
      return (await response.json()) as GraphQLResponse;
    }),
    store: new Store(new RecordSource()),
  });
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-relay-'));
  compiled = compileApp();
  db = await createPostgresTestDatabase();
  root = makeSampleTree([
    { from: '100026', id: 2000001 },
    { from: '1092253', id: 2000002 },
  ]);
  await importDataset(db.dataSource, { root });
  api = await startTestServer(db.dataSource);
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  for (const dir of [root, work]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('compiles the app against schema.graphql: node refetch, @refetchable Garment and Image, a @connection, enum filters', () => {
  expect(compiled).toMatchObject({ status: 0 });
  const generated = fs.readdirSync(path.join(work, 'generated')).sort();
  expect(generated).toEqual(
    [
      'GarmentCardRefetchQuery',
      'GarmentCard_garment',
      'GarmentNodeQuery',
      'ImageThumbRefetchQuery',
      'ImageThumb_image',
      'SearchPagePaginationQuery',
      'SearchPageQuery',
      'SearchPageRunsQuery',
      'SearchPageTopsQuery',
      'SearchPage_results',
    ].map((name) => `${name}.graphql.ts`),
  );
  // @refetchable on Garment and Image goes through Query.node: the Node interface.
  for (const name of ['GarmentCardRefetchQuery', 'ImageThumbRefetchQuery']) expect(operation(name).params.text).toMatch(/node\(id: \$id\)/);
});

describe('the Relay store fed by the running server', () => {
  const warnings: unknown[][] = [];
  beforeEach(() => {
    warnings.length = 0;
    for (const method of ['error', 'warn'] as const)
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void warnings.push(args));
  });
  afterEach(() => jest.restoreAllMocks());

  it('holds every garment and image under its own id, each garment pointing at its image', async () => {
    const env = environment();
    const data: any = await fetchQuery(env, operation('SearchPageQuery'), { where: {}, first: 100 }).toPromise();
    expect(data).toBeDefined();
    const source = env.getStore().getSource();
    const garments = source.getRecordIDs().filter((id) => source.get(id)?.__typename === 'Garment');
    const images = new Set(source.getRecordIDs().filter((id) => source.get(id)?.__typename === 'Image'));
    expect(garments.length).toBeGreaterThan(4);
    // Garment and image keys overlap (both count from 1): row numbers as ids would merge them.
    const garmentKeys = new Set(garments.map((id) => source.get(id)!.databaseId));
    expect([...images].some((id) => garmentKeys.has(source.get(id)!.databaseId))).toBe(true);
    for (const id of garments) {
      const garment = source.get(id)!;
      expect(id).toBe(globalId('Garment', garment.databaseId as string));
      const image = (garment.image as { __ref: string }).__ref;
      expect(images.has(image)).toBe(true);
      expect(image).not.toBe(id);
    }
    for (const id of images) expect(id).toBe(globalId('Image', source.get(id)!.databaseId as string));
    expect(warnings).toEqual([]);
  });

  it('refetches a garment with node(id:) into the same record', async () => {
    const env = environment();
    await fetchQuery(env, operation('SearchPageQuery'), { where: { superCategory: ['TOP'] }, first: 5 }).toPromise();
    const source = env.getStore().getSource();
    const garmentId = source.getRecordIDs().find((id) => source.get(id)?.__typename === 'Garment')!;
    const before = { ...source.get(garmentId) };
    const data: any = await fetchQuery(env, operation('GarmentNodeQuery'), { id: garmentId }).toPromise();
    expect(data.node).toMatchObject({ __typename: 'Garment', id: garmentId });
    expect(source.get(garmentId)).toMatchObject({ __typename: 'Garment', databaseId: before.databaseId, category: before.category });
    const imageId = (before.image as { __ref: string }).__ref;
    const refetched: any = await fetchQuery(env, operation('ImageThumbRefetchQuery'), { id: imageId }).toPromise();
    expect(refetched.node).not.toBeNull();
    expect(source.get(imageId)).toMatchObject({
      __typename: 'Image',
      id: imageId,
      'thumbnailUrl(size:128)': expect.stringMatching(/^\/images\/\d+\/thumbnail\?size=128$/),
    });
    expect(warnings).toEqual([]);
  });

  it('sends enum filters the server accepts', async () => {
    const env = environment();
    const tops: any = await fetchQuery(env, operation('SearchPageTopsQuery'), {}).toPromise();
    expect(tops.searchGarments.edges.length).toBeGreaterThan(0);
    expect(new Set(tops.searchGarments.edges.map((edge: any) => edge.node.superCategory))).toEqual(new Set(['TOP']));
    const runs: any = await fetchQuery(env, operation('SearchPageRunsQuery'), { status: 'RUNNING' }).toPromise();
    expect(runs.trainingRuns).toEqual({ totalCount: 0, edges: [] });
    expect(warnings).toEqual([]);
  });
});
