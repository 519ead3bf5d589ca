/**
 * Search benchmark (issue 3): about 1,000,000 garments (`synthesize({ withImages: false })`, then
 * the real importer), the API server in its own process, and over real HTTP:
 *   1. a 3-condition AND search (first page of 50 with totalCount), 200 runs with varied values;
 *   2. a facet query over two kinds, 200 runs with varied filters (broad: one condition; and
 *      narrow: the same 3-condition filters);
 *   3. 16 concurrent clients for 30 s (autocannon) on the varied searches.
 * Results go to bench/RESULTS.md under "## Search". The database (kf_bench_search) and the tree
 * are kept between runs; `--rebuild` starts over.
 *
 *   npm run bench:search [-- --images 566000 --runs 200 --connections 16 --duration 30 --rebuild --prepare-only]
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { createApiToken } from '../../src/db/api-tokens';
import { openDatabase } from '../../src/db/data-source';
import { importDataset } from '../../src/db/import';
import { FacetCounts } from '../../src/db/search-counts';
import { synthesize } from '../../src/kfashion/synth';
import { seededRandom } from '../../src/util/random';

const SERVER_URL = process.env.BENCH_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
const DATABASE = 'kf_bench_search';
const RESULTS = path.resolve(__dirname, '../../../bench/RESULTS.md');
const SERVER_SCRIPT = path.join(__dirname, 'server.js');
const SEED = 11;

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const options = {
  images: Number(argument('--images', '566000')),
  runs: Number(argument('--runs', '200')),
  connections: Number(argument('--connections', '16')),
  duration: Number(argument('--duration', '30')),
  rebuild: process.argv.includes('--rebuild'),
  prepareOnly: process.argv.includes('--prepare-only'),
};

function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function sql<Row = any>(url: string, text: string, params: unknown[] = []): Promise<Row[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Data

interface DataInfo {
  images: number;
  garments: number;
  synthSeconds: number | null;
  importSeconds: number | null;
  reused: boolean;
}

async function ensureData(): Promise<DataInfo> {
  const url = databaseUrl(DATABASE);
  const exists = (await sql(SERVER_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])).length > 0;
  if (exists && !options.rebuild) {
    const [counts] = await sql<{ images: number; garments: number; runs: number }>(
      url,
      `SELECT (SELECT count(*)::int FROM images) AS images, (SELECT count(*)::int FROM garments) AS garments,
              (SELECT count(*)::int FROM import_runs WHERE status = 'finished') AS runs`,
    ).catch(() => [{ images: 0, garments: 0, runs: 0 }]);
    if (counts.runs > 0 && counts.images === options.images) {
      console.log(`reusing ${DATABASE}: ${counts.images} images, ${counts.garments} garments`);
      return { images: counts.images, garments: counts.garments, synthSeconds: null, importSeconds: null, reused: true };
    }
  }
  const tree = path.join(os.tmpdir(), `kf-bench-search-${options.images}`);
  const marker = path.join(tree, '.complete');
  let synthSeconds: number | null = null;
  if (!fs.existsSync(marker) || options.rebuild) {
    fs.rmSync(tree, { recursive: true, force: true });
    const started = Date.now();
    const summary = await synthesize({ outDir: tree, images: options.images, seed: SEED, withImages: false }, (done) => {
      if (done % 50000 === 0) console.log(`  synthesised ${done} annotation files`);
    });
    synthSeconds = (Date.now() - started) / 1000;
    fs.writeFileSync(marker, '');
    console.log(`synthesised ${summary.files} files with ${summary.garments} garments in ${synthSeconds.toFixed(0)} s`);
  }
  await sql(SERVER_URL, `DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await sql(SERVER_URL, `CREATE DATABASE ${DATABASE}`);
  const dataSource = await openDatabase({ url });
  const started = Date.now();
  let lastReport = 0;
  const stats = await importDataset(dataSource, {
    root: tree,
    allowMissingImages: true,
    onProgress: ({ filesDone, filesTotal }) => {
      if (filesDone - lastReport >= 50000) {
        lastReport = filesDone;
        console.log(`  imported ${filesDone} / ${filesTotal} files`);
      }
    },
  });
  const importSeconds = (Date.now() - started) / 1000;
  console.log(`imported ${stats.imagesImported} images, ${stats.garmentsImported} garments in ${importSeconds.toFixed(0)} s`);
  await dataSource.query('VACUUM ANALYZE');
  await dataSource.destroy();
  return { images: stats.imagesImported, garments: stats.garmentsImported, synthSeconds, importSeconds, reused: false };
}

/** Builds the precomputed counts (migration GarmentFacetCounts) unless current; returns the seconds it took. */
async function ensureCounts(): Promise<number | null> {
  const dataSource = await openDatabase({ url: databaseUrl(DATABASE) });
  try {
    const counts = new FacetCounts(dataSource);
    if (await counts.isFresh()) {
      const [state] = await dataSource.query(`SELECT seconds FROM garment_facet_counts_state`);
      console.log(`precomputed counts are current (built in ${Number(state.seconds).toFixed(0)} s)`);
      return Number(state.seconds);
    }
    const result = await counts.rebuild();
    console.log(`built the precomputed counts: ${JSON.stringify(result)}`);
    return result?.seconds ?? null;
  } finally {
    await dataSource.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Questions

interface Vocabulary {
  [kind: string]: { value: string; count: number }[];
}

async function loadVocabulary(): Promise<Vocabulary> {
  const rows = await sql<{ kind: string; value: string; count: number }>(
    databaseUrl(DATABASE),
    `SELECT kind, value, count FROM vocabulary WHERE count > 0 ORDER BY kind, count DESC`,
  );
  const vocabulary: Vocabulary = {};
  for (const row of rows) (vocabulary[row.kind] ??= []).push({ value: row.value, count: row.count });
  return vocabulary;
}

const SEARCH_QUERY = `query Search($where: GarmentWhere!) {
  searchGarments(where: $where, first: 50) {
    totalCount
    edges { cursor node { id superCategory category categoryEn box { x1 y1 x2 y2 } attributes { kind value } image { id externalId } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const FACET_QUERY = `query Facets($where: GarmentWhere, $kinds: [String!]!) {
  garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }
}`;

/** `count` filters of the form { category, color, <third kind> }, values drawn from those present. */
function threeConditionFilters(vocabulary: Vocabulary, count: number, next: () => number): Record<string, unknown>[] {
  const pick = (kind: string) => {
    const values = vocabulary[kind];
    return values[Math.floor(next() * values.length)].value;
  };
  const thirds: [string, (value: string) => Record<string, unknown>][] = [
    ['fit', (v) => ({ fit: [v] })],
    ['material', (v) => ({ material: [v] })],
    ['style', (v) => ({ styles: [v] })],
    ['sleeveLength', (v) => ({ sleeveLength: [v] })],
    ['print', (v) => ({ print: [v] })],
  ];
  return Array.from({ length: count }, () => {
    const [kind, toFilter] = thirds[Math.floor(next() * thirds.length)];
    return { category: [pick('category')], color: [pick('color')], ...toFilter(pick(kind)) };
  });
}

/** Broad filters (one condition: a category, a colour or a style), as when a user starts refining. */
function oneConditionFilters(vocabulary: Vocabulary, count: number, next: () => number): Record<string, unknown>[] {
  const kinds: [string, string][] = [['category', 'category'], ['color', 'color'], ['style', 'styles']];
  return Array.from({ length: count }, () => {
    const [kind, field] = kinds[Math.floor(next() * kinds.length)];
    const values = vocabulary[kind];
    return { [field]: [values[Math.floor(next() * values.length)].value] };
  });
}

const FACET_KIND_PAIRS = [
  ['color', 'material'],
  ['color', 'fit'],
  ['material', 'print'],
  ['style', 'color'],
  ['sleeveLength', 'length'],
];

// ---------------------------------------------------------------------------------------------
// Measuring

async function startServer(): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(process.execPath, [SERVER_SCRIPT, databaseUrl(DATABASE)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, endpoint: `http://127.0.0.1:${port}/graphql` };
}

