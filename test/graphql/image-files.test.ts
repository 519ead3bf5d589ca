/**
 * The image routes over real HTTP on files an attacker placed in a dataset (security issue, items 7,
 * 9 and 14): a FIFO, an SVG named .jpg, a truncated JPEG and a 16-bit 6000×6000 PNG. Each answers a
 * 422 with a stable code, no FIFO holds a thread (the server keeps serving), and images that need a
 * token are never marked for shared caches.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { importDataset } from '../../src/db/import';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { ApiClient, importedImageIds, insertImageRow, makeSampleTree, SAMPLES_DIR, startTestServer } from './support';

const PHOTOS = 'Training/원천데이터/로맨틱';
let db: TestDatabase;
let api: ApiClient;
let root: string;
const ids: Record<string, string> = {};

const insertImage = (externalId: string, imagePath: string) => insertImageRow(db.dataSource, externalId, imagePath);

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  Object.assign(ids, await importedImageIds(db.dataSource));
  execFileSync('mkfifo', [path.join(root, PHOTOS, 'fifo.jpg')]);
  ids.fifo = await insertImage('fifo', `${PHOTOS}/fifo.jpg`);
  fs.writeFileSync(
    path.join(root, PHOTOS, 'drawing.jpg'),
    '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800"><rect width="800" height="800" fill="red"/></svg>',
  );
  ids.svg = await insertImage('svg', `${PHOTOS}/drawing.jpg`);
  const jpeg = fs.readFileSync(path.join(SAMPLES_DIR, '100026.jpg'));
  fs.writeFileSync(path.join(root, PHOTOS, 'half.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  ids.half = await insertImage('half', `${PHOTOS}/half.jpg`);
  const deep = await sharp(Buffer.alloc(6000 * 6000), { raw: { width: 6000, height: 6000, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  fs.writeFileSync(path.join(root, PHOTOS, 'deep.png'), deep);
  ids.deep = await insertImage('deep', `${PHOTOS}/deep.png`);
  api = await startTestServer(db.dataSource, { publicRead: false });
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** GET within `ms`, or a failure naming the route (a blocked thread shows as this timeout). */
function getWithin(route: string, ms = 5_000): Promise<Response> {
  return fetch(`${api.origin}${route}`, { headers: { authorization: `Bearer ${api.token}` }, signal: AbortSignal.timeout(ms) });
}

async function problem(route: string): Promise<{ status: number; body: any }> {
  const response = await getWithin(route);
  return { status: response.status, body: await response.json() };
}

it('answers a FIFO image 422 NOT_REGULAR_FILE on every route at once, and keeps serving everything else', async () => {
  const routes = [
    `/images/${ids.fifo}`,
    ...Array.from({ length: 6 }, (_, i) => `/images/${ids.fifo}/thumbnail?size=${64 + i}`),
    `/images/${ids.fifo}/annotated`,
  ];
  const answers = await Promise.all(routes.map(problem));
  for (const answer of answers) {
    expect(answer).toEqual({
      status: 422,
      body: { code: 'NOT_REGULAR_FILE', error: `image ${ids.fifo}: the image is a FIFO, not a regular file` },
    });
  }
  // libuv's four threads are free: a real thumbnail and /health still answer at once.
  expect((await getWithin(`/images/${ids['100026']}/thumbnail?size=64`, 2_000)).status).toBe(200);
  expect((await getWithin('/health', 2_000)).status).toBe(200);
}, 20_000);

it('refuses an SVG named .jpg on every route instead of rendering it', async () => {
  for (const route of [`/images/${ids.svg}`, `/images/${ids.svg}/thumbnail`, `/images/${ids.svg}/annotated`]) {
    expect({ route, ...(await problem(route)) }).toEqual({
      route,
      status: 422,
      body: { code: 'UNSUPPORTED_IMAGE_FORMAT', error: `image ${ids.svg}: not a JPEG, PNG or WebP image (unrecognised signature)` },
    });
  }
});

it('answers an undecodable dataset image 422 UNDECODABLE_IMAGE, not 500', async () => {
  for (const route of [`/images/${ids.half}/thumbnail`, `/images/${ids.half}/annotated`]) {
    expect({ route, ...(await problem(route)) }).toEqual({
      route,
      status: 422,
      body: { code: 'UNDECODABLE_IMAGE', error: `image ${ids.half}: cannot decode the jpeg image: it is damaged or truncated` },
    });
  }
});

it('refuses a 16-bit 6000×6000 PNG thumbnail by its header, in well under the 4.3 s its decoding took', async () => {
  const started = Date.now();
  const answer = await problem(`/images/${ids.deep}/thumbnail`);
  expect(answer.status).toBe(422);
  expect(answer.body).toMatchObject({ code: 'IMAGE_TOO_LARGE', error: expect.stringMatching(/6000×6000 pixels at 16 bits per sample/) });
  expect(Date.now() - started).toBeLessThan(2_000);
});

it('marks images private when reads need a token, public only when public reads are on', async () => {
  for (const route of [`/images/${ids['100026']}`, `/images/${ids['100026']}/thumbnail`]) {
    const response = await getWithin(route);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, max-age=86400');
    const revalidated = await fetch(`${api.origin}${route}`, {
      headers: { authorization: `Bearer ${api.token}`, 'if-none-match': response.headers.get('etag')! },
    });
    expect([revalidated.status, revalidated.headers.get('cache-control')]).toEqual([304, 'private, max-age=86400']);
  }
  const open = await startTestServer(db.dataSource, { publicRead: true });
  try {
    const response = await fetch(`${open.origin}/images/${ids['100026']}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=86400');
  } finally {
    await open.server.stop();
  }
});
