/**
 * A batch prediction job (predictImages), sharded: the images matching the job's filter, in id
 * order, are cut into chunks of `chunkSize` images (each a range of ids) with one pg-boss job per
 * chunk, so every model server takes chunks of the same job. The prediction_jobs row aggregates:
 * `total` is fixed when the job is planned, `done` grows with each chunk's progress, and the status
 * is settled from the chunks once none is queued or running (failed if any failed for good,
 * cancelled if any was cancelled). Running a chunk is prediction-chunk.ts. An embedGarments job is the same job of
 * kind `embed`: its chunks embed the stored garments of their images instead of detecting.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { ImageFilter } from './search-filter';
import type { SearchService } from './search';
import { PREDICTION_QUEUE, type JobQueue } from '../jobs/queue';
import type { PredictionJobKind } from './prediction-chunks';
import { changedRows } from './sql';

export const DEFAULT_PREDICTION_CHUNK = 256;
export const MAX_PREDICTION_CHUNK = 100_000;

/** A chunk size outside 1..MAX_PREDICTION_CHUNK; `field` names where it came from. */
export class InvalidChunkSize extends Error {
  constructor(
    readonly field: string,
    value: unknown,
  ) {
    super(`${field}: the chunk size must be an integer from 1 to ${MAX_PREDICTION_CHUNK}, got ${JSON.stringify(value)}`);
  }
}

/** The chunk size asked for, else the server's (KFASHION_PREDICTION_CHUNK, as the CLI read it), else the default; each checked. */
export function predictionChunkSize(
  requested: number | null | undefined,
  env: { readonly KFASHION_PREDICTION_CHUNK?: number } = {},
): number {
  if (requested !== null && requested !== undefined) return checkedChunkSize('chunkSize', requested);
  if (env.KFASHION_PREDICTION_CHUNK === undefined) return DEFAULT_PREDICTION_CHUNK;
  return checkedChunkSize('KFASHION_PREDICTION_CHUNK', env.KFASHION_PREDICTION_CHUNK);
}

function checkedChunkSize(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PREDICTION_CHUNK)
    throw new InvalidChunkSize(field, value);
  return value;
}

export interface NewPredictionJob {
  /** Default `predict`. */
  kind?: PredictionJobKind;
  modelVersionId: number;
  filter: ImageFilter | null | undefined;
  chunkSize: number;
}

/** Records the job and its chunks and queues one pg-boss job per chunk; returns the prediction_jobs row. */
export async function createPredictionJob(
  dataSource: DataSource,
  queue: JobQueue,
  search: SearchService,
  job: NewPredictionJob,
): Promise<Record<string, unknown>> {
  const ranges = await search.imageIdRanges(job.filter, job.chunkSize);
  const chunks = ranges.map((range) => ({ ...range, jobId: randomUUID() }));
  const id = await dataSource.transaction(async (manager) => {
    const [row]: { id: number }[] = await manager.query(
      `INSERT INTO prediction_jobs (kind, model_version_id, filter, total, chunk_size, chunks) VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING id`,
      [
        job.kind ?? 'predict',
        job.modelVersionId,
        JSON.stringify(job.filter ?? {}),
        chunks.reduce((sum, c) => sum + c.count, 0),
        job.chunkSize,
        chunks.length,
      ],
    );
    await manager.query(
      `INSERT INTO prediction_chunks (prediction_job_id, first_image_id, last_image_id, total, job_id)
       SELECT $1, first_id, last_id, total, job_id
         FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::text[]) AS c(first_id, last_id, total, job_id)`,
      [row.id, chunks.map((c) => c.firstId), chunks.map((c) => c.lastId), chunks.map((c) => c.count), chunks.map((c) => c.jobId)],
    );
    return Number(row.id);
  });
  const chunkIds: { id: number; job_id: string }[] = await dataSource.query(
    `SELECT id, job_id FROM prediction_chunks WHERE prediction_job_id = $1 ORDER BY id`,
    [id],
  );
  await queue.insertPredictionChunks(chunkIds.map((c) => ({ id: c.job_id, data: { predictionJobId: id, chunkId: Number(c.id) } })));
  if (chunks.length === 0) await finishEmptyJob(dataSource, id);
  return readPredictionJob(dataSource, id);
}

