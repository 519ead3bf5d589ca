/**
 * Sharded batch prediction with two in-process model servers on one database (wasm): a job's
 * images are cut into id ranges, both servers take chunks, every image is predicted and counted
 * once; a chunk whose worker stopped heartbeating mid-chunk is retried from its last recorded
 * image; cancelling stops every chunk; chunk sizes are checked with the argument's name.
 */
import { SearchService } from '../../src/db/search';
import { claim } from '../../src/db/leases';
import { ModelRegistry } from '../../src/model-server/models';
import { runPredictionChunk } from '../../src/model-server/prediction-chunk';
import { cancelPredictionJob, createPredictionJob, predictionChunkSize } from '../../src/db/prediction-jobs';
import { JobQueue, PREDICTION_QUEUE, type PredictionJobData } from '../../src/jobs/queue';
import { startModelServer, type RunningModelServer } from '../../src/model-server/server';
import { storeTinyModelVersion, syntheticDatabase, type SyntheticDatabase } from './support';

jest.setTimeout(240_000);

let db: SyntheticDatabase;
let queue: JobQueue;
let versionId: number;
const servers: RunningModelServer[] = [];
const serverLog: string[] = [];
/**
 * Long enough that a busy server is not judged dead: both share this process's one thread, so one's
 * heartbeat waits behind the other's synchronous forward pass (8 s was exceeded at load 8).
 */
const LEASE_SECONDS = 15;

beforeAll(async () => {
  db = await syntheticDatabase(48, 21, 48);
  queue = await JobQueue.open(db.url, { retryDelaySeconds: 0 });
  versionId = Number(await storeTinyModelVersion(db, 48));
});
afterAll(async () => {
  for (const server of servers) await server.stop();
  await queue.stop();
  await db.cleanup();
});

function modelServer(workerName: string): Promise<RunningModelServer> {
  return startModelServer({
    dataSource: db.dataSource,
    dataDir: db.dataDir,
    port: 0,
    host: '127.0.0.1',
    backend: 'wasm',
    pollIntervalMs: 100,
    leaseTimeoutSeconds: LEASE_SECONDS,
    workerName,
    maxBatch: 4,
    log: (line) => serverLog.push(line),
  }).then((server) => (servers.push(server), server));
}

async function finished(jobId: number): Promise<Record<string, any>> {
  for (let i = 0; i < 900; i++) {
    const [row] = await db.dataSource.query(`SELECT * FROM prediction_jobs WHERE id = $1`, [jobId]);
    if (['succeeded', 'failed', 'cancelled'].includes(row.status)) return row;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`prediction job ${jobId} did not finish`);
}

/** Per image of the set: how many prediction garments of the version it has, and their ids. */
async function predictedGarments(): Promise<Map<string, string[]>> {
  const rows: { image_id: string; ids: string[] }[] = await db.dataSource.query(
    `SELECT i.id::text AS image_id, array_remove(array_agg(g.id::text ORDER BY g.id), NULL) AS ids
       FROM images i LEFT JOIN garments g ON g.image_id = i.id AND g.source = 'prediction' AND g.model_version_id = $1
      GROUP BY i.id ORDER BY i.id`,
    [versionId],
  );
  return new Map(rows.map((r) => [r.image_id, r.ids]));
}

it('cuts the matching images into contiguous, disjoint id ranges of the chunk size', async () => {
  const search = new SearchService(db.dataSource);
  const ids: string[] = (await db.dataSource.query(`SELECT id::text AS id FROM images i WHERE split = 'train' ORDER BY i.id`)).map(
    (r: any) => r.id,
  );
  const ranges = await search.imageIdRanges({ split: 'train' }, 5);
  expect(ranges.map((r) => r.count)).toEqual(Array.from({ length: Math.ceil(ids.length / 5) }, (_, i) => Math.min(5, ids.length - 5 * i)));
  ranges.forEach((range, i) => {
    expect(range.firstId).toBe(ids[5 * i]);
    expect(range.lastId).toBe(ids[Math.min(5 * i + 4, ids.length - 1)]);
  });
});

it('checks the chunk size and names where it came from', () => {
  expect(predictionChunkSize(null, {})).toBe(256);
  expect(predictionChunkSize(null, { KFASHION_PREDICTION_CHUNK: 40 })).toBe(40);
  expect(predictionChunkSize(7, { KFASHION_PREDICTION_CHUNK: 40 })).toBe(7);
  expect(() => predictionChunkSize(0, {})).toThrow(/^chunkSize: .*from 1 to 100000, got 0/);
  expect(() => predictionChunkSize(null, { KFASHION_PREDICTION_CHUNK: 0 })).toThrow(/^KFASHION_PREDICTION_CHUNK: .*got 0/);
});

it('cancelling a job nobody took cancels all its chunks at once', async () => {
  const job = await createPredictionJob(db.dataSource, queue, new SearchService(db.dataSource), {
    modelVersionId: versionId,
    filter: null,
    chunkSize: 10,
  });
  const cancelled = await cancelPredictionJob(db.dataSource, queue, Number(job.id));
  expect(cancelled).toMatchObject({ status: 'cancelled', total: 48, done: 0, chunks: 5 });
  const chunks = await db.dataSource.query(`SELECT DISTINCT status FROM prediction_chunks WHERE prediction_job_id = $1`, [job.id]);
  expect(chunks).toEqual([{ status: 'cancelled' }]);
  expect(await cancelPredictionJob(db.dataSource, queue, 999_999)).toBeNull();
});

