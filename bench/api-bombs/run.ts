/**
 * The API under bombs: the API server in its own process (bench/search/server.ts) on a database
 * holding the three real samples. Each bomb runs alone: 3 clients send it back to back, 40 times
 * each (and on until the probe has 20 answers), while one client probes `/health` (then a simple
 * search) every 5 ms. The bombs:
 * - HTTP alias bomb: 4,900 aliased `garmentFacets(kinds: [all 13])` (332 kB), refused by its size (413);
 * - HTTP fragment bomb, anonymous: `query{...F0} fragment F0 on Query{...F1 ...F1} …` 30 levels
 *   (2^30 root fields in 1.3 kB), refused by its measure (400 QUERY_TOO_COMPLEX);
 * - graphql-ws facet bomb: one message of 300 aliased `garmentFacets(kinds: [all 13])` on an open
 *   connection, refused like its HTTP twin (more tokens than the parser reads).
 * Reports the p95 of the probes, idle and under each bomb, and of the bombs' own answers, for
 * `--runs` runs (default 3) under "## API under bombs" in bench/RESULTS.md.
 *
 *   npm run bench:api-bombs [-- --runs 3]
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApiToken } from '../../src/db/api-tokens';
import { importDataset } from '../../src/db/import';
import WebSocket from 'ws';
import { ATTRIBUTE_KINDS } from '../../src/kfashion/types';
import { attributeKindName } from '../../src/graphql/types';
import { loadAverage, replaceSection, runBench, withBenchDatabase } from '../results';

const SERVER_URL = process.env.BENCH_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
const REPOSITORY = path.resolve(__dirname, '../../..');
const RESULTS = path.join(REPOSITORY, 'bench/RESULTS.md');
const SERVER_SCRIPT = path.join(REPOSITORY, 'dist/bench/search/server.js');
const SAMPLES = process.env.KFASHION_SAMPLES
  ? path.resolve(process.env.KFASHION_SAMPLES)
  : path.resolve(REPOSITORY, 'test/fixtures/kfashion-samples');
const SAMPLE_IDS = ['100026', '1070263', '1092253'];
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3;

const facets = (count: number) =>
  `query($kinds: [AttributeKind!]!) { ${Array.from({ length: count }, (_, i) => `a${i}: garmentFacets(kinds: $kinds) { kind values { value count } }`).join(' ')} }`;
const ALIAS_BOMB = facets(4_900);
const FRAGMENT_LEVELS = 30;
const FRAGMENT_BOMB = `query { ...F0 } ${Array.from({ length: FRAGMENT_LEVELS }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F${FRAGMENT_LEVELS} on Query { modelVersions(first: 1) { totalCount } }`;
const WS_BOMB = facets(300);
/** Rounds each bombing client sends at least, and probes the probing client makes at least. */
const ROUNDS = 40;
const MIN_PROBES = 20;
const SEARCH = `{ searchGarments(where: { superCategory: [TOP] }, first: 5) { edges { node { id } } } }`;

function sampleTree(root: string): void {
  for (const id of SAMPLE_IDS) {
    for (const [folder, extension] of [
      ['라벨링데이터', 'json'],
      ['원천데이터', 'jpg'],
    ]) {
      const target = path.join(root, 'Training', folder, '로맨틱', `${id}.${extension}`);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(path.join(SAMPLES, `${id}.${extension}`), target);
    }
  }
}

async function startServer(databaseUrl: string): Promise<{ origin: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [SERVER_SCRIPT, databaseUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`the API server exited with ${code}`)));
  });
  return { origin: `http://127.0.0.1:${port}`, child };
}

