/**
 * A batch prediction job (predictImages): every image matching the job's filter, in id order, is
 * predicted with the job's model version and stored as PREDICTION garments. Progress (`done`, and
 * `last_image_id` as keyset position) is written after each page in a statement fenced on the lease,
 * which also reads the cancel flag; a retried job continues after `last_image_id`. An image that
 * cannot be read is counted in `progress`-style fields (`failed`) and skipped.
 */
import type { DataSource } from 'typeorm';
import { SearchService, type ImageFilter } from '../db/search';
import { storePredictions } from '../db/predictions';
import { LeaseLost, type Lease } from './leases';
import { changedRows } from './sql';
import type { ModelRegistry } from './models';
import { readStoredImage, storedImages, toStoredPixels } from './image-files';

export const PREDICTION_PAGE = 16;

export interface PredictionJobOptions {
  dataSource: DataSource;
  lease: Lease;
  registry: ModelRegistry;
  uploadsDir: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export class PredictionInterrupted extends Error {}

export async function runPredictionJob(options: PredictionJobOptions): Promise<'succeeded' | 'cancelled'> {
  const { dataSource, lease, registry } = options;
  const rows: { model_version_id: number; filter: ImageFilter; last_image_id: string | null; total: number | null }[] = await dataSource.query(
    `SELECT model_version_id, filter, last_image_id, total FROM prediction_jobs WHERE id = $1`,
    [lease.id],
  );
  if (rows.length === 0) throw new Error(`prediction job ${lease.id} does not exist`);
  const job = rows[0];
  const loaded = await registry.get(Number(job.model_version_id));
  const search = new SearchService(dataSource);
  let after = job.last_image_id;
  for (;;) {
    const page = await search.images(job.filter, { first: PREDICTION_PAGE, afterId: after });
    if (job.total === null) {
      job.total = await page.count();
      await dataSource.query(`UPDATE prediction_jobs SET total = $2 WHERE id = $1`, [lease.id, job.total]);
    }
    if (page.rows.length === 0) break;
    const images = await storedImages(dataSource, page.rows.map((r) => r.id), options.uploadsDir);
    let failed = 0;
    await Promise.all(images.map(async (image) => {
      try {
        const decoded = await readStoredImage(image);
        const detections = await loaded.batcher.run(decoded);
        await storePredictions(dataSource, image.id, loaded.version, toStoredPixels(detections, decoded, image));
      } catch (error) {
        failed++;
        options.log?.(`prediction job ${lease.id}: image ${image.id} skipped: ${(error as Error).message}`);
      }
    }));
    after = page.rows[page.rows.length - 1].id;
    const fenced = await changedRows<{ cancel_requested: boolean }>(
      dataSource,
      `UPDATE prediction_jobs SET done = done + $3, last_image_id = $4, heartbeat_at = now(),
              error = CASE WHEN $5::int > 0 THEN concat_ws('; ', error, $5::int || ' image(s) could not be read') ELSE error END
        WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING cancel_requested`,
      [lease.id, lease.worker, page.rows.length, after, failed],
    );
    if (fenced.length === 0) throw new LeaseLost(`prediction job ${lease.id} is no longer leased to ${lease.worker}`);
    if (fenced[0].cancel_requested) return 'cancelled';
    if (options.signal?.aborted) throw new PredictionInterrupted(`prediction job ${lease.id} stopped: the worker is shutting down`);
    if (!page.hasNextPage) break;
  }
  return 'succeeded';
}
