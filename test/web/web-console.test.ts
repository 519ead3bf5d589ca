/**
 * The static-file hook on its own, over real HTTP, with a build folder made by the test: client
 * routes get index.html, assets their bytes (gzipped on request) with a year-long cache, a rebuilt
 * file is served fresh, nothing outside the folder is reachable, and a missing build says so.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { WebConsole } from '../../src/graphql/web-console';

let dist: string;
let server: http.Server;
let origin: string;
let missing: WebConsole;

function serve(handler: WebConsole): Promise<http.Server> {
  const created = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    void handler.handle(request, response, url).then((handled) => {
      if (!handled) {
        response.writeHead(404);
        response.end('not mine');
      }
    });
  });
  return new Promise((resolve) => created.listen(0, '127.0.0.1', () => resolve(created)));
}

/** GET with the raw body (fetch would undo the gzip itself). */
function get(
  pathAndQuery: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${origin}${pathAndQuery}`, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end();
  });
}

const SCRIPT = `console.log(${JSON.stringify('가'.repeat(2000))});\n`;

beforeAll(async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-web-'));
  dist = path.join(root, 'dist');
  fs.mkdirSync(path.join(dist, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
  fs.writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), SCRIPT);
  fs.writeFileSync(path.join(root, 'secret.txt'), 'outside the build');
  server = await serve(new WebConsole(dist));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  missing = new WebConsole(path.join(root, 'no-build'));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(path.dirname(dist), { recursive: true, force: true });
});

describe('WebConsole', () => {
  it('answers the client routes with index.html, never cached', async () => {
    for (const route of [
      '/',
      '/index.html',
      '/training',
      '/analyze/',
      '/image/42',
      '/image/external/100026?garment=3',
      '/similar/R2FybWVudDoz?category=x',
    ]) {
      const response = await get(route);
      expect({ route, status: response.status, cache: response.headers['cache-control'] }).toEqual({
        route,
        status: 200,
        cache: 'no-cache',
      });
      expect(response.body.toString()).toBe('<!doctype html><div id="root"></div>');
    }
  });

  it('serves hashed assets for a year, gzipped when asked, and HEAD without a body', async () => {
    const plain = await get('/assets/index-abc123.js');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(SCRIPT);

    const gzipped = await get('/assets/index-abc123.js', { 'accept-encoding': 'gzip, br' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 10);
    expect(gunzipSync(gzipped.body).toString()).toBe(SCRIPT);

    const head = await get('/assets/index-abc123.js', {}, 'HEAD');
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, String(Buffer.byteLength(SCRIPT)), 0]);
  });

  it('serves a rebuilt file fresh', async () => {
    const file = path.join(dist, 'index.html');
    fs.writeFileSync(file, '<!doctype html><p>rebuilt</p>');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect((await get('/')).body.toString()).toBe('<!doctype html><p>rebuilt</p>');
  });

  it('leaves other routes, methods and paths outside the build to the server', async () => {
    for (const route of [
      '/graphql',
      '/images/1',
      '/assets/missing.js',
      '/assets/..%2Fsecret.txt',
      '/assets/../secret.txt',
      '/secret.txt',
      '/image/1/2',
    ]) {
      expect({ route, status: (await get(route)).status }).toEqual({ route, status: 404 });
    }
    expect((await get('/', {}, 'POST')).status).toBe(404);
  });

  it('says how to build the console when the build is missing', async () => {
    const other = await serve(missing);
    const port = (other.address() as AddressInfo).port;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/training`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('run npm run build:web');
      expect((await fetch(`http://127.0.0.1:${port}/assets/index-abc123.js`)).status).toBe(404);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
