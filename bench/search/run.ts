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
 * `--baseline <dir>` (a checkout of an earlier commit with `tsc -p bench/search/tsconfig.json`
 * run in it) also starts that version's server on the same database and alternates every request
 * between the two, so both are measured in one run under the same load; their answers must agree.
 *
 *   npm run bench:search [-- --images 566000 --runs 200 --connections 16 --duration 30 --rebuild --prepare-only
 *                            --baseline /tmp/kf-baseline --baseline-label "main 4daa548"]
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
  baseline: argument('--baseline', ''),
  baselineLabel: argument('--baseline-label', 'baseline'),
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

/** The same search without the garments' fields: what the count and the page's ids cost, apart from rendering 50 garments. */
const SEARCH_IDS_QUERY = `query Search($where: GarmentWhere!) {
  searchGarments(where: $where, first: 50) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } }
}`;

const FACET_QUERY = `query Facets($where: GarmentWhere, $kinds: [AttributeKind!]!) {
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
  const kinds: [string, string][] = [
    ['category', 'category'],
    ['color', 'color'],
    ['style', 'styles'],
  ];
  return Array.from({ length: count }, () => {
    const [kind, field] = kinds[Math.floor(next() * kinds.length)];
    const values = vocabulary[kind];
    return { [field]: [values[Math.floor(next() * values.length)].value] };
  });
}

/** Pairs of kinds (AttributeKind names) the facet runs ask for. */
const FACET_KIND_PAIRS = [
  ['COLOR', 'MATERIAL'],
  ['COLOR', 'FIT'],
  ['MATERIAL', 'PRINT'],
  ['STYLE', 'COLOR'],
  ['SLEEVE_LENGTH', 'LENGTH'],
];

// ---------------------------------------------------------------------------------------------
// Measuring

interface Server {
  label: string;
  child: ChildProcess;
  endpoint: string;
}

async function startServer(label: string, script: string): Promise<Server> {
  // NODE_ENV=production as in the API image (docker/api.Dockerfile): graphql-js skips its development checks.
  const child = spawn(process.execPath, [script, databaseUrl(DATABASE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${label} server exited with ${code}`)));
  });
  return { label, child, endpoint: `http://127.0.0.1:${port}/graphql` };
}

