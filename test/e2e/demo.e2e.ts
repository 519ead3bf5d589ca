/**
 * `kfashion demo` as a user runs it, with DATABASE_URL unset (the embedded PostgreSQL server): the
 * whole loop through the public surface — synthetic photos, import, the API with a model server,
 * startTraining over GraphQL followed over graphql-ws, activation, predictImages — then a
 * sideways phone photo uploaded and analysed, and its garments found by searchGarments. A short
 * training run (1 epoch) keeps this to about a minute; the full demo is measured in bench/RESULTS.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { assertBuilt, startCli, type Child } from './processes';

jest.setTimeout(600_000);

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-demo-e2e-'));
let demo: Child;

beforeAll(() => assertBuilt(['src/cli', 'src/graphql', 'src/uploads', 'src/db']));
afterAll(async () => {
  if (demo && demo.process.exitCode === null) {
    demo.process.kill('SIGINT');
    await demo.exited;
  }
  fs.rmSync(home, { recursive: true, force: true });
});

let token = '';

async function graphql(origin: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as any;
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

it('runs the whole loop on the embedded database, then analyses an uploaded phone photo', async () => {
  demo = startCli(['demo', '--images', '60', '--epochs', '1', '--train-images', '16'], {
    DATABASE_URL: '',
    KFASHION_DATA_DIR: home,
    PORT: '0',
    KFASHION_TF_BACKEND: 'wasm',
  });
  const [, port] = await demo.waitFor(/web console http:\/\/localhost:(\d+)\//, 120_000);
  // The admin token for the console comes with the address, before the photos are imported; it is
  // kept (mode 0600) in the data folder for the next demo. Analysing writes (reads are public on the embedded database).
  [, token] = await demo.waitFor(/API token \(admin, until \d{4}-\d{2}-\d{2}\) for the console's "API token" field: (\S+)/);
  expect(demo.output().split('3/5 import')[0]).toContain(token);
  expect(fs.readFileSync(path.join(home, 'demo-token'), 'utf8').trim()).toBe(token);
  expect(fs.statSync(path.join(home, 'demo-token')).mode & 0o777).toBe(0o600);
  await demo.waitFor(/4\/5 training run (\S+) started through the API/);
  // The demo follows its run over graphql-ws and prints the steps it is told about.
  await demo.waitFor(/step \d+\/\d+ · epoch 1\/1/, 300_000);
  const [, versionId] = await demo.waitFor(/5\/5 model version (\S+) is active/, 300_000);
  const origin = `http://127.0.0.1:${port}`;
  const { modelVersions, trainingRuns } = await graphql(
    origin,
    '{ modelVersions { edges { node { id isActive } } } trainingRuns { edges { node { status } } } }',
  );
  // The demo prints the version's global id, as the API names it.
  expect(modelVersions.edges.map((edge: any) => edge.node)).toEqual([{ id: versionId, isActive: true }]);
  expect(trainingRuns.edges.map((edge: any) => edge.node.status)).toEqual(['SUCCEEDED']);

  // A phone photo: stored sideways (orientation 6) from a synthetic photo of the demo's kind.
  const source = (fs.readdirSync(path.join(home, 'demo'), { recursive: true }) as string[]).find((f) => f.endsWith('.jpg'))!;
  const upright = await sharp(path.join(home, 'demo', source))
    .resize(1500, 2000)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const photo = await sharp(upright.data, { raw: upright.info })
    .rotate(-90)
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const anonymous = await fetch(`${origin}/uploads`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: photo });
  expect(anonymous.status).toBe(401);
  const upload = await fetch(`${origin}/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${token}` },
    body: photo,
  });
  expect(upload.status).toBe(201);
  const { uploadId, width, height } = (await upload.json()) as any;
  expect([width, height]).toEqual([1500, 2000]);
  const { analyzeImage } = await graphql(
    origin,
    'mutation($u: ID) { analyzeImage(uploadId: $u) { image { id width height } garments { id } modelVersion { id } } }',
    { u: uploadId },
  );
  expect(analyzeImage.image).toMatchObject({ width: 1500, height: 2000 });
  expect(analyzeImage.modelVersion.id).toBe(versionId);
  expect(analyzeImage.garments.length).toBeGreaterThan(0);
  // Every predicted garment of the model version, page by page: the photo's are among them.
  const found: string[] = [];
  for (let after: string | null = null; ;) {
    const { searchGarments }: any = await graphql(
      origin,
      'query($id: ID!, $after: String) { searchGarments(where: { source: PREDICTION, modelVersionId: $id }, first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
      { id: versionId, after },
    );
    found.push(...searchGarments.edges.map((e: any) => e.node.id));
    if (!searchGarments.pageInfo.hasNextPage) break;
    after = searchGarments.pageInfo.endCursor;
  }
  for (const garment of analyzeImage.garments) expect(found).toContain(garment.id);

  demo.process.kill('SIGINT');
  expect(await demo.exited).toBe(0);
  // The last process of the data folder stopped the embedded server on its way out.
  expect(fs.existsSync(path.join(home, 'postgres', 'data', 'postmaster.pid'))).toBe(false);
});
