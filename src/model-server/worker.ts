/**
 * The model server's job loops: one training job at a time and one prediction chunk at a time per
 * process, taken from pg-boss; and the watchdog that hands the jobs of dead workers back to pg-boss.
 *
 * Outcomes of a job:
 * - finished (succeeded or cancelled): the row says so, the pg-boss job is completed;
 * - an error in the work itself (bad data, NaN loss...): the row is failed with the message and the
 *   pg-boss job completed: running it again would fail again;
 * - this process shuts down, or the database failed in a way that says nothing about the work (a
 *   deadlock, a lost connection: isTransientDatabaseError): the row is released and the job failed, so
 *   pg-boss retries it (another server resumes from the checkpoint), or the row is failed when no
 *   retries are left; the process goes on taking jobs either way;
 * - the lease was lost (a watchdog judged this worker dead): the job is someone else's now; untouched.
 */
import * as os from 'node:os';
import type { DataSource } from 'typeorm';
import { claim, finish, heartbeat, type Lease, type LeasedTable } from '../db/leases';
import { runLeased, type LeaseEnd } from './lease-end';
import { predictionJobOfChunk } from '../db/prediction-chunks';
import { LeaseWatchdog, retryJob } from '../jobs/lease-watchdog';
import { isTransientDatabaseError } from '../db/sql';
import type { ModelRegistry } from './models';
import { PredictionInterrupted, runPredictionChunk } from './prediction-chunk';
import { settlePredictionJobs, stopSiblingChunks } from '../db/prediction-jobs';
import {
  PREDICTION_QUEUE,
  TRAINING_QUEUE,
  type JobQueue,
  type PredictionJobData,
  type QueueName,
  type TrainingJobData,
} from '../jobs/queue';
import { runTraining, TrainingInterrupted } from './training/trainer';
import { uploadsDir } from '../util/data-dir';

export interface WorkerOptions {
  dataSource: DataSource;
  queue: JobQueue;
  registry: ModelRegistry;
  dataDir: string;
  /** This worker's name in the rows it leases (default host:pid). */
  name?: string;
  /** A lease without heartbeat for this long belongs to a dead worker (must exceed one training step). */
  leaseTimeoutSeconds?: number;
  pollIntervalMs?: number;
  /** Which queues this process works (default both). */
  queues?: QueueName[];
  log?: (line: string) => void;
}

export function defaultWorkerName(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener behind either way. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

export class JobWorker {
  readonly name: string;
  private readonly leaseTimeout: number;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly watchdog: LeaseWatchdog;
  private readonly log: (line: string) => void;

  constructor(private readonly options: WorkerOptions) {
    this.name = options.name ?? defaultWorkerName();
    this.leaseTimeout = options.leaseTimeoutSeconds ?? 120;
    this.log = options.log ?? ((line) => console.error(`[model-server] ${line}`));
    this.watchdog = new LeaseWatchdog(options.dataSource, async () => options.queue, this.leaseTimeout, this.log);
  }

  start(): void {
    const queues = this.options.queues ?? [TRAINING_QUEUE, PREDICTION_QUEUE];
    for (const queue of queues) this.loops.push(this.loop(queue));
    this.watchdog.start();
  }

  /** Stops taking jobs; a running job stops after its current step and is handed back to the queue. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.watchdog.stop();
    await Promise.all(this.loops);
  }

  private async loop(queue: QueueName): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const job = await this.options.queue.fetchOne<TrainingJobData & PredictionJobData>(queue);
        if (!job) {
          await sleep(this.options.pollIntervalMs ?? 1000, signal);
          continue;
        }
        const id = queue === TRAINING_QUEUE ? job.data.runId : job.data.chunkId;
        await this.work(queue, job.id, { table: queue === TRAINING_QUEUE ? 'training_runs' : 'prediction_chunks', id, worker: this.name });
      } catch (error) {
        this.log(`${queue} loop: ${(error as Error).message}`);
        await sleep(this.options.pollIntervalMs ?? 1000, signal);
      }
    }
  }

  private async work(queue: QueueName, jobId: string, lease: Lease): Promise<void> {
    const { dataSource } = this.options;
    const state = await claim(dataSource, lease, jobId, this.leaseTimeout);
    if (!state) {
      // Finished, cancelled, or held by a live worker: this job must not run it again.
      await this.options.queue.complete(queue, jobId, { skipped: `${lease.table} ${lease.id} was not claimable` });
      return;
    }
    if (state.cancelRequested) {
      await finish(dataSource, lease, 'cancelled');
      await this.settle(lease);
      await this.options.queue.complete(queue, jobId, { cancelled: true });
      return;
    }
    this.log(`${this.name} took ${lease.table} ${lease.id} (job ${jobId})`);
    const beat = setInterval(() => void heartbeat(dataSource, lease).catch(() => undefined), Math.max(500, (this.leaseTimeout * 1000) / 4));
    try {
      const end = await runLeased(dataSource, lease, () => this.run(lease.table, lease), {
        handBack: (error) =>
          error instanceof TrainingInterrupted || error instanceof PredictionInterrupted || isTransientDatabaseError(error),
        reported: (error) => this.options.registry.afterBackendError(error),
      });
      await this.afterEnd(queue, jobId, lease, end);
    } finally {
      clearInterval(beat);
    }
  }

  private async run(table: LeasedTable, lease: Lease): Promise<'succeeded' | 'cancelled'> {
    const { dataSource, dataDir, registry } = this.options;
    const signal = this.abort.signal;
    if (table === 'training_runs') {
      const outcome = await runTraining({ dataSource, lease, dataDir, signal, log: (line) => this.log(`run ${lease.id}: ${line}`) });
      return outcome.status;
    }
    return runPredictionChunk({ dataSource, lease, registry, uploadsDir: uploadsDir(dataDir), signal, log: this.log });
  }

  /** The queue's side of a leased job's end (the row's side is recorded by runLeased). */
  private async afterEnd(queue: QueueName, jobId: string, lease: Lease, end: LeaseEnd): Promise<void> {
    const what = `${lease.table} ${lease.id}`;
    if (end.kind === 'lost') return this.log(`${what}: lease lost, stopping (${end.reason})`);
    if (end.kind === 'handed back') {
      await retryJob(this.options.dataSource, this.options.queue, lease.table, queue, lease.id, jobId, end.reason);
      // Failed for good when no retries were left: that may have been its job's last chunk.
      await this.settle(lease);
      return this.log(`${what}: handed back to the queue (${end.reason})`);
    }
    if (end.kind === 'failed') {
      // The cause is whatever the failing library attached; its String() is what the log shows.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      const cause = end.error instanceof Error && end.error.cause !== undefined ? ` (${String(end.error.cause)})` : '';
      this.log(`${what} failed: ${end.message}${cause}`);
      if (lease.table === 'prediction_chunks') await stopSiblingChunks(this.options.dataSource, lease.id);
    }
    await this.settle(lease);
    await this.options.queue.complete(queue, jobId, end.kind === 'failed' ? { error: end.message } : { status: end.status });
    if (end.kind === 'finished') this.log(`${what}: ${end.status}`);
  }

  /** A finished chunk may be its job's last: the job's status follows from its chunks. */
  private async settle(lease: Lease): Promise<void> {
    if (lease.table !== 'prediction_chunks') return;
    const jobId = await predictionJobOfChunk(this.options.dataSource, lease.id);
    if (jobId !== null) await settlePredictionJobs(this.options.dataSource, jobId);
  }
}
