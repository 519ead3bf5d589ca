/**
 * Leases on training runs and prediction chunks: which worker owns a row, and whether it is alive.
 *
 * A worker claims a row when pg-boss gives it the row's job, then refreshes `heartbeat_at` while it
 * works. Every write of a worker is fenced on `worker = <its name>`: when the row was taken away (a
 * watchdog decided the worker was dead, or the run was cancelled), the write matches no row and the
 * worker gets LeaseLost and stops. A watchdog in every model server and in the API of `kfashion serve` (src/jobs/lease-watchdog.ts)
 * puts a row whose heartbeat is older than the lease timeout back to `queued` (`requeueStale`) and
 * fails its pg-boss job, so that pg-boss retries it and the next worker resumes from the last
 * checkpoint.
 */
import type { DataSource } from 'typeorm';
import { changedRows } from './sql';

export type LeasedTable = 'training_runs' | 'prediction_chunks';

/** The row is no longer this worker's (stale lease taken over, or finished by someone else). */
export class LeaseLost extends Error {}

export interface Lease {
  table: LeasedTable;
  id: number;
  worker: string;
}

export interface LeaseState {
  cancelRequested: boolean;
}

/**
 * Takes the row for `worker` if nobody else holds a live lease on it. Returns false when the row is
 * finished, cancelled, or held by a live worker (then the job must not run twice).
 */
export async function claim(dataSource: DataSource, lease: Lease, jobId: string, staleSeconds: number): Promise<LeaseState | null> {
  const attempt = lease.table === 'training_runs' ? ', attempt = attempt + 1' : '';
  const rows = await changedRows<{ cancel_requested: boolean }>(
    dataSource,
    `UPDATE ${lease.table}
        SET status = 'running', worker = $2, job_id = $3, heartbeat_at = now(),
            started_at = COALESCE(started_at, now())${attempt}
      WHERE id = $1
        AND (status = 'queued'
             OR (status = 'running' AND (worker IS NULL OR heartbeat_at < now() - make_interval(secs => $4))))
      RETURNING cancel_requested`,
    [lease.id, lease.worker, jobId, staleSeconds],
  );
  return rows.length > 0 ? { cancelRequested: rows[0].cancel_requested } : null;
}

/** Refreshes the heartbeat; throws LeaseLost when the row is not this worker's running row any more. */
export async function heartbeat(dataSource: DataSource, lease: Lease): Promise<LeaseState> {
  const rows = await changedRows<{ cancel_requested: boolean }>(
    dataSource,
    `UPDATE ${lease.table} SET heartbeat_at = now()
      WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING cancel_requested`,
    [lease.id, lease.worker],
  );
  if (rows.length === 0) throw new LeaseLost(`${lease.table} ${lease.id} is no longer leased to ${lease.worker}`);
  return { cancelRequested: rows[0].cancel_requested };
}

/** Finishes the row (succeeded, failed or cancelled), fenced on the lease. */
export async function finish(
  dataSource: DataSource,
  lease: Lease,
  status: 'succeeded' | 'failed' | 'cancelled',
  error: string | null = null,
): Promise<void> {
  const rows = await changedRows<{ id: number }>(
    dataSource,
    `UPDATE ${lease.table} SET status = $3, error = $4, finished_at = now(), heartbeat_at = now()
      WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING id`,
    [lease.id, lease.worker, status, error],
  );
  if (rows.length === 0) throw new LeaseLost(`${lease.table} ${lease.id} is no longer leased to ${lease.worker}`);
}

/** Gives the row back (the worker is shutting down): it is queued again for the job's retry. */
export async function release(dataSource: DataSource, lease: Lease): Promise<void> {
  await dataSource.query(
    `UPDATE ${lease.table} SET status = 'queued', worker = NULL WHERE id = $1 AND worker = $2 AND status = 'running'`,
    [lease.id, lease.worker],
  );
}

export interface ReapedRow {
  id: number;
  jobId: string | null;
  worker: string | null;
}

/** Rows whose worker stopped sending heartbeats for `staleSeconds` go back to `queued`; returns them. */
export async function requeueStale(dataSource: DataSource, table: LeasedTable, staleSeconds: number): Promise<ReapedRow[]> {
  const rows = await changedRows<{ id: number; job_id: string | null; worker: string | null }>(
    dataSource,
    `UPDATE ${table} t SET status = 'queued', worker = NULL
       FROM (SELECT id, worker FROM ${table}
              WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1)
              FOR UPDATE SKIP LOCKED) stale
      WHERE t.id = stale.id
      RETURNING t.id, t.job_id, stale.worker`,
    [staleSeconds],
  );
  return rows.map((r) => ({ id: Number(r.id), jobId: r.job_id, worker: r.worker }));
}

/** Fails a requeued row whose job the queue will not retry again. */
export async function failRequeued(dataSource: DataSource, table: LeasedTable, id: number, error: string): Promise<void> {
  await dataSource.query(`UPDATE ${table} SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status = 'queued'`, [
    id,
    error,
  ]);
}
