/**
 * The PostgreSQL job queue between the API and the model servers (pg-boss 10).
 *
 * Two queues: `training` (payload: a training_runs id) and `prediction` (a prediction_chunks id: one
 * range of a batch prediction's images, so the chunks of one job spread over every model server).
 * The rows in training_runs / prediction_chunks are the product's record; a pg-boss job only says "someone
 * must work on this row". pg-boss hands each job to one worker at a time and retries a failed one;
 * a worker that died is detected by its stale lease (src/db/leases.ts, src/jobs/lease-watchdog.ts), which fails its job so pg-boss
 * retries it on another server.
 *
 * pg-boss 10 drops `send` to a queue that was never created without an error, so every process that
 * opens the queue creates both queues first (createQueue is idempotent). pg-boss's schema install and
 * createQueue are not safe to run in two processes at once (`deadlock detected`), so both happen under
 * an advisory lock (src/db/advisory-lock.ts).
 */
import PgBoss from 'pg-boss';
import { ADVISORY_LOCKS, withAdvisoryLockAt } from '../db/advisory-lock';
import { PREDICTION_QUEUE, TRAINING_QUEUE, type QueueName } from './queue-names';

export { PREDICTION_QUEUE, TRAINING_QUEUE, type QueueName };

export interface TrainingJobData {
  runId: number;
}
export interface PredictionJobData {
  predictionJobId: number;
  chunkId: number;
}

export interface JobQueueOptions {
  /** Attempts after the first (a dead worker's job is retried this many times). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** pg-boss maintenance interval (expiry, retention); our own leases detect dead workers sooner. */
  maintenanceIntervalSeconds?: number;
  /** Connections of pg-boss's own pool. */
  poolSize?: number;
}

/** Jobs never expire by pg-boss's clock before a day: training runs are long; leases catch dead workers. */
const EXPIRE_SECONDS = 23 * 60 * 60;

export class JobQueue {
  private constructor(readonly boss: PgBoss) {}

  static async open(databaseUrl: string, options: JobQueueOptions = {}): Promise<JobQueue> {
    const boss = new PgBoss({
      connectionString: databaseUrl,
      max: options.poolSize ?? 4,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 60,
      schedule: false,
    });
    boss.on('error', (error: unknown) => console.error('[kfashion] job queue error:', error));
    try {
      await withAdvisoryLockAt(databaseUrl, ADVISORY_LOCKS.jobQueue, async () => {
        await boss.start();
        for (const name of [TRAINING_QUEUE, PREDICTION_QUEUE]) {
          await boss.createQueue(name, {
            name,
            retryLimit: options.retryLimit ?? 3,
            retryDelay: options.retryDelaySeconds ?? 1,
            expireInSeconds: EXPIRE_SECONDS,
          });
        }
      });
    } catch (error) {
      await boss.stop({ graceful: false, wait: true, close: true }).catch(() => undefined);
      throw error;
    }
    return new JobQueue(boss);
  }

  async sendTraining(data: TrainingJobData): Promise<string> {
    return this.send(TRAINING_QUEUE, data);
  }

  /** Queues one pg-boss job per chunk in one statement, under the ids given (the chunk rows record them). */
  async insertPredictionChunks(chunks: { id: string; data: PredictionJobData }[]): Promise<void> {
    if (chunks.length > 0) await this.boss.insert(chunks.map((chunk) => ({ name: PREDICTION_QUEUE, ...chunk })));
  }

  private async send(queue: QueueName, data: object): Promise<string> {
    const id = await this.boss.send(queue, data);
    if (!id) throw new Error(`job queue "${queue}" refused the job ${JSON.stringify(data)}`);
    return id;
  }

  /** Takes at most one job of the queue (it becomes active and is this caller's until completed or failed). */
  async fetchOne<T extends object>(queue: QueueName): Promise<PgBoss.Job<T> | null> {
    const jobs = await this.boss.fetch<T>(queue, { batchSize: 1 });
    return jobs.length > 0 ? jobs[0] : null;
  }

  complete(queue: QueueName, id: string, output: object = {}): Promise<void> {
    return this.boss.complete(queue, id, output);
  }

  /** Fails the job: pg-boss retries it while retries are left. */
  fail(queue: QueueName, id: string, reason: string): Promise<void> {
    return this.boss.fail(queue, id, { message: reason });
  }

  /** Cancels a job that has not started (a started one is stopped through its row's cancel flag). */
  cancel(queue: QueueName, id: string | string[]): Promise<void> {
    return this.boss.cancel(queue, id as string[]);
  }

  async job(queue: QueueName, id: string): Promise<PgBoss.JobWithMetadata<object> | null> {
    return this.boss.getJobById<object>(queue, id);
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true, close: true });
  }
}
