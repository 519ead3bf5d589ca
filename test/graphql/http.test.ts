/**
 * The HTTP side of the API server on real PostgreSQL and the real sample JPEGs: image routes
 * (original, thumbnail, crop, annotated) with caching headers and path confinement, health,
 * the offline explorer page, CSRF prevention, production defaults and graceful shutdown.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import sharp from 'sharp';
import { importDataset } from '../../src/db/import';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { ApiClient, importedImageIds, insertImageRow, makeSampleTree, SAMPLES_DIR, startTestServer } from './support';

let db: TestDatabase;
let api: ApiClient;
let root: string;
let secret: string;
const ids: Record<string, string> = {};

const insertImage = (externalId: string, imagePath: string) => insertImageRow(db.dataSource, externalId, imagePath);

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  Object.assign(ids, await importedImageIds(db.dataSource));
  // Files outside the dataset root that crafted rows point at: none may ever be served.
  secret = `${root}-secret.jpg`;
  fs.copyFileSync(path.join(SAMPLES_DIR, '100026.jpg'), secret);
  fs.symlinkSync(secret, path.join(root, 'Training', 'link.jpg'));
  ids.dotdot = await insertImage('dotdot', `../${path.basename(secret)}`);
  ids.absolute = await insertImage('absolute', secret);
  ids.symlink = await insertImage('symlink', 'Training/link.jpg');
  ids.missing = await insertImage('missing', 'Training/원천데이터/로맨틱/gone.jpg');
  api = await startTestServer(db.dataSource);
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
  if (secret) fs.rmSync(secret, { force: true });
});

async function decoded(response: Response) {
  const bytes = Buffer.from(await response.arrayBuffer());
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { bytes, data, info };
}

async function garmentOf(externalId: string, superCategory: string) {
  const [row] = await db.dataSource.query(
    `SELECT g.id, g.x1, g.y1, g.x2, g.y2 FROM garments g JOIN images i ON i.id = g.image_id
      WHERE i.external_id = $1 AND g.super_category = $2`,
    [externalId, superCategory],
  );
  return row as { id: string; x1: number; y1: number; x2: number; y2: number };
}

describe('image routes', () => {
  it('serves the original bytes with an ETag, cache headers and 304 on revalidation', async () => {
    const response = await api.get(`/images/${ids['100026']}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect(Buffer.from(await response.arrayBuffer()).equals(fs.readFileSync(path.join(SAMPLES_DIR, '100026.jpg')))).toBe(true);
    const again = await api.get(`/images/${ids['100026']}`, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  });

  it('serves thumbnails that fit the requested size and refuses sizes out of bounds', async () => {
    const square = await decoded(await api.get(`/images/${ids['100026']}/thumbnail?size=100`));
    expect([square.info.width, square.info.height]).toEqual([100, 100]);
    const tall = await decoded(await api.get(`/images/${ids['1070263']}/thumbnail?size=100`)); // 800 x 1049
    expect([tall.info.width, tall.info.height]).toEqual([Math.round((800 * 100) / 1049), 100]);
    const fallback = await decoded(await api.get(`/images/${ids['100026']}/thumbnail`));
    expect(fallback.info.width).toBe(256);
    for (const size of ['5000', '0', 'abc', '2.5']) {
      expect((await api.get(`/images/${ids['100026']}/thumbnail?size=${size}`)).status).toBe(400);
    }
    const first = await api.get(`/images/${ids['100026']}/thumbnail?size=100`);
    const other = await api.get(`/images/${ids['100026']}/thumbnail?size=101`);
    expect(first.headers.get('etag')).not.toBe(other.headers.get('etag'));
  });

  it('crops a garment to its box: same size and same pixels as the region of the original', async () => {
    const blouse = await garmentOf('100026', 'TOP');
    const crop = await decoded(await api.get(`/garments/${blouse.id}/crop`));
    const left = Math.floor(blouse.x1);
    const top = Math.floor(blouse.y1);
    const width = Math.ceil(blouse.x2) - left;
    const height = Math.ceil(blouse.y2) - top;
    expect([crop.info.width, crop.info.height]).toEqual([width, height]);
    const reference = await sharp(path.join(SAMPLES_DIR, '100026.jpg')).extract({ left, top, width, height }).raw().toBuffer();
    let difference = 0;
    for (let i = 0; i < reference.length; i++) difference += Math.abs(reference[i] - crop.data[i]);
    expect(difference / reference.length).toBeLessThan(4); // JPEG re-encoding noise only
    const small = await decoded(await api.get(`/garments/${blouse.id}/crop?size=64`));
    expect(Math.max(small.info.width, small.info.height)).toBe(64);
  });

  it('draws the garment boxes on the photo', async () => {
    const original = await sharp(path.join(SAMPLES_DIR, '100026.jpg')).raw().toBuffer({ resolveWithObject: true });
    const drawn = await decoded(await api.get(`/images/${ids['100026']}/annotated`));
    expect([drawn.info.width, drawn.info.height]).toEqual([original.info.width, original.info.height]);
    const skirt = await garmentOf('100026', 'BOTTOM');
    // Middle of the skirt box's right edge: the BOTTOM colour (#3cb44b), where the photo is not that colour.
    const x = Math.round(skirt.x2);
    const y = Math.round((skirt.y1 + skirt.y2) / 2);
    const at = (data: Buffer, channels: number) => Array.from(data.subarray((y * 800 + x) * channels, (y * 800 + x) * channels + 3));
    const [r, g, b] = at(drawn.data, drawn.info.channels);
    expect(Math.abs(r - 0x3c) + Math.abs(g - 0xb4) + Math.abs(b - 0x4b)).toBeLessThan(60);
    const [r0, g0, b0] = at(original.data, original.info.channels);
    expect(Math.abs(r0 - 0x3c) + Math.abs(g0 - 0xb4) + Math.abs(b0 - 0x4b)).toBeGreaterThan(100);
    expect((await api.get(`/images/${ids['100026']}/annotated?source=bogus`)).status).toBe(400);
  });

  it('answers 404 for unknown ids and never reads outside the dataset root', async () => {
    for (const route of [
      '/images/987654321',
      '/images/abc',
      '/images/987654321/thumbnail',
      '/garments/987654321/crop',
      `/images/${ids.dotdot}`,
      `/images/${ids.absolute}`,
      `/images/${ids.symlink}`,
      `/images/${ids.symlink}/thumbnail`,
      `/images/${ids.missing}`,
      '/images/..%2F..%2Fetc%2Fpasswd',
      '/nowhere',
    ]) {
      const response = await api.get(route);
      expect({ route, status: response.status }).toEqual({ route, status: 404 });
    }
  });
});

describe('server', () => {
  it('refuses a request body over the bound with 413, whether declared or streamed', async () => {
    const small = await startTestServer(db.dataSource, { maxBodyBytes: 2_000 });
    try {
      const query = JSON.stringify({ query: `{ vocabulary(kind: COLOR) { value } } # ${'x'.repeat(5_000)}` });
      const declared = await fetch(`${small.origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: query,
      });
      expect(declared.status).toBe(413);
      expect(await declared.json()).toEqual({ error: 'request body larger than 2000 bytes' });
      // No Content-Length: the body is streamed in chunks and cut off once it passes the bound.
      const chunks = [query.slice(0, 1_500), query.slice(1_500)].map((part) => new TextEncoder().encode(part));
      const stream = new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      });
      const streamed = await fetch(`${small.origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      });
      expect(streamed.status).toBe(413);
      const within = await small.query('{ vocabulary(kind: COLLAR) { value } }');
      expect(within.errors).toBeUndefined();
    } finally {
      await small.server.stop();
    }
  });

  it('reports health', async () => {
    const response = await api.get('/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', database: 'ok' });
  });

  it('serves a self-contained explorer page to browsers at GET /graphql', async () => {
    const response = await api.get('/graphql', { accept: 'text/html' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<textarea id="query"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!localhost)/);
  });

  it('keeps CSRF prevention on: simple GET or text/plain requests are refused, preflighted ones run', async () => {
    const query = encodeURIComponent('{ vocabulary(kind: STYLE) { value } }');
    expect((await api.get(`/graphql?query=${query}`)).status).toBe(400);
    const preflighted = await api.get(`/graphql?query=${query}`, { 'apollo-require-preflight': 'true' });
    expect(preflighted.status).toBe(200);
    expect(((await preflighted.json()) as any).data.vocabulary).toEqual([{ value: '로맨틱' }]);
    const plain = await fetch(`${api.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(plain.status).toBe(400);
  });

  it('can turn introspection and the explorer off (the production default)', async () => {
    const locked = await startTestServer(db.dataSource, { introspection: false, explorer: false });
    try {
      const result = await locked.query('{ __schema { queryType { name } } }');
      expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const page = await locked.get('/graphql', { accept: 'text/html' });
      expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    } finally {
      await locked.server.stop();
    }
  });

  /** A loopback TCP relay to the test's PostgreSQL server that can be cut, as a database going down is seen by its clients. */
  async function databaseRelay(): Promise<{ url: string; cut(): Promise<void> }> {
    const target = new URL(db.url);
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const server = net.connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, server]) {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const url = new URL(db.url);
    url.hostname = '127.0.0.1';
    url.port = String((relay.address() as net.AddressInfo).port);
    return {
      url: url.toString(),
      cut: async () => {
        const closed = new Promise((resolve) => relay.close(resolve));
        for (const socket of sockets) socket.destroy();
        await closed;
      },
    };
  }

  it('answers SERVICE_UNAVAILABLE (503, GraphQL-shaped, no internals) while the database is down, and masks other errors', async () => {
    const { openDatabase } = await import('../../src/db/data-source');
    const relay = await databaseRelay();
    const doomed = await openDatabase({ url: relay.url, poolSize: 2 });
    const logged: string[] = [];
    const broken = await startTestServer(doomed, { log: (message, error) => logged.push(`${message} ${String(error ?? '')}`) });
    try {
      expect((await broken.get('/health')).status).toBe(200);
      await relay.cut();
      const expected = { code: 'SERVICE_UNAVAILABLE' };
      // Anonymous (reads are public here): the resolver's statement fails.
      const anonymous = await broken.as(undefined).query('{ searchGarments(where: {}) { totalCount } }');
      expect(anonymous.status).toBe(503);
      expect(anonymous.errors).toEqual([
        { message: 'the database is unavailable; retry in a moment', path: ['searchGarments'], extensions: expected },
      ]);
      // With a token: its lookup fails before any GraphQL runs, and the answer is GraphQL-shaped all the same.
      const withToken = await broken.query('{ modelVersions(first: 1) { edges { node { id } } } }');
      expect(withToken.status).toBe(503);
      expect(withToken.errors).toEqual([{ message: 'the database is unavailable; retry in a moment', extensions: expected }]);
      // The token cannot be checked: 1013 Try Again Later rather than 4403 Forbidden.
      expect(await broken.overWebSocket('{ modelVersions(first: 1) { edges { node { id } } } }')).toEqual({ closed: 1013 });
      expect(await broken.as(undefined).overWebSocket('{ modelVersions(first: 1) { edges { node { id } } } }')).toMatchObject({
        errors: [{ extensions: expected }],
      });
      const health = await broken.get('/health');
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'unavailable', database: 'unreachable' });
      expect(JSON.stringify([anonymous, withToken])).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|Connection terminated|postgres/i);
    } finally {
      await broken.server.stop();
      await doomed.destroy().catch(() => {});
    }
  });

  it('masks internal errors: details only in the server log', async () => {
    const logged: string[] = [];
    const masked = await startTestServer(db.dataSource, { log: (message, error) => logged.push(`${message} ${String(error ?? '')}`) });
    const locker = db.dataSource.createQueryRunner();
    try {
      // A statement that fails for a reason that is neither the caller's nor the database being down.
      await locker.query(`ALTER TABLE model_versions RENAME TO model_versions_hidden`);
      const result = await masked.query('{ modelVersions(first: 1) { edges { node { id } } } }');
      expect(result.errors).toEqual([
        { message: 'Internal server error', path: ['modelVersions'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      ]);
      expect(logged.join('\n')).toMatch(/internal error.*model_versions/);
    } finally {
      await locker.query(`ALTER TABLE model_versions_hidden RENAME TO model_versions`);
      await locker.release();
      await masked.server.stop();
    }
  });

  it('drains in-flight requests on stop and then refuses new connections', async () => {
    const draining = await startTestServer(db.dataSource);
    const locker = db.dataSource.createQueryRunner();
    await locker.startTransaction();
    await locker.query('LOCK TABLE vocabulary IN ACCESS EXCLUSIVE MODE');
    const inFlight = draining.query('{ vocabulary(kind: STYLE) { value } }');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the request is now waiting on the lock
    let stopped = false;
    const stopping = draining.server.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    await locker.rollbackTransaction();
    await locker.release();
    const result = await inFlight;
    expect(result.status).toBe(200);
    expect(result.data.vocabulary).toEqual([{ value: '로맨틱' }]);
    await stopping;
    await expect(draining.server.stop()).resolves.toBeUndefined(); // stopping twice is harmless
    await expect(fetch(`${draining.origin}/health`)).rejects.toThrow();
  });
});
