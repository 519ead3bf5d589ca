/** A prediction job's row as the API shows it (null when it does not exist; ./prediction-jobs.ts creates and cancels jobs). */
import type { DataSource } from 'typeorm';

export async function findPredictionJob(dataSource: DataSource, id: number): Promise<Record<string, unknown> | null> {
  const rows: Record<string, unknown>[] = await dataSource.query(`SELECT * FROM prediction_jobs WHERE id = $1`, [id]);
  return rows[0] ?? null;
}
