/**
 * Similarity bench (issue 24): a synthetic catalogue (bench/similarity/data.ts: by default 1,000,000
 * garments with clustered 1024-dimension int8 embeddings, written with COPY), then in this process:
 *   1. the API server's similarity index of the model version built from PostgreSQL: seconds, and
 *      the process's resident memory before and after (RSS delta);
 *   2. recall@10 of `similarGarments` (over HTTP) against exact search over every vector, without and
 *      with a filter (exact: every matching garment's vector compared);
 *   3. latency of `similarGarments` (first 10, over real HTTP, sequential) without a filter, with a
 *      one-category filter (a few % of the garments) and a category + colour filter (under 1 %):
 *      p50 / p95 against the 50 ms target;
 *   4. the graph search alone by width, and the exhaustive search alone over a quarter of the
 *      garments chosen by super-category (kept together) or scattered.
 * Results go to bench/RESULTS.md under "## Similarity". The database (kf_bench_similarity, or
 * kf_bench_similarity_<garments> for another size) is kept between runs; `--rebuild` writes it again.
 *
 *   npm run bench:similarity [-- --garments 1000000 --clusters 2000 --queries 200 --rebuild --prepare-only]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase } from '../../src/db/data-source';
import { FacetCounts } from '../../src/db/search-counts';
import { GarmentIdFilter } from '../../src/db/garment-id-filter';
import { VocabularyCache } from '../../src/db/search-vocabulary';
import { createApiToken } from '../../src/db/api-tokens';
import { startApiServer } from '../../src/graphql/server';
import { globalId } from '../../src/graphql/ids';
import { seededRandom } from '../../src/util/random';
import { loadAverage, replaceSection, withServer } from '../results';
import { DEFAULT_GRAPH, type GarmentVectorIndex } from '../../src/similarity/garment-vector-index';
import { DEFAULT_SIMILARITY_LIMITS } from '../../src/similarity/similar-garments';
import { DotWorkers, innerProductDistances } from '../../src/similarity/dot-workers';
import { SuperCategory } from '../../src/kfashion/types';
import { writeCatalogue, type Catalogue } from './data';

const SERVER_URL = process.env.BENCH_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
const DEFAULT_GARMENTS = 1_000_000;
const RESULTS = path.resolve(__dirname, '../../../bench/RESULTS.md');

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const options = {
  garments: Number(argument('--garments', String(DEFAULT_GARMENTS))),
  clusters: Number(argument('--clusters', '2000')),
  noise: Number(argument('--noise', '1.5')),
  queries: Number(argument('--queries', '200')),
  rebuild: process.argv.includes('--rebuild'),
  prepareOnly: process.argv.includes('--prepare-only'),
};

/** One database per size, kept between runs. */
const DATABASE = options.garments === DEFAULT_GARMENTS ? 'kf_bench_similarity' : `kf_bench_similarity_${options.garments}`;

const databaseUrl = (() => {
  const url = new URL(SERVER_URL);
  url.pathname = `/${DATABASE}`;
  return url.toString();
})();

