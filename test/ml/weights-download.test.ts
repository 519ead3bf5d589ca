/**
 * `kfashion weights fetch` against a loopback HTTP server: progress reports, a connection cut mid-body and
 * resumed with a Range request (in the same run and in the next one), a wrong SHA-256 refused with the
 * partial file removed, a finished file checked and kept; and catalogue name resolution for initWeights. The
 * catalogue against Debian's torchvision 0.14 (weights_catalogue.json, tools/reference/catalogue_reference.py).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CATALOGUE,
  DEFAULT_WEIGHTS_BASE_URL,
  resolveWeightsArgument,
  sha256Prefix,
  weightsBaseUrl,
  type CatalogueEntry,
} from '../../src/ml/weights/catalogue';
import { downloadWeights } from '../../src/ml/weights/download';
import { normaliseTrainingParams } from '../../src/jobs/training-params';

const CONTENT = randomBytes(300_000);
const PREFIX = createHash('sha256').update(CONTENT).digest('hex').slice(0, 8);

/** One checkpoint as Debian's torchvision describes it (tools/reference/catalogue_reference.py). */
interface CatalogueReference {
  name: string;
  url: string;
  zip_bytes: number;
  legacy_bytes: number;
}

interface ServerState {
  cutAfter: number | null;
  ranges: (string | undefined)[];
}

/** Serves CONTENT at any path, honours `Range: bytes=N-`, and cuts the connection once after `cutAfter` bytes. */
function serve(state: ServerState) {
  return (request: IncomingMessage, response: ServerResponse) => {
    state.ranges.push(request.headers.range);
    const start = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? 0);
    const headers = {
      'Content-Length': String(CONTENT.length - start),
      ...(start > 0 ? { 'Content-Range': `bytes ${start}-${CONTENT.length - 1}/${CONTENT.length}` } : {}),
    };
    response.writeHead(start > 0 ? 206 : 200, headers);
    const cut = state.cutAfter;
    if (cut === null) {
      response.end(CONTENT.subarray(start));
      return;
    }
    state.cutAfter = null;
    response.write(CONTENT.subarray(start, start + cut), () => response.socket?.destroy());
  };
}

describe('downloadWeights from a loopback server', () => {
  const state: ServerState = { cutAfter: null, ranges: [] };
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = createServer(serve(state));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    state.cutAfter = null;
    state.ranges = [];
  });

  const entry = (prefix = PREFIX): CatalogueEntry => ({ name: 'tiny', fileName: `tiny-${prefix}.pth`, sizeMiB: 0.3, description: 'test' });

  it('reports progress, resumes a cut connection with a Range request, checks the hash and keeps the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kfashion-fetch-'));
    state.cutAfter = 120_000;
    const progress: [number, number | null][] = [];
    const result = await downloadWeights(entry(), { baseUrl, dir, onProgress: (received, total) => progress.push([received, total]) });
    // fetch may drop the bytes it had buffered but not yet delivered when the connection closed early:
    // the resume offset is what reached the partial file, at most the bytes sent.
    const [offset] = result.resumedFrom;
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(120_000);
    expect(state.ranges).toEqual([undefined, `bytes=${offset}-`]);
    expect(result).toMatchObject({ alreadyPresent: false, resumedFrom: [offset], bytes: CONTENT.length });
    expect(result.sha256.startsWith(PREFIX)).toBe(true);
    expect(Buffer.compare(readFileSync(join(dir, `tiny-${PREFIX}.pth`)), CONTENT)).toBe(0);
    expect(existsSync(join(dir, `tiny-${PREFIX}.pth.part`))).toBe(false);
    expect(progress.every(([, total]) => total === CONTENT.length)).toBe(true);
    expect(progress.every(([received], i) => i === 0 || received >= progress[i - 1][0])).toBe(true);
    expect(progress[progress.length - 1][0]).toBe(CONTENT.length);
    expect(progress.some(([received]) => received === offset)).toBe(true);

    const again = await downloadWeights(entry(), { baseUrl, dir });
    expect(again.alreadyPresent).toBe(true);
    expect(state.ranges).toHaveLength(2);
  });

  it('leaves the partial file when the run gives up, and the next run resumes from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kfashion-fetch-'));
    state.cutAfter = 50_000;
    await expect(downloadWeights(entry(), { baseUrl, dir, attempts: 1 })).rejects.toThrow(/run again to resume/);
    const kept = statSync(join(dir, `tiny-${PREFIX}.pth.part`)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(50_000);
    const result = await downloadWeights(entry(), { baseUrl, dir });
    expect(result.resumedFrom).toEqual([kept]);
    expect(Buffer.compare(readFileSync(result.path), CONTENT)).toBe(0);
  });

  it('refuses a file whose SHA-256 does not match its name and removes the partial file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kfashion-fetch-'));
    await expect(downloadWeights(entry('deadbeef'), { baseUrl, dir })).rejects.toThrow(
      /SHA-256 [0-9a-f]{64} does not start with deadbeef .*partial file was removed/,
    );
    expect(existsSync(join(dir, 'tiny-deadbeef.pth.part'))).toBe(false);
    expect(existsSync(join(dir, 'tiny-deadbeef.pth'))).toBe(false);
  });
});

