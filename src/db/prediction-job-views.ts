/** Prediction jobs' rows as the API shows them (./prediction-jobs.ts creates and cancels jobs). */
import type { DataSource } from 'typeorm';
import type { RunStatus } from './entities';
import { pageOfRows, type NewestFirstPage, type RowPage } from './newest-first';

export type PredictionJobRow = Record<string, unknown>;

/** The job's row, or null when it does not exist. */
export async function findPredictionJob(dataSource: DataSource, id: number): Promise<PredictionJobRow | null> {
  return (await predictionJobsByIds(dataSource, [id]))[0] ?? null;
}

export async function predictionJobsByIds(dataSource: DataSource, ids: readonly number[]): Promise<PredictionJobRow[]> {
  return dataSource.query(`SELECT * FROM prediction_jobs WHERE id = ANY($1::int[])`, [ids]);
}

/** A page of jobs newest first, optionally of one status. */
export async function listPredictionJobs(
  dataSource: DataSource,
  status: RunStatus | null,
  page: NewestFirstPage,
): Promise<RowPage<PredictionJobRow>> {
  const rows: PredictionJobRow[] = await dataSource.query(
    `SELECT * FROM prediction_jobs WHERE ($1::text IS NULL OR status = $1) AND ($2::int IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [status, page.beforeId, page.limit + 1],
  );
  return pageOfRows(rows, page.limit);
}

export async function countPredictionJobs(dataSource: DataSource, status: RunStatus | null): Promise<number> {
  const rows: { count: number }[] = await dataSource.query(
    `SELECT count(*)::int AS count FROM prediction_jobs WHERE ($1::text IS NULL OR status = $1)`,
    [status],
  );
  return rows[0].count;
}