it('two servers share the chunks; a chunk of a dead worker resumes after its last recorded image', async () => {
  const job = await createPredictionJob(db.dataSource, queue, new SearchService(db.dataSource), {
    modelVersionId: versionId,
    filter: null,
    chunkSize: 20,
  });
  expect(job).toMatchObject({ status: 'queued', total: 48, done: 0, chunks: 3, chunk_size: 20 });

  // A worker takes a chunk, records one page (16 images, or the whole chunk when shorter), then dies (never heartbeats again).
  const taken = await queue.fetchOne<PredictionJobData>(PREDICTION_QUEUE);
  const lease = { table: 'prediction_chunks' as const, id: taken!.data.chunkId, worker: 'ghost' };
  expect(await claim(db.dataSource, lease, taken!.id, LEASE_SECONDS)).toEqual({ cancelRequested: false });
  const registry = new ModelRegistry(db.dataSource, { maxBatch: 4 });
  const dying = new AbortController();
  dying.abort();
  await expect(
    runPredictionChunk({ dataSource: db.dataSource, lease, registry, uploadsDir: db.dataDir, signal: dying.signal }),
  ).rejects.toThrow(/shutting down/);
  await registry.dispose();
  const [ghostChunk] = await db.dataSource.query(
    `SELECT done, total, first_image_id::text, position_image_id::text FROM prediction_chunks WHERE id = $1`,
    [lease.id],
  );
  // The queue hands out the job's chunks in no particular order: this one may be the short last chunk.
  expect(ghostChunk.done).toBe(Math.min(16, ghostChunk.total));
  const beforeTakeover = await predictedGarments();
  const predictedByGhost = [...beforeTakeover].filter(([, ids]) => ids.length > 0);
  const ghostRange = [...beforeTakeover.keys()].filter(
    (id) => BigInt(id) >= BigInt(ghostChunk.first_image_id) && BigInt(id) <= BigInt(ghostChunk.position_image_id),
  );
  expect(predictedByGhost.map(([id]) => id)).toEqual(ghostRange);

  // One after the other: the wasm backend initialises once per process.
  await modelServer('server-a');
  await modelServer('server-b');
  const done = await finished(Number(job.id));
  expect(serverLog.filter((line) => /no heartbeat/.test(line))).toEqual([
    `prediction_chunks ${lease.id}: worker ghost sent no heartbeat for ${LEASE_SECONDS} s; the job is retried`,
  ]);
  expect(done).toMatchObject({ status: 'succeeded', total: 48, done: 48, error: null });

  const chunks = await db.dataSource.query(
    `SELECT id, worker, status, done, total FROM prediction_chunks WHERE prediction_job_id = $1 ORDER BY id`,
    [job.id],
  );
  expect(chunks.every((c: any) => c.status === 'succeeded' && c.done === c.total)).toBe(true);
  expect(new Set(chunks.map((c: any) => c.worker))).toEqual(new Set(['server-a', 'server-b']));
  const after = await predictedGarments();
  expect([...after.values()].every((ids) => ids.length > 0)).toBe(true);
  // The ghost's images were not predicted again: their garments are the same rows.
  for (const [imageId, ids] of predictedByGhost) expect(after.get(imageId)).toEqual(ids);
  // The model saw each of the other images once, in batches of up to KFASHION_MAX_BATCH (4).
  const stats = await Promise.all(servers.map(async (server) => (await server.registry.get(versionId)).batcher.stats));
  expect(stats.reduce((sum, s) => sum + s.items, 0)).toBe(48 - ghostChunk.done);
  expect(Math.max(...stats.map((s) => s.largestBatch))).toBe(4);
});

it('a database error that says nothing about the chunk (deadlock) retries the chunk; the servers go on working', async () => {
  // PostgreSQL itself fails the first progress write of the job with SQLSTATE 40P01; a sequence (not
  // rolled back with the failed transaction) makes it fail once only.
  await db.dataSource.query(`CREATE SEQUENCE injected_deadlock`);
  await db.dataSource.query(`CREATE FUNCTION deadlock_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.done > OLD.done AND nextval('injected_deadlock') = 1 THEN
        RAISE EXCEPTION 'deadlock detected (injected)' USING ERRCODE = 'deadlock_detected';
      END IF;
      RETURN NEW;
    END $$`);
  await db.dataSource.query(
    `CREATE TRIGGER deadlock_once BEFORE UPDATE ON prediction_chunks FOR EACH ROW EXECUTE FUNCTION deadlock_once()`,
  );
  try {
    const before = await predictedGarments();
    const job = await createPredictionJob(db.dataSource, queue, new SearchService(db.dataSource), {
      modelVersionId: versionId,
      filter: null,
      chunkSize: 48,
    });
    const done = await finished(Number(job.id));
    expect(done).toMatchObject({ status: 'succeeded', total: 48, done: 48, error: null });
    const [chunk] = await db.dataSource.query(`SELECT id, status, done, total, error FROM prediction_chunks WHERE prediction_job_id = $1`, [
      job.id,
    ]);
    expect(chunk).toMatchObject({ status: 'succeeded', done: 48, total: 48, error: null });
    expect(serverLog).toContain(`prediction_chunks ${chunk.id}: handed back to the queue (deadlock detected (injected))`);
    // Predicted again, each image's garments replaced, not doubled.
    const after = await predictedGarments();
    for (const [imageId, ids] of before) expect(after.get(imageId)!.length).toBe(ids.length);
    // Both servers still take work.
    for (const server of servers) expect(server.http.server.listening).toBe(true);
  } finally {
    await db.dataSource.query(
      `DROP TRIGGER deadlock_once ON prediction_chunks; DROP FUNCTION deadlock_once(); DROP SEQUENCE injected_deadlock`,
    );
  }
});
