/**
 * Model servers started at the same moment on one fresh database (the compose files start up to
 * eight): both built CLI processes set the schema and the job queue up (under advisory locks), print
 * their start line, and then both take chunks of one prediction job. Repeated on a new database each
 * round, since the race it guards against struck in about half of the starts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { openDatabase } from '../../src/db/data-source';
import { importDataset } from '../../src/db/import';
import { createPredictionJob } from '../../src/db/prediction-jobs';
import { SearchService } from '../../src/db/search';
import { JobQueue } from '../../src/jobs/queue';
import { synthesize } from '../../src/kfashion/synth';
import { assertBuilt, eventually, startCli, type Child } from '../e2e/processes';
import { storeTinyModelVersion, type SyntheticDatabase } from './support';

jest.setTimeout(300_000);

const ROUNDS = 3;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-concurrent-data-'));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-concurrent-home-'));

async function onServer(sql: string): Promise<void> {
  const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  assertBuilt(['src/cli', 'src/db', 'src/jobs', 'src/model-server']);
  await synthesize({ outDir: root, images: 16, seed: 5, width: 48, height: 48, validationFraction: 0 });
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))(
  'round %i: two servers started together on a fresh database both come up and take work',
  async (round) => {
    const name = `kf_concurrent_${process.pid}_${round}`;
    await onServer(`CREATE DATABASE ${name}`);
    const url = Object.assign(new URL(process.env.TEST_DATABASE_URL!), { pathname: `/${name}` }).toString();
    const env = { DATABASE_URL: url, MODEL_SERVER_PORT: '0', KFASHION_DATA_DIR: dataDir, KFASHION_TF_BACKEND: 'wasm' };
    const servers: Child[] = [0, 1].map(() => startCli(['model-server', '--queues', 'prediction'], env));
    try {
      const starts = await Promise.all(
        servers.map((server) =>
          server.waitFor(/model server on (http:\/\/\S+) \(bound to 127\.0\.0\.1:\d+, no token; .*worker (\S+)\)/, 120_000),
        ),
      );
      for (const server of servers) expect(server.output()).not.toMatch(/deadlock|duplicate key|already exists/);
      const workers = starts.map((start) => start[2]);
      for (const start of starts) expect((await fetch(`${start[1]}/health`)).status).toBe(200);

      const dataSource = await openDatabase({ url });
      const queue = await JobQueue.open(url);
      try {
        await importDataset(dataSource, { root, parseWorkers: 0 });
        const versionId = Number(await storeTinyModelVersion({ dataSource, dataDir } as SyntheticDatabase, 48));
        const job = await createPredictionJob(dataSource, queue, new SearchService(dataSource), {
          modelVersionId: versionId,
          filter: null,
          chunkSize: 2,
        });
        const done = await eventually(
          async () => {
            const [row] = await dataSource.query(`SELECT status, done, total FROM prediction_jobs WHERE id = $1`, [job.id]);
            return ['succeeded', 'failed'].includes(row.status) ? row : undefined;
          },
          180_000,
          `prediction job ${job.id} to finish`,
        );
        expect(done).toEqual({ status: 'succeeded', done: 16, total: 16 });
        const takers: { worker: string }[] = await dataSource.query(
          `SELECT DISTINCT worker FROM prediction_chunks WHERE prediction_job_id = $1`,
          [job.id],
        );
        expect(takers.map((t) => t.worker).sort()).toEqual([...workers].sort());
      } finally {
        await queue.stop();
        await dataSource.destroy();
      }
    } finally {
      for (const server of servers) server.process.kill('SIGTERM');
      await Promise.all(servers.map((server) => server.exited));
      await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  },
);
