/**
 * The lease watchdog: rows whose worker stopped sending heartbeats go back to `queued`, and their
 * pg-boss jobs are failed so that pg-boss retries them (or gives up after its retry limit: then the
 * row is failed too). Every model server runs one, and so does the API of `kfashion serve`: a watchdog
 * must not live only in the process it watches, or a lone model server's death leaves its rows
 * `running` for ever.
 */
import type { DataSource } from 'typeorm';
import { PREDICTION_QUEUE, TRAINING_QUEUE, type JobQueue, type QueueName } from './queue';
import { failRequeued, requeueStale, type LeasedTable, type ReapedRow } from '../db/leases';
import { appendRunLog } from '../db/training-progress';
import { settlePredictionJobs } from '../db/prediction-jobs';

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
    if (row.jobId) await retryJob(dataSource, queue, table, queueName, row.id, row.jobId, reason);
  }
  return reaped;
}

/**
 * Fails the pg-boss job of a row that is `queued` again, so pg-boss retries it; when no retries are
 * left the row is failed too (nobody would ever take it again).
 */
export async function retryJob(
  dataSource: DataSource,
  queue: JobQueue,
  table: LeasedTable,
  queueName: QueueName,
  id: number,
  jobId: string,
  reason: string,
): Promise<void> {
  await queue.fail(queueName, jobId, reason);
  const job = await queue.job(queueName, jobId);
  if (job?.state === 'failed') await failRequeued(dataSource, table, id, `no retries left after: ${reason}`);
}

/** Reaps both leased tables every third of the lease timeout (at least every second) until stopped. */
export class LeaseWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: () => Promise<JobQueue>,
    private readonly leaseTimeoutSeconds: number,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    const tick = () => {
      // One pass at a time: a slow database must not pile passes up.
      if (this.running) return;
      this.running = this.reap()
        .then(() => undefined)
        .catch((error: unknown) => this.log(`watchdog failed: ${(error as Error).message}`))
        .finally(() => (this.running = null));
    };
    this.timer = setInterval(tick, Math.max(1000, (this.leaseTimeoutSeconds * 1000) / 3));
    tick();
  }

  /** One pass over both tables; returns what it handed back. */
  async reap(): Promise<ReapedRow[]> {
    const queue = await this.queue();
    const runs = await reapStale(this.dataSource, queue, 'training_runs', TRAINING_QUEUE, this.leaseTimeoutSeconds, this.log);
    const chunks = await reapStale(this.dataSource, queue, 'prediction_chunks', PREDICTION_QUEUE, this.leaseTimeoutSeconds, this.log);
    // A chunk the watchdog failed (no retries left) may have been its job's last one.
    await settlePredictionJobs(this.dataSource);
    return [...runs, ...chunks];
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