/** A viewer token valid for a day: every request is authorised as a client's would be. */
async function viewerToken(): Promise<string> {
  const dataSource = await openDatabase({ url: databaseUrl(DATABASE) });
  try {
    const { token } = await createApiToken(dataSource, { role: 'viewer', name: 'bench:search', expiresAt: new Date(Date.now() + 86_400_000) });
    return token;
  } finally {
    await dataSource.destroy();
  }
}

let headers: Record<string, string> = { 'content-type': 'application/json' };

async function post(endpoint: string, body: string): Promise<{ ms: number; json: any }> {
  const started = process.hrtime.bigint();
  const response = await fetch(endpoint, { method: 'POST', headers, body });
  const json: any = await response.json();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (response.status !== 200 || json.errors) throw new Error(`request failed (${response.status}): ${JSON.stringify(json.errors)}`);
  return { ms, json };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Series {
  name: string;
  times: number[];
  matches: number[];
}

async function sequential(endpoint: string, name: string, bodies: string[], matchesOf: (json: any) => number): Promise<Series> {
  for (const body of bodies.slice(0, 10)) await post(endpoint, body); // warm-up: connections, plans, caches
  const series: Series = { name, times: [], matches: [] };
  for (const body of bodies) {
    const { ms, json } = await post(endpoint, body);
    series.times.push(ms);
    series.matches.push(matchesOf(json));
  }
  console.log(`${name}: p50 ${percentile(series.times, 50).toFixed(1)} ms, p95 ${percentile(series.times, 95).toFixed(1)} ms`);
  return series;
}

interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  graphqlErrors: number;
}