const SUPER_CATEGORIES = Object.values(SuperCategory);

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function ensureData(): Promise<{ catalogue: Catalogue; seconds: number | null }> {
  const exists = await withServer(
    SERVER_URL,
    async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])).rowCount,
  );
  if (exists && !options.rebuild) {
    const dataSource = await openDatabase({ url: databaseUrl });
    try {
      const [{ garments, embeddings }] = await dataSource.query(
        `SELECT (SELECT count(*)::int FROM garments) AS garments, (SELECT count(*)::int FROM garment_embeddings) AS embeddings`,
      );
      if (garments === options.garments && embeddings === options.garments) {
        const [{ id }] = await dataSource.query(`SELECT id FROM model_versions WHERE is_active`);
        const terms: { kind: string; value: string }[] = await dataSource.query(`SELECT kind, value FROM vocabulary ORDER BY id`);
        log(`reusing ${DATABASE}: ${garments} garments with embeddings`);
        return {
          catalogue: {
            modelVersionId: id,
            categories: terms.filter((t) => t.kind === 'category').map((t) => t.value),
            colors: terms.filter((t) => t.kind === 'color').map((t) => t.value),
          },
          seconds: null,
        };
      }
    } finally {
      await dataSource.destroy();
    }
  }
  await withServer(SERVER_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`));
  await withServer(SERVER_URL, (c) => c.query(`CREATE DATABASE ${DATABASE}`));
  await (await openDatabase({ url: databaseUrl })).destroy(); // runs the migrations
  const started = Date.now();
  log(`writing ${options.garments} garments in ${options.clusters} clusters`);
  const catalogue = await writeCatalogue(
    databaseUrl,
    { garments: options.garments, clusters: options.clusters, noise: options.noise, seed: 24 },
    log,
  );
  const seconds = (Date.now() - started) / 1000;
  log(`catalogue written in ${seconds.toFixed(0)} s`);
  return { catalogue, seconds };
}

const SIMILAR = `query Similar($id: ID!, $where: GarmentWhere, $first: Int) {
  similarGarments(garmentId: $id, where: $where, first: $first) { edges { similarity node { id databaseId } } pageInfo { hasNextPage } }
}`;

interface Answer {
  ids: number[];
  ms: number;
}

async function ask(url: string, token: string, variables: Record<string, unknown>): Promise<Answer> {
  const started = process.hrtime.bigint();
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: SIMILAR, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (body.errors) throw new Error(`similarGarments failed: ${JSON.stringify(body.errors)}`);
  return { ids: body.data.similarGarments.edges.map((edge: any) => Number(edge.node.databaseId)), ms };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

async function main(): Promise<void> {
  const { catalogue, seconds: writeSeconds } = await ensureData();
  if (options.prepareOnly) return;
  const loadBefore = loadAverage();
  const dataSource = await openDatabase({ url: databaseUrl, poolSize: 10 });
  // The catalogue is written without the precomputed counts and term bits: build them first, so
  // value filters read their matches from current bits, as on a server whose bits are current.
  const counts = new FacetCounts(dataSource);
  if (!(await counts.isFresh())) log(`term bits built in ${(await counts.rebuild())?.seconds.toFixed(0)} s`);
  const server = await startApiServer({ dataSource, port: 0, host: '127.0.0.1', production: true, log: () => {} });
  const { token } = await createApiToken(dataSource, { role: 'viewer', name: 'bench' });
  const url = `http://127.0.0.1:${server.port}`;
  try {
    global.gc?.();
    const rssBefore = rssMiB();
    log('building the index');
    const buildStarted = Date.now();
    const index = await server.similarity.current(catalogue.modelVersionId);
    const buildSeconds = (Date.now() - buildStarted) / 1000;
    global.gc?.();
    const rssAfter = rssMiB();
    if (!index) throw new Error('no index');
    log(`built in ${buildSeconds.toFixed(0)} s, RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB`);

    const next = seededRandom(7);
    const queryIds = Array.from({ length: options.queries }, () => 1 + Math.floor(next() * options.garments));
    const pick = <T>(values: T[]) => values[Math.floor(next() * values.length)];
    const widths = await widthTable(index, queryIds);
    const exhaustive = await exhaustiveTable(index, dataSource, catalogue.categories[0], queryIds.slice(0, 50));
    const kernel = await kernelTable(41, 50);
    const matchReads = await matchReadTable(new GarmentIdFilter(dataSource, new VocabularyCache(dataSource), counts), 50);
    const categoryFilters = queryIds.map(() => ({ category: [pick(catalogue.categories)] }));
    const superCategoryFilters = queryIds.map(() => ({ superCategory: [pick(SUPER_CATEGORIES)] }));
    const narrowFilters = queryIds.map(() => ({ category: [pick(catalogue.categories)], color: [pick(catalogue.colors)] }));
    const series: { name: string; filters: (Record<string, unknown> | null)[] }[] = [
      { name: 'no filter', filters: queryIds.map(() => null) },
      { name: 'one category (a few % of garments)', filters: categoryFilters },
      { name: 'category + colour (under 1 %)', filters: narrowFilters },
      { name: 'one super-category (about a quarter of garments)', filters: superCategoryFilters },
    ];
    for (let i = 0; i < 10; i++) await ask(url, token, { id: globalId('Garment', queryIds[i]), first: 10 }); // warm-up

    const rows: string[] = [];
    for (const { name, filters } of series) {
      const latencies: number[] = [];
      const exactLatencies: number[] = [];
      let recallSum = 0;
      for (let i = 0; i < queryIds.length; i++) {
        const where = filters[i];
        const answer = await ask(url, token, { id: globalId('Garment', queryIds[i]), first: 10, ...(where ? { where } : {}) });
        latencies.push(answer.ms);
        const exactStarted = process.hrtime.bigint();
        const query = index.vectorOf(queryIds[i])!.slice();
        const allowed = where ? await matchingIds(dataSource, where) : null;
        const exact = (allowed ? await index.nearestAmong(query, allowed, 11) : await index.nearestExhaustive(query, 11))
          .filter((n) => n.garmentId !== queryIds[i])
          .slice(0, 10)
          .map((n) => n.garmentId);
        exactLatencies.push(Number(process.hrtime.bigint() - exactStarted) / 1e6);
        recallSum += exact.length ? answer.ids.filter((id) => exact.includes(id)).length / exact.length : 1;
      }
      const recall = recallSum / queryIds.length;
      log(
        `${name}: recall@10 ${recall.toFixed(3)}, p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms`,
      );
      const ratio = percentile(latencies, 95) / percentile(exactLatencies, 95);
      rows.push(
        `| ${name} | ${queryIds.length} | ${recall.toFixed(3)} | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 95).toFixed(1)} | ${Math.max(...latencies).toFixed(1)} | ${percentile(exactLatencies, 95).toFixed(1)} | ${ratio.toFixed(2)} |`,
      );
    }
    const body = [
      `Run ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC on ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}. Load average when the measurements started: ${loadBefore}; when they ended: ${loadAverage()} (the machine's 2 cores are shared with other work).`,
      '',
      `\`npm run bench:similarity\`: ${options.garments.toLocaleString('en')} garments with 1024-dimension int8 embeddings around ${options.clusters} random centres (noise ${options.noise} per component), written with COPY${writeSeconds === null ? ' (database kept from an earlier run)' : ` in ${writeSeconds.toFixed(0)} s`}. usearch 2.26.2 HNSW (cosine, int8, connectivity ${DEFAULT_GRAPH.connectivity}, expansion ${DEFAULT_GRAPH.expansionAdd} add / ${DEFAULT_GRAPH.expansionSearch} search), built by the API server's \`SimilarityIndexes\` from PostgreSQL in batches of 2,000 rows.`,
      '',
      `| build | seconds | garments/s | RSS before | RSS after | RSS delta | per garment |`,
      `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
      `| index of ${index.size.toLocaleString('en')} garments | ${buildSeconds.toFixed(0)} | ${(index.size / buildSeconds).toFixed(0)} | ${rssBefore.toFixed(0)} MiB | ${rssAfter.toFixed(0)} MiB | ${(rssAfter - rssBefore).toFixed(0)} MiB | ${(((rssAfter - rssBefore) * 2 ** 20) / index.size).toFixed(0)} bytes |`,
      '',
      `\`similarGarments(first: 10)\` over HTTP, ${queryIds.length} sequential requests per series (random query garments), after 10 warm-up requests. Recall@10 is against exact search: every vector (no filter) or every garment the filter matches (read with SQL), ranked by exact cosine, the query garment excluded; "exact p95" is that reference's own time in the same process (no HTTP), the same queries in the same run. Target: recall@10 ≥ 0.95, p95 < 50 ms.`,
      '',
      `| series | requests | recall@10 | p50 ms | p95 ms | max ms | exact p95 ms | p95 / exact p95 |`,
      `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
      ...rows,
      '',
      `The graph search alone (\`GarmentVectorIndex.nearest\`, in process, no HTTP or PostgreSQL), by the number of candidates it keeps (its ef; the server's is ${DEFAULT_GRAPH.expansionSearch}), ${queryIds.length} queries without a filter, against the same exact reference:`,
      '',
      `| search width | recall@10 | p50 ms | p95 ms | p95 / exact p95 |`,
      `| ---: | ---: | ---: | ---: | ---: |`,
      ...widths,
      '',
      `The exhaustive search alone (\`GarmentVectorIndex.nearestAmong\`, in process), ${Math.min(50, queryIds.length)} queries each: the garments of one super-category, and of one category, which the index keeps in chunks of their own (a chunk per category, compared where they lie); then about a quarter of the garments scattered: every 4th garment id (a quarter of every chunk: compared in place, the whole chunk read) and every 5th (a fifth of every chunk: copied into a block first):`,
      '',
      `| garments chosen | compared | p50 ms | p95 ms | p50 ns per garment compared | p95 / super-category p95 |`,
      `| --- | ---: | ---: | ---: | ---: | ---: |`,
      ...exhaustive,
      '',
      `Whole chunks compared, alone: the inner products of one query with 41 chunks of 8,192 random int8 vectors of 1024 dimensions (335,872 vectors, 336 MB, about one super-category), in shared memory, 50 times each, on the main thread alone (usearch's kernel, one call per chunk) and shared by the main thread and a worker thread (\`DotWorkers\`, each comparing its half of the chunks at once):`,
      '',
      `| compared on | p50 ms | p95 ms | p50 ns per vector | p50 / main thread p50 |`,
      `| --- | ---: | ---: | ---: | ---: |`,
      ...kernel,
      '',
      `Reading the matches of a filter that the index then compares (\`GarmentIdFilter.matchingAtLeast\`, in process, from the bit strings: one statement and the decoding of its bits), 50 times each:`,
      '',
      `| filter | matches | p50 ms | p95 ms |`,
      `| --- | ---: | ---: | ---: |`,
      ...matchReads,
      '',
    ].join('\n');
    const text = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
    fs.writeFileSync(RESULTS, replaceSection(text, 'Similarity', body));
    console.log(body);
  } finally {
    await server.stop();
    await dataSource.destroy();
  }
}

/**
 * recall@10 and time of the graph search alone at several widths, against exact search over every
 * vector (computed once per query), as table rows.
 */
async function widthTable(index: GarmentVectorIndex, queryIds: number[]): Promise<string[]> {
  const exact: { ids: number[]; ms: number }[] = [];
  for (const id of queryIds) {
    const started = process.hrtime.bigint();
    const ids = (await index.nearestExhaustive(index.vectorOf(id)!.slice(), 11))
      .map((n) => n.garmentId)
      .filter((g) => g !== id)
      .slice(0, 10);
    exact.push({ ids, ms: Number(process.hrtime.bigint() - started) / 1e6 });
  }
  const exactP95 = percentile(
    exact.map((e) => e.ms),
    95,
  );
  const rows: string[] = [];
  for (const width of [64, 128, 256, 512, 1024]) {
    const latencies: number[] = [];
    let recallSum = 0;
    queryIds.forEach((id, i) => {
      const started = process.hrtime.bigint();
      const found = index
        .nearest(index.vectorOf(id)!.slice(), 11, width)
        .map((n) => n.garmentId)
        .filter((g) => g !== id)
        .slice(0, 10);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      recallSum += found.filter((g) => exact[i].ids.includes(g)).length / exact[i].ids.length;
    });
    const p95 = percentile(latencies, 95);
    log(`width ${width}: recall@10 ${(recallSum / queryIds.length).toFixed(3)}, p95 ${p95.toFixed(1)} ms`);
    rows.push(
      `| ${width} | ${(recallSum / queryIds.length).toFixed(3)} | ${percentile(latencies, 50).toFixed(1)} | ${p95.toFixed(1)} | ${(p95 / exactP95).toFixed(3)} |`,
    );
  }
  return rows;
}

/** Times of the exhaustive search over the garments of a super-category, of a category, and a scattered quarter, as table rows. */
async function exhaustiveTable(
  index: GarmentVectorIndex,
  dataSource: import('typeorm').DataSource,
  category: string,
  queryIds: number[],
): Promise<string[]> {
  const superCategory = SuperCategory.TOP;
  const everyNth = (n: number) => Array.from({ length: Math.floor(options.garments / n) }, (_, i) => (i + 1) * n);
  const choices: [string, number[]][] = [
    [`one super-category (${superCategory})`, await matchingIds(dataSource, { superCategory: [superCategory] })],
    [`one category (${category})`, await matchingIds(dataSource, { category: [category] })],
    ['every 4th garment id', everyNth(4)],
    ['every 5th garment id', everyNth(5)],
  ];
  const timed: { name: string; count: number; p50: number; p95: number }[] = [];
  for (const [name, ids] of choices) {
    const latencies: number[] = [];
    for (const id of queryIds) {
      const started = process.hrtime.bigint();
      await index.nearestAmong(index.vectorOf(id)!.slice(), ids, 11);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    log(
      `exhaustive over ${name} (${ids.length}): p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms`,
    );
    timed.push({ name, count: ids.length, p50: percentile(latencies, 50), p95: percentile(latencies, 95) });
  }
  return timed.map(
    ({ name, count, p50, p95 }) =>
      `| ${name} | ${count.toLocaleString('en')} | ${p50.toFixed(1)} | ${p95.toFixed(1)} | ${((p50 * 1e6) / count).toFixed(0)} | ${(p95 / timed[0].p95).toFixed(2)} |`,
  );
}

/** Times of comparing one query with `chunks` chunks of 8,192 vectors on the main thread alone and shared with a worker, as table rows. */
async function kernelTable(chunks: number, times: number): Promise<string[]> {
  const next = seededRandom(11);
  const vectors = Array.from({ length: chunks }, () => {
    const chunk = DotWorkers.allocate(8192 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(next() * 255) - 127;
    return chunk;
  });
  const query = Int8Array.from({ length: 1024 }, () => Math.floor(next() * 255) - 127);
  const workers = DotWorkers.open(2);
  if (!workers) throw new Error('usearch cannot read shared memory on this Node.js');
  const timings: [string, () => Promise<unknown>][] = [
    ['main thread', async () => vectors.map((chunk) => innerProductDistances(query, chunk, 1024))],
    ['main thread and a worker', () => workers.distances(query, vectors, 1024)],
  ];
  const p50s: number[] = [];
  const rows: string[] = [];
  try {
    for (const [name, compare] of timings) {
      await compare(); // warm-up (the workers start)
      const latencies: number[] = [];
      for (let i = 0; i < times; i++) {
        const started = process.hrtime.bigint();
        await compare();
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      const p50 = percentile(latencies, 50);
      p50s.push(p50);
      log(`${name}: p50 ${p50.toFixed(1)} ms`);
      rows.push(
        `| ${name} | ${p50.toFixed(1)} | ${percentile(latencies, 95).toFixed(1)} | ${((p50 * 1e6) / (chunks * 8192)).toFixed(0)} | ${(p50 / p50s[0]).toFixed(2)} |`,
      );
    }
  } finally {
    await workers.close();
  }
  return rows;
}

/** Times of reading every match of each super-category (as a search over exactLimit does), as table rows. */
async function matchReadTable(ids: GarmentIdFilter, times: number): Promise<string[]> {
  const rows: string[] = [];
  for (const superCategory of SUPER_CATEGORIES) {
    const latencies: number[] = [];
    let matches = 0;
    for (let i = 0; i < times; i++) {
      const started = process.hrtime.bigint();
      matches = (await ids.matchingAtLeast({ superCategory: [superCategory] }, DEFAULT_SIMILARITY_LIMITS.exactLimit)).ids.length;
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    log(`matches of ${superCategory} (${matches}): p50 ${percentile(latencies, 50).toFixed(1)} ms`);
    rows.push(
      `| super-category ${superCategory} | ${matches.toLocaleString('en')} | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 95).toFixed(1)} |`,
    );
  }
  return rows;
}

/** Every garment id matching a bench filter (one super-category, or a category and optionally a colour), read with plain SQL. */
async function matchingIds(dataSource: import('typeorm').DataSource, where: Record<string, unknown>): Promise<number[]> {
  if (where.superCategory) {
    const rows: { id: string }[] = await dataSource.query(`SELECT id FROM garments WHERE super_category = $1`, [
      (where.superCategory as string[])[0],
    ]);
    return rows.map((row) => Number(row.id));
  }
  const [category] = where.category as string[];
  const color = (where.color as string[] | undefined)?.[0] ?? null;
  const rows: { id: string }[] = await dataSource.query(
    `SELECT g.id FROM garments g
      WHERE g.search_terms @> ARRAY[(SELECT id FROM vocabulary WHERE kind = 'category' AND value = $1)]
        AND ($2::text IS NULL OR g.search_terms @> ARRAY[(SELECT id FROM vocabulary WHERE kind = 'color' AND value = $2)])`,
    [category, color],
  );
  return rows.map((row) => Number(row.id));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
