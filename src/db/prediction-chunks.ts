/**
 * What the worker running one chunk of a batch prediction reads and writes (the job and its chunks
 * are created and settled in prediction-jobs.ts). Progress writes are fenced on the chunk's lease.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { ImageFilter } from './search-filter';
import { LeaseLost, type Lease } from './leases';

/** `predict`: detect and store PREDICTION garments with their embeddings; `embed`: embed the stored garments by their boxes. */
export type PredictionJobKind = 'predict' | 'embed';

export interface PredictionChunkRow {
  prediction_job_id: number;
  /** What the job does with each image (migration 1764940000000). */
  kind: PredictionJobKind;
  model_version_id: number;
  filter: ImageFilter;
  first_image_id: string;
  last_image_id: string;
  position_image_id: string | null;
}

/** The chunk with its job's model version and filter. */
export async function readPredictionChunk(dataSource: DataSource, id: number): Promise<PredictionChunkRow> {
  const rows: PredictionChunkRow[] = await dataSource.query(
    `SELECT c.prediction_job_id, j.kind, j.model_version_id, j.filter, c.first_image_id::text AS first_image_id, c.last_image_id::text AS last_image_id,
            c.position_image_id::text AS position_image_id
       FROM prediction_chunks c JOIN prediction_jobs j ON j.id = c.prediction_job_id WHERE c.id = $1`,
    [id],
  );
  if (rows.length === 0) throw new Error(`prediction chunk ${id} does not exist`);
  return rows[0];
}

/** The job of a chunk, or null when the chunk does not exist. */
export async function predictionJobOfChunk(dataSource: DataSource, chunkId: number): Promise<number | null> {
  const rows: { prediction_job_id: number }[] = await dataSource.query(`SELECT prediction_job_id FROM prediction_chunks WHERE id = $1`, [
    chunkId,
  ]);
  return rows.length > 0 ? Number(rows[0].prediction_job_id) : null;
}

/** The first chunk to start marks its queued job running. */
export async function markPredictionJobRunning(dataSource: DataSource, jobId: number): Promise<void> {
  await dataSource.query(
    `UPDATE prediction_jobs SET status = 'running', started_at = COALESCE(started_at, now()) WHERE id = $1 AND status = 'queued'`,
    [jobId],
  );
}

/**
 * Adds a page to the chunk's and the job's progress (inside the transaction that stores the page's
 * predictions), fenced on the lease; returns the cancel flag.
 */
export async function recordChunkProgress(
  manager: EntityManager,
  lease: Lease,
  page: { images: number; lastImageId: string; unreadable: number },
): Promise<boolean> {
  const rows: { cancel_requested: boolean }[] = await manager.query(
    `WITH chunk AS (
       UPDATE prediction_chunks SET done = done + $3, position_image_id = $4, heartbeat_at = now(),
              error = CASE WHEN $5::int > 0 THEN concat_ws('; ', error, $5::int || ' image(s) could not be read') ELSE error END
        WHERE id = $1 AND worker = $2 AND status = 'running'
        RETURNING prediction_job_id, cancel_requested),
     job AS (UPDATE prediction_jobs j SET done = j.done + $3 FROM chunk WHERE j.id = chunk.prediction_job_id RETURNING j.id)
     SELECT cancel_requested FROM chunk`,
    [lease.id, lease.worker, page.images, page.lastImageId, page.unreadable],
  );
  if (rows.length === 0) throw new LeaseLost(`prediction chunk ${lease.id} is no longer leased to ${lease.worker}`);
  return rows[0].cancel_requested;
}
