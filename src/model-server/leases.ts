/**
 * Leases on training runs and prediction chunks: which worker owns a row, and whether it is alive.
 *
 * A worker claims a row when pg-boss gives it the row's job, then refreshes `heartbeat_at` while it
 * works. Every write of a worker is fenced on `worker = <its name>`: when the row was taken away (a
 * watchdog decided the worker was dead, or the run was cancelled), the write matches no row and the
 * worker gets LeaseLost and stops. The watchdog (`reapStale`) runs in every model server: a row whose
 * heartbeat is older than the lease timeout goes back to `queued` and its pg-boss job is failed, so
 * that pg-boss retries it and the next worker resumes from the last checkpoint.
 */
import type { DataSource } from 'typeorm';
import type { JobQueue, QueueName } from '../jobs/queue';
import { changedRows } from '../db/sql';

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
export async function claim(
  dataSource: DataSource,
  lease: Lease,
  jobId: string,
  staleSeconds: number,
): Promise<LeaseState | null> {
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

/**
 * Rows whose worker stopped sending heartbeats go back to `queued`, and their pg-boss jobs are failed
 * so that pg-boss retries them (or gives up after its retry limit: then the row is failed too).
 */
export async function reapStale(
  dataSource: DataSource,
  queue: JobQueue,
  table: LeasedTable,
  queueName: QueueName,
  staleSeconds: number,
  log: (line: string) => void,
): Promise<ReapedRow[]> {
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
  const reaped = rows.map((r) => ({ id: Number(r.id), jobId: r.job_id, worker: r.worker }));
  for (const row of reaped) {
    const reason = `worker ${row.worker ?? '?'} sent no heartbeat for ${staleSeconds} s; the job is retried`;
    log(`${table} ${row.id}: ${reason}`);
    if (table === 'training_runs') await appendRunLog(dataSource, row.id, reason);
    if (!row.jobId) continue;
    await queue.fail(queueName, row.jobId, reason);
    const job = await queue.job(queueName, row.jobId);
    if (job?.state === 'failed') {
      await dataSource.query(
        `UPDATE ${table} SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status = 'queued'`,
        [row.id, `no retries left after: ${reason}`],
      );
    }
  }
  return reaped;
}

/** Appends one timestamped line to a training run's log. */
export async function appendRunLog(dataSource: DataSource, runId: number, line: string): Promise<void> {
  await dataSource.query(`UPDATE training_runs SET log = log || $2 WHERE id = $1`, [
    runId,
    `${new Date().toISOString()} ${line}\n`,
  ]);
}