describe('weights catalogue', () => {
  it("has torchvision's six checkpoints, each with the SHA-256 prefix of its file name", () => {
    expect(CATALOGUE.map((e) => e.name)).toEqual([
      'resnet18',
      'resnet34',
      'resnet50',
      'resnet101',
      'fasterrcnn_resnet50_fpn',
      'fasterrcnn_resnet50_fpn_v2',
    ]);
    expect(CATALOGUE.map(sha256Prefix)).toEqual(['f37072fd', 'b627a593', '0676ba61', '63fe2227', '258fb6c6', 'dd69338a']);
  });

  it("matches torchvision's weight enums: file name (SHA-256 prefix) from the URL, size from the architecture's state dict", () => {
    const reference: { entries: CatalogueReference[] } = JSON.parse(
      readFileSync(join(__dirname, 'fixtures', 'weights_catalogue.json'), 'utf8'),
    );
    expect(reference.entries.map((e) => e.name)).toEqual(CATALOGUE.map((e) => e.name));
    for (const entry of CATALOGUE) {
      const torchvision = reference.entries.find((e) => e.name === entry.name)!;
      expect({ name: entry.name, url: `${DEFAULT_WEIGHTS_BASE_URL}${entry.fileName}` }).toEqual({ name: entry.name, url: torchvision.url });
      // A published checkpoint is the state dict torch.save wrote, in one of its two formats, give or take a few kB
      // of records (measured: within 0.012 %); a size copied from another checkpoint is off by far more.
      const bytes = entry.sizeMiB * 2 ** 20;
      const nearest = Math.min(...[torchvision.zip_bytes, torchvision.legacy_bytes].map((saved) => Math.abs(bytes - saved) / saved));
      expect({ name: entry.name, withinTwoTenThousandths: nearest <= 2e-4 }).toEqual({ name: entry.name, withinTwoTenThousandths: true });
    }
  });

  it('takes the base URL from KFASHION_WEIGHTS_BASE_URL', () => {
    expect(weightsBaseUrl({})).toBe('https://download.pytorch.org/models/');
    expect(weightsBaseUrl({ KFASHION_WEIGHTS_BASE_URL: 'http://127.0.0.1:9/w' })).toBe('http://127.0.0.1:9/w/');
  });

  it('resolves a catalogue name to its file under the data dir; training params accept names, .pth and .safetensors', () => {
    expect(resolveWeightsArgument('resnet50', { KFASHION_DATA_DIR: '/data' })).toBe('/data/weights/resnet50-0676ba61.pth');
    expect(resolveWeightsArgument('resnet50', { KFASHION_DATA_DIR: '/data', KFASHION_WEIGHTS_DIR: '/w' })).toBe('/w/resnet50-0676ba61.pth');
    expect(resolveWeightsArgument('/models/x.pth', { KFASHION_DATA_DIR: '/data' })).toBe('/models/x.pth');
    expect(normaliseTrainingParams({ initWeights: 'fasterrcnn_resnet50_fpn' }).initWeights).toMatch(
      /\/weights\/fasterrcnn_resnet50_fpn_coco-258fb6c6\.pth$/,
    );
    expect(normaliseTrainingParams({ initWeights: '/m/a.pt' }).initWeights).toBe('/m/a.pt');
    expect(() => normaliseTrainingParams({ initWeights: 'resnet51' })).toThrow(
      /initWeights: expected a catalogue name \(resnet18, .*\) or the path of a \.safetensors, \.pth, \.pt file/,
    );
  });
});
