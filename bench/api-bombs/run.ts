/**
 * The API under alias bombs: the API server in its own process (bench/search/server.ts) on a
 * database holding the three real samples; 3 clients send a bomb of 4,900 aliased
 * `garmentFacets(kinds: [all 13])` (332 kB of query) back to back, 40 times each, while one client
 * probes `/health` (then a simple search) every 5 ms. Reports the p95 of the probes, idle and under
 * the bombs, for `--runs` runs (default 3) under "## API under alias bombs" in bench/RESULTS.md.
 *
 *   npm run bench:api-bombs [-- --runs 3]
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createApiToken } from '../../src/db/api-tokens';
import { importDataset } from '../../src/db/import';
import { ATTRIBUTE_KINDS } from '../../src/kfashion/types';
import { loadAverage, replaceSection, runBench, withBenchDatabase } from '../results';

const SERVER_URL = process.env.BENCH_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
const REPOSITORY = path.resolve(__dirname, '../../..');
const RESULTS = path.join(REPOSITORY, 'bench/RESULTS.md');
const SERVER_SCRIPT = path.join(REPOSITORY, 'dist/bench/search/server.js');
const SAMPLES = process.env.KFASHION_SAMPLES ? path.resolve(process.env.KFASHION_SAMPLES) : path.resolve(REPOSITORY, 'test/fixtures/kfashion-samples');
const SAMPLE_IDS = ['100026', '1070263', '1092253'];
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3;

const BOMB = `query($kinds: [String!]!) { ${Array.from({ length: 4_900 }, (_, i) => `a${i}: garmentFacets(kinds: $kinds) { kind values { value count } }`).join(' ')} }`;
const SEARCH = `{ searchGarments(where: { superCategory: [TOP] }, first: 5) { edges { node { id } } } }`;

function sampleTree(root: string): void {
  for (const id of SAMPLE_IDS) {
    for (const [folder, extension] of [['라벨링데이터', 'json'], ['원천데이터', 'jpg']]) {
      const target = path.join(root, 'Training', folder, '로맨틱', `${id}.${extension}`);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(path.join(SAMPLES, `${id}.${extension}`), target);
    }
  }
}

async function startServer(databaseUrl: string): Promise<{ origin: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [SERVER_SCRIPT, databaseUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`the API server exited with ${code}`)));
  });
  return { origin: `http://127.0.0.1:${port}`, child };
}

/** Milliseconds of each `probe`, sent one after another every 5 ms until `busy` settles. */
async function latenciesDuring(busy: Promise<unknown>, probe: () => Promise<unknown>): Promise<number[]> {
  let settled = false;
  void busy.finally(() => (settled = true));
  const times: number[] = [];
  while (!settled) {
    const started = performance.now();
    await probe();
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return times;
}

const p95 = (times: number[]) => [...times].sort((a, b) => a - b)[Math.ceil(times.length * 0.95) - 1];
const shown = (times: number[]) => `${p95(times).toFixed(1)} ms (${times.length} probes)`;

async function measure(origin: string, token: string): Promise<string> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const post = (query: string, variables: object = {}) =>
    fetch(`${origin}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) }).then(async (response) => {
      await response.arrayBuffer();
      return response.status;
    });
  const lane = async () => {
    for (let round = 0; round < 40; round++) {
      const status = await post(BOMB, { kinds: ATTRIBUTE_KINDS });
      if (status !== 413) throw new Error(`the bomb was answered ${status}, not refused with 413`);
    }
  };
  const bombs = () => Promise.all([lane(), lane(), lane()]);
  const health = () => fetch(`${origin}/health`).then((response) => response.arrayBuffer());
  const search = () => post(SEARCH);
  const idle = await latenciesDuring(new Promise((resolve) => setTimeout(resolve, 1_000)), health);
  const underBombs = await latenciesDuring(bombs(), health);
  const searchUnderBombs = await latenciesDuring(bombs(), search);
  return `${shown(idle)} | ${shown(underBombs)} | ${shown(searchUnderBombs)} | ${loadAverage()}`;
}

runBench(async () => {
  await withBenchDatabase(SERVER_URL, 'kf_bench_api_bombs', async (bench) => {
    sampleTree(bench.root);
    await importDataset(bench.dataSource, { root: bench.root });
    const { token } = await createApiToken(bench.dataSource, { role: 'viewer', name: 'bench' });
    const server = await startServer(bench.url);
    const rows: string[] = [];
    try {
      for (let run = 1; run <= runs; run++) {
        rows.push(`| ${run} | ${await measure(server.origin, token)} |`);
        console.log(rows[rows.length - 1]);
      }
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
    const section = [
      `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:api-bombs\` on ${require('node:os').cpus().length} cores shared with other jobs, Node ${process.version}, the API server in its own process on the machine's PostgreSQL, the three real samples imported. 3 clients send a bomb of 4,900 aliased \`garmentFacets(kinds: [all 13])\` (332 kB) back to back, 40 times each, while one client probes every 5 ms. Goal: 100 ms p95. The bomb is refused by its Content-Length (413, connection closed) before its body is read; the bombing clients and the probe run in one process beside the server, on the same cores, so the load average bounds what the numbers mean.`,
      '',
      '| run | /health p95 idle | /health p95 under the bombs | search p95 under the bombs | load average (1/5/15 min) after |',
      '| --- | ---: | ---: | ---: | --- |',
      ...rows,
      '',
    ].join('\n');
    fs.writeFileSync(RESULTS, replaceSection(fs.readFileSync(RESULTS, 'utf8'), 'API under alias bombs', section));
  });
});