/** A viewer token valid for a day: every request is authorised as a client's would be. */
async function viewerToken(): Promise<string> {
  const dataSource = await openDatabase({ url: databaseUrl(DATABASE) });
  try {
    const { token } = await createApiToken(dataSource, {
      role: 'viewer',
      name: 'bench:search',
      expiresAt: new Date(Date.now() + 86_400_000),
    });
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
  server: string;
  times: number[];
  matches: number[];
}

/**
 * The requests one after another, each sent to every server in turn (the order alternating), so
 * a change in the machine's load hits all servers alike. Fails when the servers' answers differ.
 */
async function sequential(servers: Server[], name: string, bodies: string[], matchesOf: (json: any) => number): Promise<Series[]> {
  for (const server of servers) for (const body of bodies.slice(0, 10)) await post(server.endpoint, body); // warm-up: connections, plans, caches
  const series: Series[] = servers.map((server) => ({ name, server: server.label, times: [], matches: [] }));
  for (const [i, body] of bodies.entries()) {
    const order = servers.map((_, s) => s);
    if (i % 2) order.reverse();
    for (const s of order) {
      const { ms, json } = await post(servers[s].endpoint, body);
      series[s].times.push(ms);
      series[s].matches.push(matchesOf(json));
    }
  }
  for (const one of series) {
    if (one.matches.some((n, i) => n !== series[0].matches[i]))
      throw new Error(`${name}: ${one.server} and ${series[0].server} answer differently`);
    console.log(`${name} [${one.server}]: p50 ${percentile(one.times, 50).toFixed(1)} ms, p95 ${percentile(one.times, 95).toFixed(1)} ms`);
  }
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
  return os
    .loadavg()
    .map((value) => value.toFixed(1))
    .join(' / ');
}

function seriesRow(series: Series, target: string): string {
  const f = (ms: number) => ms.toFixed(1);
  return (
    `| ${series.name} | ${series.server} | ${series.times.length} | ${f(percentile(series.times, 50))} | ${f(percentile(series.times, 95))} | ` +
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

  const servers: Server[] = [];
  try {
    servers.push(await startServer('this tree', SERVER_SCRIPT));
    if (options.baseline) {
      servers.push(await startServer(options.baselineLabel, path.resolve(options.baseline, 'dist/bench/search/server.js')));
    }
    const loadBefore = loadAverage();
    const search = await sequential(
      servers,
      'search: 3-condition AND, first 50 + totalCount',
      searchBodies,
      (json) => json.data.searchGarments.totalCount,
    );
    const searchIds = await sequential(
      servers,
      'search: the same, ids + totalCount only',
      narrow.map((where) => JSON.stringify({ query: SEARCH_IDS_QUERY, variables: { where } })),
      (json) => json.data.searchGarments.totalCount,
    );
    const facetsBroad = await sequential(servers, 'facets: 2 kinds, 1-condition filter', broad.map(facetBody), facetMatches);
    const facetsNarrow = await sequential(servers, 'facets: 2 kinds, 3-condition filter', narrow.map(facetBody), facetMatches);
    const loaded: (LoadResult & { server: string })[] = [];
    for (const server of servers) loaded.push({ server: server.label, ...(await load(server.endpoint, searchBodies)) });
    const date = new Date()
      .toISOString()
      .replace(/\.\d+Z$/, ' UTC')
      .replace('T', ' ');
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
        `${countsSeconds === null ? '?' : countsSeconds.toFixed(0)} s (one rebuild of \`garment_facet_counts\` and \`garment_term_bits\`). The API server runs in its own process`,
        'with NODE_ENV=production, as in the API image;',
        `every request goes over HTTP to /graphql. Each series is ${options.runs} sequential requests with different values`,
        '(after 10 warm-up requests); latency is client-side, request sent to JSON parsed. "matches" is the',
        "totalCount (searches) or the sum of the first facet's counts (facets): median (min–max). Broad facet",
        'filters (one condition) are answered from the precomputed counts, the 3-condition ones live. Searches whose',
        'filter is only value conditions (all of these) take their page ids and totalCount from the term bits.',
        ...(servers.length > 1
          ? [
              `Servers: "this tree" and "${options.baselineLabel}" (an earlier commit's build) on the same database, every`,
              'request sent to both in alternating order; both gave the same matches for every request.',
            ]
          : []),
        '',
        '| series | server | runs | p50 ms | p95 ms | max ms | matches | target p95 |',
        '| --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
        ...search.map((one) => seriesRow(one, '< 50 ms')),
        ...searchIds.map((one) => seriesRow(one, '')),
        ...facetsBroad.map((one) => seriesRow(one, '< 300 ms')),
        ...facetsNarrow.map((one) => seriesRow(one, '< 300 ms')),
        '',
        `Load (autocannon): ${options.connections} concurrent connections for ${options.duration} s, cycling through the`,
        `${options.runs} search requests above (page of 50 with attributes and image + totalCount); one server after the other.`,
        '',
        '| server | requests | requests/s | p50 ms | p95 ms | p99 ms | errors | non-2xx | timeouts | GraphQL errors |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...loaded.map(
          (one) =>
            `| ${one.server} | ${one.requests.toLocaleString('en')} | ${one.requestsPerSecond.toFixed(1)} | ${one.p50.toFixed(0)} | ` +
            `${one.p95.toFixed(0)} | ${one.p99.toFixed(0)} | ${one.errors} | ${one.non2xx} | ${one.timeouts} | ${one.graphqlErrors} |`,
        ),
      ].join('\n'),
    );
    console.log(`results written to ${RESULTS}`);
  } finally {
    for (const server of servers) server.child.kill('SIGTERM');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
