/**
 * Sharded batch prediction with real model-server processes sharing one database: one
 * predictImages job over 300 small images in chunks of 20; both servers take chunks; one is
 * killed (SIGKILL) in the middle of a chunk; the other's watchdog sees the stale lease, pg-boss
 * retries the chunk and the survivor finishes it from its last recorded image. Every image ends
 * with predictions, counted once, and the images recorded before the kill are not predicted again.
 */
import * as os from 'node:os';
import { SearchService } from '../../src/db/search';
import { createPredictionJob } from '../../src/db/prediction-jobs';
import { JobQueue } from '../../src/jobs/queue';
import { storeTinyModelVersion, syntheticDatabase, type SyntheticDatabase } from '../model-server/support';
import { assertBuilt, eventually, startCli, type Child } from './processes';

jest.setTimeout(600_000);

const IMAGES = 300;
const SIZE = 48;
/** Loading the model blocks a server's event loop for seconds on a busy machine: not a dead server. */
const LEASE_SECONDS = 15;
let db: SyntheticDatabase;
let queue: JobQueue;
let versionId: number;
const children: Child[] = [];

beforeAll(async () => {
  assertBuilt();
  db = await syntheticDatabase(IMAGES, 17, SIZE);
  queue = await JobQueue.open(db.url, { retryDelaySeconds: 1 });
  versionId = Number(await storeTinyModelVersion(db, SIZE));
});
afterAll(async () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  await queue.stop();
  await db.cleanup();
});

function modelServer(): Child {
  const child = startCli(['model-server', '--lease-timeout', String(LEASE_SECONDS)], {
    DATABASE_URL: db.url,
    KFASHION_DATA_DIR: db.dataDir,
    MODEL_SERVER_PORT: '0',
    KFASHION_TF_BACKEND: 'wasm',
    KFASHION_MAX_BATCH: '4',
  });
  children.push(child);
  return child;
}

const workerOf = (child: Child) => `${os.hostname()}:${child.process.pid}`;

async function garmentIdsByImage(): Promise<Map<string, string>> {
  const rows: { image_id: string; ids: string }[] = await db.dataSource.query(
    `SELECT image_id::text, string_agg(id::text, ',' ORDER BY id) AS ids FROM garments
      WHERE source = 'prediction' AND model_version_id = $1 GROUP BY image_id`,
    [versionId],
  );
  return new Map(rows.map((r) => [r.image_id, r.ids]));
}

it("two model servers share one job's chunks; after a kill -9 the other finishes the rest, each image once", async () => {
  const job = await createPredictionJob(db.dataSource, queue, new SearchService(db.dataSource), {
    modelVersionId: versionId,
    filter: null,
    chunkSize: 20,
  });
  expect(job).toMatchObject({ total: IMAGES, chunks: IMAGES / 20 });
  const [victim, survivor] = [modelServer(), modelServer()];
  await Promise.all([victim, survivor].map((c) => c.waitFor(/model server on http:\/\/\S+:\d+/)));

  // Kill the victim once it has finished a chunk and recorded a page of its next one.
  const killed = await eventually(
    async () => {
      const chunks = await db.dataSource.query(
        `SELECT id, status, done, total, position_image_id::text FROM prediction_chunks WHERE prediction_job_id = $1 AND worker = $2`,
        [job.id, workerOf(victim)],
      );
      const running = chunks.find((c: any) => c.status === 'running' && c.done > 0 && c.done < c.total);
      return chunks.some((c: any) => c.status === 'succeeded') && running ? running : undefined;
    },
    300_000,
    'the victim to finish a chunk and be part-way through another',
    100,
  );
  victim.process.kill('SIGKILL');
  expect(await victim.exited).toBe('SIGKILL');
  const [atKill] = await db.dataSource.query(
    `SELECT done, first_image_id::text, position_image_id::text FROM prediction_chunks WHERE id = $1`,
    [killed.id],
  );
  const recordedBeforeKill = [...(await garmentIdsByImage())].filter(
    ([image]) => BigInt(image) >= BigInt(atKill.first_image_id) && BigInt(image) <= BigInt(atKill.position_image_id),
  );
  expect(recordedBeforeKill.length).toBe(atKill.done);

  const finished = await eventually(
    async () => {
      const [row] = await db.dataSource.query(`SELECT status, total, done, error FROM prediction_jobs WHERE id = $1`, [job.id]);
      return ['succeeded', 'failed', 'cancelled'].includes(row.status) ? row : undefined;
    },
    420_000,
    'the job to finish on the survivor',
    500,
  );
  expect(finished).toEqual({ status: 'succeeded', total: IMAGES, done: IMAGES, error: null });
  expect(survivor.output()).toContain(
    `prediction_chunks ${killed.id}: worker ${workerOf(victim)} sent no heartbeat for ${LEASE_SECONDS} s; the job is retried`,
  );

  const chunks = await db.dataSource.query(`SELECT id, worker, status, done, total FROM prediction_chunks WHERE prediction_job_id = $1`, [
    job.id,
  ]);
  expect(chunks.filter((c: any) => c.status !== 'succeeded' || c.done !== c.total)).toEqual([]);
  const byWorker = new Map<string, number>();
  for (const c of chunks) byWorker.set(c.worker, (byWorker.get(c.worker) ?? 0) + 1);
  expect(byWorker.get(workerOf(victim))).toBeGreaterThanOrEqual(1);
  expect(byWorker.get(workerOf(survivor))).toBeGreaterThanOrEqual(1);
  expect(chunks.find((c: any) => c.id === killed.id).worker).toBe(workerOf(survivor));

  const after = await garmentIdsByImage();
  expect(after.size).toBe(IMAGES);
  // Taken over from its last recorded image: the victim's recorded predictions are the same rows.
  for (const [image, ids] of recordedBeforeKill) expect(after.get(image)).toBe(ids);
});