async function load(endpoint: string, bodies: string[]): Promise<LoadResult> {
  let index = 0;
  let graphqlErrors = 0;
  const latencies: number[] = [];
  const instance = autocannon({
    url: endpoint,
    connections: options.connections,
    duration: options.duration,
    requests: [
      {
        method: 'POST',
        headers,
        setupRequest: (request: any) => ({ ...request, body: bodies[index++ % bodies.length] }),
        onResponse: (status: number, body: string) => {
          if (status === 200 && body.includes('"errors"')) graphqlErrors++;
        },
      },
    ],
  } as any);
  (instance as any).on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
  });
  const result: any = await instance;
  const outcome = {
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / options.duration,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    graphqlErrors,
  };
  console.log(`load: ${JSON.stringify(outcome)}`);
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// Report

function machine(): string {
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? 'unknown CPU';
  const memory = (os.totalmem() / 2 ** 30).toFixed(1);
  const postgres = execFileSync('psql', ['--version'], { encoding: 'utf8' }).trim();
  return `${os.cpus().length} cores (nproc), ${cpu}, ${memory} GiB RAM, Node ${process.version}, ${postgres} (local server, default settings)`;
}

function loadAverage(): string {
  return os.loadavg().map((value) => value.toFixed(1)).join(' / ');
}

function seriesRow(series: Series, target: string): string {
  const f = (ms: number) => ms.toFixed(1);
  return (
    `| ${series.name} | ${series.times.length} | ${f(percentile(series.times, 50))} | ${f(percentile(series.times, 95))} | ` +
    `${f(Math.max(...series.times))} | ${percentile(series.matches, 50).toLocaleString('en')} ` +
    `(${Math.min(...series.matches).toLocaleString('en')}–${Math.max(...series.matches).toLocaleString('en')}) | ${target} |`
  );
}

function writeSection(body: string): void {
  const current = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  const section = `## Search\n\n${body.trim()}\n`;
  const pattern = /^## Search\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  const next = pattern.test(current) ? current.replace(pattern, `${section}\n`) : `${current.trimEnd()}\n\n${section}`;
  fs.writeFileSync(RESULTS, next.trimEnd() + '\n');
}