/** Milliseconds of each `probe`, sent one after another every 5 ms until `busy` settles (and at least MIN_PROBES of them). */
async function latenciesDuring(busy: (enough: () => boolean) => Promise<unknown>, probe: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  let settled = false;
  const bombs = busy(() => times.length >= MIN_PROBES).finally(() => (settled = true));
  while (!settled) {
    const started = performance.now();
    await probe();
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await bombs;
  return times;
}

const p95 = (times: number[]) => [...times].sort((a, b) => a - b)[Math.ceil(times.length * 0.95) - 1];
const shown = (times: number[]) => `${p95(times).toFixed(1)} ms (${times.length})`;

/** Sends a bomb once; throws unless it was refused as expected. */
type Bomb = () => Promise<void>;

/** A graphql-ws connection (graphql-transport-ws protocol, spoken by hand so the bomb is one message). */
async function webSocketLane(origin: string, token: string): Promise<{ send: Bomb; close: () => void }> {
  const socket = new WebSocket(`${origin.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const replies: ((message: { id?: string; type: string; payload?: unknown }) => void)[] = [];
  socket.on('message', (data) => replies.shift()?.(JSON.parse(String(data))));
  const reply = () => new Promise<{ id?: string; type: string; payload?: unknown }>((resolve) => replies.push(resolve));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  if ((await reply()).type !== 'connection_ack') throw new Error('the WebSocket connection was not acknowledged');
  let id = 0;
  return {
    async send() {
      const answer = reply();
      socket.send(
        JSON.stringify({
          id: String(++id),
          type: 'subscribe',
          payload: { query: WS_BOMB, variables: { kinds: ATTRIBUTE_KINDS.map(attributeKindName) } },
        }),
      );
      const message = await answer;
      const code = (message.payload as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code;
      if (message.type !== 'error' || code !== 'GRAPHQL_PARSE_FAILED')
        throw new Error(`the WebSocket bomb was answered ${message.type} ${code}, not refused`);
    },
    close: () => socket.close(1000),
  };
}

interface BombResult {
  health: number[];
  search: number[];
  answers: number[];
}

/** 3 clients send `bomb` back to back (ROUNDS times each, and on while the probe has fewer than MIN_PROBES answers); each answer timed. */
async function bombard(lanes: Bomb[], answers: number[], enough: () => boolean): Promise<void> {
  await Promise.all(
    lanes.map(async (send) => {
      for (let round = 0; round < ROUNDS || !enough(); round++) {
        const started = performance.now();
        await send();
        answers.push(performance.now() - started);
      }
    }),
  );
}

async function measureBomb(
  lanes: () => Promise<{ sends: Bomb[]; close: () => void }>,
  health: () => Promise<unknown>,
  search: () => Promise<unknown>,
): Promise<BombResult> {
  const { sends, close } = await lanes();
  try {
    const answers: number[] = [];
    const underBomb = await latenciesDuring((enough) => bombard(sends, answers, enough), health);
    const searchUnderBomb = await latenciesDuring((enough) => bombard(sends, answers, enough), search);
    return { health: underBomb, search: searchUnderBomb, answers };
  } finally {
    close();
  }
}

async function measure(origin: string, token: string): Promise<string[]> {
  const post = (query: string, variables: object, authorization: string | undefined) =>
    fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query, variables }),
    }).then(async (response) => ({ status: response.status, text: await response.text() }));
  const bearer = `Bearer ${token}`;
  const aliasBomb: Bomb = async () => {
    const { status } = await post(ALIAS_BOMB, { kinds: ATTRIBUTE_KINDS.map(attributeKindName) }, bearer);
    if (status !== 413) throw new Error(`the alias bomb was answered ${status}, not refused with 413`);
  };
  const fragmentBomb: Bomb = async () => {
    const { status, text } = await post(FRAGMENT_BOMB, {}, undefined);
    if (status !== 400 || !text.includes('QUERY_TOO_COMPLEX'))
      throw new Error(`the fragment bomb was answered ${status} ${text.slice(0, 200)}`);
  };
  const health = () => fetch(`${origin}/health`).then((response) => response.arrayBuffer());
  const search = () => post(SEARCH, {}, bearer);
  const idle = await latenciesDuring(
    (enough) =>
      new Promise((resolve) => setTimeout(resolve, 1_000)).then(async () => {
        while (!enough()) await new Promise((resolve) => setTimeout(resolve, 50));
      }),
    health,
  );
  const http = (send: Bomb) => async () => ({ sends: [send, send, send], close: () => {} });
  const webSocket = async () => {
    const lanes = await Promise.all([0, 1, 2].map(() => webSocketLane(origin, token)));
    return { sends: lanes.map((lane) => lane.send), close: () => lanes.forEach((lane) => lane.close()) };
  };
  const rows: string[] = [];
  for (const [name, lanes] of [
    ['HTTP alias bomb (4,900 facets, 413)', http(aliasBomb)],
    [`HTTP fragment bomb, anonymous (${FRAGMENT_LEVELS} levels, 400)`, http(fragmentBomb)],
    ['graphql-ws facet bomb (300 facets, one message)', webSocket],
  ] as const) {
    const result = await measureBomb(lanes, health, search);
    rows.push(`${name} | ${shown(idle)} | ${shown(result.health)} | ${shown(result.search)} | ${shown(result.answers)} | ${loadAverage()}`);
  }
  return rows;
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
        for (const row of await measure(server.origin, token)) {
          rows.push(`| ${run} | ${row} |`);
          console.log(rows[rows.length - 1]);
        }
      }
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
    const section = [
      `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:api-bombs\` on ${os.cpus().length} cores shared with other jobs, Node ${process.version}, the API server in its own process on the machine's PostgreSQL, the three real samples imported. Each bomb runs alone: 3 clients send it back to back, ${ROUNDS} times each and on until the probe has ${MIN_PROBES} answers, while one client probes every 5 ms (\`/health\`, then a simple search). Goal: 100 ms p95 for the probes and for the refusals. The alias bomb is refused by its Content-Length (413, connection closed) before its body is read; the fragment bomb (\`query{...F0} fragment F0 on Query{...F1 ...F1} …\`, ${FRAGMENT_LEVELS} levels, 2^${FRAGMENT_LEVELS} root fields in ${FRAGMENT_BOMB.length} bytes, no token) by its size measured once per fragment (400 QUERY_TOO_COMPLEX); the graphql-ws bomb (300 aliased 13-kind facets in one message) like its HTTP twin, by the parser's token bound. The bombing clients and the probe run in one process beside the server, on the same cores, so the load average bounds what the numbers mean. Probe counts in parentheses.`,
      '',
      '| run | bomb | /health p95 idle | /health p95 under the bomb | search p95 under the bomb | bomb answered, p95 | load average (1/5/15 min) after |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |',
      ...rows,
      '',
    ].join('\n');
    fs.writeFileSync(RESULTS, replaceSection(fs.readFileSync(RESULTS, 'utf8'), 'API under bombs', section));
  });
});
