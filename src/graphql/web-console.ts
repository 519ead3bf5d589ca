/**
 * Serves the web console's static build (web/dist, made by `npm run build:web`) from the API
 * server: `index.html` for `/` and the console's client routes (never cached, so a new build is
 * picked up at once), hashed files under `/assets/` with a year-long immutable cache, gzip when
 * the browser accepts it. Paths are resolved inside the build folder only.
 */
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { isInside } from './image-routes';

/** Pages the console routes itself (web/src/main.tsx); a reload on any of them gets index.html. */
const CLIENT_ROUTE = /^\/(?:index\.html|image\/(?:external\/)?[^/]+|similar\/[^/]+|training|analyze)?\/?$/;
const ASSET_ROUTE = /^\/assets\/[A-Za-z0-9._-]+$/;

const MIME_BY_EXTENSION: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json']);

/** web/dist beside the sources (ts-jest: src/graphql) or beside the build (dist/src/graphql). */
export function defaultWebDistDir(): string {
  const candidates = [path.resolve(__dirname, '../../web/dist'), path.resolve(__dirname, '../../../web/dist')];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html'))) ?? candidates[0];
}

interface CachedFile {
  mtimeMs: number;
  body: Buffer;
  gzipped: Buffer | null;
}

export class WebConsole {
  private readonly cache = new Map<string, CachedFile>();

  constructor(readonly distDir: string = defaultWebDistDir()) {}

  /** Handles GET/HEAD of the console's pages and assets; returns false for any other request. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const page = CLIENT_ROUTE.test(url.pathname);
    if (!page && !ASSET_ROUTE.test(url.pathname)) return false;
    const file = path.resolve(this.distDir, page ? 'index.html' : `.${url.pathname}`);
    if (!isInside(path.resolve(this.distDir), file)) return false;
    const cached = await this.read(file);
    if (!cached) {
      if (!page) return false;
      const text = `The web console is not built (no ${path.join(this.distDir, 'index.html')}): run npm run build:web.\n`;
      response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      response.end(text);
      return true;
    }
    const extension = path.extname(file);
    const gzip = cached.gzipped !== null && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const body = gzip ? cached.gzipped! : cached.body;
    response.writeHead(200, {
      'content-type': MIME_BY_EXTENSION[extension] ?? 'application/octet-stream',
      'content-length': body.length,
      // Asset names carry a content hash: a changed file is a new URL.
      'cache-control': page ? 'no-cache' : 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
    return true;
  }

  /** The file's bytes (and gzip), cached until its modification time changes; null when missing. */
  private async read(file: string): Promise<CachedFile | null> {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    const known = this.cache.get(file);
    if (known && known.mtimeMs === stat.mtimeMs) return known;
    const body = await fs.promises.readFile(file);
    const gzipped = COMPRESSIBLE.has(path.extname(file)) && body.length > 1024 ? gzipSync(body) : null;
    const entry = { mtimeMs: stat.mtimeMs, body, gzipped };
    this.cache.set(file, entry);
    return entry;
  }
}