async function main(): Promise<void> {
  const data = await ensureData();
  const countsSeconds = await ensureCounts();
  if (options.prepareOnly) return;
  headers = { ...headers, authorization: `Bearer ${await viewerToken()}` };
  const vocabulary = await loadVocabulary();
  const next = seededRandom(SEED); // deterministic choices: every run asks the same questions
  const narrow = threeConditionFilters(vocabulary, options.runs, next);
  const broad = oneConditionFilters(vocabulary, options.runs, next);
  const searchBodies = narrow.map((where) => JSON.stringify({ query: SEARCH_QUERY, variables: { where } }));
  const facetBody = (where: Record<string, unknown>, i: number) =>
    JSON.stringify({ query: FACET_QUERY, variables: { where, kinds: FACET_KIND_PAIRS[i % FACET_KIND_PAIRS.length] } });
  const facetMatches = (json: any) => json.data.garmentFacets[0].values.reduce((sum: number, v: any) => sum + v.count, 0);

  const { child, endpoint } = await startServer();
  const loadBefore = loadAverage();
  try {
    const search = await sequential(endpoint, 'search: 3-condition AND, first 50 + totalCount', searchBodies, (json) => json.data.searchGarments.totalCount);
    const facetsBroad = await sequential(endpoint, 'facets: 2 kinds, 1-condition filter', broad.map(facetBody), facetMatches);
    const facetsNarrow = await sequential(endpoint, 'facets: 2 kinds, 3-condition filter', narrow.map(facetBody), facetMatches);
    const loaded = await load(endpoint, searchBodies);
    const date = new Date().toISOString().replace(/\.\d+Z$/, ' UTC').replace('T', ' ');
    const dataLine = data.reused
      ? `${data.images.toLocaleString('en')} images, ${data.garments.toLocaleString('en')} garments (database kept from an earlier run of this bench)`
      : `${data.images.toLocaleString('en')} images, ${data.garments.toLocaleString('en')} garments ` +
        `(synth ${data.synthSeconds === null ? 'kept from an earlier run' : `${data.synthSeconds.toFixed(0)} s`}, import ${data.importSeconds!.toFixed(0)} s)`;
    writeSection(
      [
        `Run ${date} on ${machine()}. Load average (1/5/15 min) when the measurements started: ${loadBefore};`,
        `when they ended: ${loadAverage()} (other work on the machine shares its 2 cores).`,
        '',
        `\`npm run bench:search\`: \`synthesize({ withImages: false })\` (seed ${SEED}), imported with the real importer`,
        `(\`allowMissingImages\`), then \`VACUUM ANALYZE\`: ${dataLine}; precomputed counts built in`,
        `${countsSeconds === null ? '?' : countsSeconds.toFixed(0)} s (one rebuild of \`garment_facet_counts\`). The API server runs in its own process;`,
        `every request goes over HTTP to /graphql. Each series is ${options.runs} sequential requests with different values`,
        '(after 10 warm-up requests); latency is client-side, request sent to JSON parsed. "matches" is the',
        'totalCount (searches) or the sum of the first facet\'s counts (facets): median (min–max). Broad facet',
        'filters (one condition) are answered from the precomputed counts; the 3-condition ones live.',
        '',
        '| series | runs | p50 ms | p95 ms | max ms | matches | target p95 |',
        '| --- | ---: | ---: | ---: | ---: | --- | --- |',
        seriesRow(search, '< 50 ms'),
        seriesRow(facetsBroad, '< 300 ms'),
        seriesRow(facetsNarrow, '< 300 ms'),
        '',
        `Load (autocannon): ${options.connections} concurrent connections for ${options.duration} s, cycling through the`,
        `${options.runs} search requests above (page of 50 with attributes and image + totalCount).`,
        '',
        '| requests | requests/s | p50 ms | p95 ms | p99 ms | errors | non-2xx | timeouts | GraphQL errors |',
        '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        `| ${loaded.requests.toLocaleString('en')} | ${loaded.requestsPerSecond.toFixed(1)} | ${loaded.p50.toFixed(0)} | ` +
          `${loaded.p95.toFixed(0)} | ${loaded.p99.toFixed(0)} | ${loaded.errors} | ${loaded.non2xx} | ${loaded.timeouts} | ${loaded.graphqlErrors} |`,
      ].join('\n'),
    );
    console.log(`results written to ${RESULTS}`);
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
