/**
 * Downloads a catalogue checkpoint into the weights folder: bytes go to `<file>.part`, a cut connection is
 * resumed with an HTTP Range request (the next attempt, or the next run, continues from the partial file),
 * and the finished file is renamed into place only when its SHA-256 starts with the prefix in its name.
 * A file that fails the check is removed, partial included, so the next run starts clean.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { sha256Prefix, type CatalogueEntry } from './catalogue';

export interface DownloadOptions {
  baseUrl: string;
  dir: string;
  /** Called as bytes arrive: total bytes so far (resumed bytes included) and the full size when known. */
  onProgress?: (received: number, total: number | null) => void;
  /** Attempts in this run; each after the first resumes where the previous one stopped. */
  attempts?: number;
}

export interface DownloadResult {
  path: string;
  sha256: string;
  bytes: number;
  /** Whether the file was already there (and checked) before this call. */
  alreadyPresent: boolean;
  /** Byte offsets the downloads resumed from (one per resumed attempt, the partial file of an earlier run included). */
  resumedFrom: number[];
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Total size from a 200's Content-Length or a 206's Content-Range (`bytes a-b/total`). */
function totalSize(response: Response, offset: number): number | null {
  const range = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
  if (range) return Number(range[1]);
  const length = response.headers.get('content-length');
  return length === null ? null : Number(length) + (response.status === 206 ? offset : 0);
}

/** One HTTP request appending to `partial` from its current size; returns when the body ends or throws when cut. */
async function downloadOnce(url: string, partial: string, options: DownloadOptions, resumedFrom: number[]): Promise<void> {
  let offset = existsSync(partial) ? statSync(partial).size : 0;
  const response = await fetch(url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {} });
  if (response.status === 416) return; // the partial file already holds every byte
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  if (offset > 0 && response.status === 206) resumedFrom.push(offset);
  else offset = 0; // the server ignored the Range: start over
  const total = totalSize(response, offset);
  const out = createWriteStream(partial, { flags: offset > 0 ? 'a' : 'w' });
  let received = offset;
  try {
    for await (const chunk of response.body) {
      if (!out.write(chunk)) await once(out, 'drain');
      received += (chunk as Uint8Array).length;
      options.onProgress?.(received, total);
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (total !== null && received < total) throw new Error(`${url}: connection closed after ${received} of ${total} bytes`);
}

export async function downloadWeights(entry: CatalogueEntry, options: DownloadOptions): Promise<DownloadResult> {
  mkdirSync(options.dir, { recursive: true });
  const path = join(options.dir, entry.fileName);
  const expected = sha256Prefix(entry);
  if (existsSync(path)) {
    const sha256 = await sha256OfFile(path);
    if (!sha256.startsWith(expected))
      throw new Error(`${path}: SHA-256 ${sha256} does not start with ${expected}; remove the file and fetch again`);
    return { path, sha256, bytes: statSync(path).size, alreadyPresent: true, resumedFrom: [] };
  }
  const partial = `${path}.part`;
  const url = options.baseUrl + entry.fileName;
  const resumedFrom: number[] = [];
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      await downloadOnce(url, partial, options, resumedFrom);
      break;
    } catch (error) {
      if (attempt >= attempts)
        throw new Error(`${(error as Error).message} (after ${attempts} attempts; run again to resume from ${partial})`);
    }
  }
  const sha256 = await sha256OfFile(partial);
  if (!sha256.startsWith(expected)) {
    rmSync(partial, { force: true });
    throw new Error(
      `${url}: downloaded file's SHA-256 ${sha256} does not start with ${expected} (from its name); the partial file was removed`,
    );
  }
  renameSync(partial, path);
  return { path, sha256, bytes: statSync(path).size, alreadyPresent: false, resumedFrom };
}