async function finishEmptyJob(dataSource: DataSource, id: number): Promise<void> {
  await dataSource.query(`UPDATE prediction_jobs SET status = 'succeeded', started_at = now(), finished_at = now() WHERE id = $1`, [id]);
}

export async function readPredictionJob(dataSource: DataSource, id: number): Promise<Record<string, unknown>> {
  const rows: Record<string, unknown>[] = await dataSource.query(`SELECT * FROM prediction_jobs WHERE id = $1`, [id]);
  if (rows.length === 0) throw new Error(`prediction job ${id} does not exist`);
  return rows[0];
}

/**
 * Asks every chunk of the job to stop: queued chunks are cancelled at once (and their pg-boss jobs),
 * running ones stop after their current page. Returns the job's row, or null when it does not exist.
 */
export async function cancelPredictionJob(dataSource: DataSource, queue: JobQueue, id: number): Promise<Record<string, unknown> | null> {
  const jobs = await changedRows<{ id: number }>(
    dataSource,
    `UPDATE prediction_jobs SET cancel_requested = true WHERE id = $1 RETURNING id`,
    [id],
  );
  if (jobs.length === 0) return null;
  const cancelled = await cancelChunks(dataSource, id, null);
  const jobIds = cancelled.flatMap((c) => (c.job_id ? [c.job_id] : []));
  // A pg-boss job left behind is harmless (its chunk is no longer claimable); cancelling spares the fetch.
  if (jobIds.length > 0) await queue.cancel(PREDICTION_QUEUE, jobIds).catch(() => undefined);
  await settlePredictionJobs(dataSource, id);
  return readPredictionJob(dataSource, id);
}

/** Stops the other chunks of a job whose chunk failed for good: the job fails without predicting the rest. */
export async function stopSiblingChunks(dataSource: DataSource, chunkId: number): Promise<void> {
  const [chunk]: { prediction_job_id: number }[] = await dataSource.query(`SELECT prediction_job_id FROM prediction_chunks WHERE id = $1`, [
    chunkId,
  ]);
  if (chunk) await cancelChunks(dataSource, chunk.prediction_job_id, chunkId);
}

/** Cancels the job's queued chunks and flags its running ones (but `except`); returns the pg-boss ids of the cancelled. */
async function cancelChunks(dataSource: DataSource, jobId: number, except: number | null): Promise<{ job_id: string | null }[]> {
  return changedRows<{ job_id: string | null }>(
    dataSource,
    `UPDATE prediction_chunks SET cancel_requested = true,
            status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
            finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
      WHERE prediction_job_id = $1 AND id IS DISTINCT FROM $2::int AND status IN ('queued', 'running')
      RETURNING CASE WHEN status = 'cancelled' THEN job_id END AS job_id`,
    [jobId, except],
  );
}

/**
 * Finishes the unfinished jobs (one, or all when `id` is null) whose chunks have all finished:
 * failed if a chunk failed, else cancelled if one was cancelled, else succeeded; the chunks' errors
 * (unreadable images, the failure) become the job's. Runs after every chunk finishes and in the
 * watchdog (a chunk failed there for lack of retries): whichever runs after the last chunk
 * committed sees them all finished.
 */
export async function settlePredictionJobs(dataSource: DataSource, id: number | null = null): Promise<void> {
  await dataSource.query(
    `UPDATE prediction_jobs p
        SET status = s.status, error = s.error, finished_at = now()
       FROM (SELECT c.prediction_job_id,
                    CASE WHEN bool_or(c.status = 'failed') THEN 'failed'
                         WHEN bool_or(c.status = 'cancelled') THEN 'cancelled' ELSE 'succeeded' END AS status,
                    string_agg(c.error, '; ' ORDER BY c.id) AS error
               FROM prediction_chunks c JOIN prediction_jobs j ON j.id = c.prediction_job_id
              WHERE j.status IN ('queued', 'running') AND ($1::int IS NULL OR j.id = $1)
              GROUP BY c.prediction_job_id
             HAVING bool_and(c.status IN ('succeeded', 'failed', 'cancelled'))) s
      WHERE p.id = s.prediction_job_id AND p.status IN ('queued', 'running')`,
    [id],
  );
}
