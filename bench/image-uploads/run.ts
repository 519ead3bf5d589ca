/**
 * Image uploads that are expensive to decode (security issue, item 14): 20 clients POST /uploads at
 * once, each a 6000 × 6000 PNG, while one client probes `/health` every 5 ms. Two photos: 16-bit RGB
 * of one colour (under 1 MB, 216 MB of samples; refused by its header now), and 8-bit RGB (36
 * megapixels, within the budget: decoded, MAX_CONCURRENT_DECODES at a time). Reports the wall time
 * of the 20 uploads, the server process's peak RSS and the probes' p95 under "## Image uploads that
 * are expensive to decode" in bench/RESULTS.md.
 *
 *   npm run bench:image-uploads [-- --baseline dist/baseline/src]
 *
 * `--baseline` adds a "before" row per photo from another build of src/ (e.g. main's, compiled with
 * `git archive <commit> src migrations` unpacked under dist/ and compiled there).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { createApiToken } from '../../src/db/api-tokens';
import { loadAverage, replaceSection, runBench, withBenchDatabase } from '../results';

const SERVER_URL = process.env.BENCH_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
const REPOSITORY = path.resolve(__dirname, '../../..');
const RESULTS = path.join(REPOSITORY, 'bench/RESULTS.md');
const SERVER_SCRIPT = path.join(__dirname, 'server.js');
const UPLOADS = 20;
const baselineIndex = process.argv.indexOf('--baseline');
const baseline = baselineIndex > 0 ? path.resolve(process.argv[baselineIndex + 1]) : null;

interface Server {
  origin: string;
  child: ChildProcess;
  /** Resolves with the peak RSS (MB) the server reports when it stops. */
  peakRss: Promise<number>;
}

async function startServer(databaseUrl: string, dataDir: string, sources: string | null): Promise<Server> {
  const child = spawn(process.execPath, [SERVER_SCRIPT, databaseUrl, dataDir, ...(sources ? [sources] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const peakRss = new Promise<number>((resolve) =>
    child.once('exit', () => resolve(Number(/maxrss (\d+)/.exec(output)?.[1] ?? NaN) / 1024)),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the API server exited with ${code}`)));
  });
  return { origin: `http://127.0.0.1:${port}`, child, peakRss };
}

/** The p95 of fewer probes is just the slowest one: bursts repeat until at least this many were taken. */
const MIN_PROBES = 20;

/** Milliseconds of each /health probe (pushed to `times` as they come), one after another every 5 ms until `busy` settles. */
async function probesDuring(busy: Promise<unknown>, origin: string, times: number[] = []): Promise<number[]> {
  let settled = false;
  void busy.finally(() => (settled = true));
  while (!settled) {
    const sent = performance.now();
    await fetch(`${origin}/health`).then((response) => response.arrayBuffer());
    times.push(performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return times;
}

const p95 = (times: number[]) => [...times].sort((a, b) => a - b)[Math.ceil(times.length * 0.95) - 1];

async function photo(depth: 'rgb16' | 'srgb'): Promise<Buffer> {
  return sharp({ create: { width: 6000, height: 6000, channels: 3, background: { r: 120, g: 80, b: 200 } } })
    .toColourspace(depth)
    .png()
    .toBuffer();
}

async function measure(
  label: string,
  sources: string | null,
  databaseUrl: string,
  dataDir: string,
  token: string,
  bytes: Buffer,
): Promise<string> {
  const server = await startServer(databaseUrl, dataDir, sources);
  const upload = () =>
    fetch(`${server.origin}/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'image/png', authorization: `Bearer ${token}` },
      body: bytes,
    }).then(async (response) => {
      await response.arrayBuffer();
      return response.status;
    });
  const idle = await probesDuring(new Promise((resolve) => setTimeout(resolve, 1_000)), server.origin);
  const started = performance.now();
  const probes: number[] = [];
  const uploads = (async () => {
    const all: number[] = [];
    let rounds = 0;
    do {
      all.push(...(await Promise.all(Array.from({ length: UPLOADS }, upload))));
      rounds++;
    } while (probes.length < MIN_PROBES);
    return { all, rounds };
  })();
  await probesDuring(uploads, server.origin, probes);
  const { all: statuses, rounds } = await uploads;
  const seconds = (performance.now() - started) / 1000 / rounds;
  server.child.kill('SIGTERM');
  const rss = await server.peakRss;
  const answered = [...new Set(statuses)].map((status) => `${statuses.filter((s) => s === status).length}× ${status}`).join(', ');
  const shown = (times: number[]) => `${p95(times).toFixed(1)} ms (${times.length})`;
  return `| ${label} | ${(bytes.length / 1024).toFixed(0)} KB | ${rounds} | ${answered} | ${seconds.toFixed(1)} | ${rss.toFixed(0)} | ${shown(idle)} | ${shown(probes)} | ${loadAverage()} |`;
}

runBench(async () => {
  await withBenchDatabase(SERVER_URL, 'kf_bench_image_uploads', async (bench) => {
    const { token } = await createApiToken(bench.dataSource, { role: 'analyst', name: 'bench' });
    const rows: string[] = [];
    for (const [name, depth] of [
      ['16-bit RGB', 'rgb16'],
      ['8-bit RGB', 'srgb'],
    ] as const) {
      const bytes = await photo(depth);
      for (const [build, sources] of [...(baseline ? [['before', baseline]] : []), ['after', null]] as [string, string | null][]) {
        rows.push(await measure(`${name}, ${build}`, sources, bench.url, bench.dataDir, token, bytes));
        console.log(rows[rows.length - 1]);
      }
    }
    const section = [
      `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:image-uploads\` on ${os.cpus().length} cores shared with other jobs, Node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}). The API server runs in its own process (peak RSS = its \`process.resourceUsage().maxRSS\`); ${UPLOADS} clients POST the same 6000 × 6000 PNG to /uploads at once while one client probes /health every 5 ms (p95, probe count in brackets; the same probe for 1 s before the uploads gives the machine's own noise). "before" is the build of main before the decode bounds; "after" is this branch: the header is checked for pixels × sample depth (40 megapixels at 8 bits) before decoding, at most MAX_CONCURRENT_DECODES (2 with libuv's default 4 threads) decodes run at once. A burst that ends before ${MIN_PROBES} probes were taken is sent again (the bursts column), so that every p95 is over at least ${MIN_PROBES} probes; answers count every burst, seconds are per burst.`,
      '',
      `| photo, build | size | bursts of ${UPLOADS} | answers | seconds per burst | server peak RSS (MB) | /health p95 idle (1 s before) | /health p95 during the uploads | load average after |`,
      '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |',
      ...rows,
      '',
    ].join('\n');
    fs.writeFileSync(RESULTS, replaceSection(fs.readFileSync(RESULTS, 'utf8'), 'Image uploads that are expensive to decode', section));
  });
});
