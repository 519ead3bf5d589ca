/**
 * The watchdog every model server runs: rows whose worker stopped sending heartbeats go back to
 * `queued`, and their pg-boss jobs are failed so that pg-boss retries them (or gives up after its retry
 * limit: then the row is failed too).
 */
import type { DataSource } from 'typeorm';
import type { JobQueue, QueueName } from '../jobs/queue';
import { failRequeued, requeueStale, type LeasedTable, type ReapedRow } from '../db/leases';
import { appendRunLog } from '../db/training-progress';

export async function reapStale(
  dataSource: DataSource,
  queue: JobQueue,
  table: LeasedTable,
  queueName: QueueName,
  staleSeconds: number,
  log: (line: string) => void,
): Promise<ReapedRow[]> {
  const reaped = await requeueStale(dataSource, table, staleSeconds);
  for (const row of reaped) {
    const reason = `worker ${row.worker ?? '?'} sent no heartbeat for ${staleSeconds} s; the job is retried`;
    log(`${table} ${row.id}: ${reason}`);
    if (table === 'training_runs') await appendRunLog(dataSource, row.id, reason);
    if (!row.jobId) continue;
    await queue.fail(queueName, row.jobId, reason);
    const job = await queue.job(queueName, row.jobId);
    if (job?.state === 'failed') await failRequeued(dataSource, table, row.id, `no retries left after: ${reason}`);
  }
  return reaped;
}
