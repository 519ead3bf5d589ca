/**
 * The API's handle on the job queue (pg-boss on the API's own database): opened on first use, since
 * most API processes never start a job, and closed with the server.
 */
import { JobQueue } from '../../jobs/queue';

export class JobQueueHandle {
  private queue: Promise<JobQueue> | null = null;

  constructor(private readonly databaseUrl: string) {}

  get(): Promise<JobQueue> {
    if (!this.queue) {
      this.queue = JobQueue.open(this.databaseUrl, { poolSize: 2 });
      this.queue.catch(() => (this.queue = null));
    }
    return this.queue;
  }

  async close(): Promise<void> {
    const open = this.queue;
    this.queue = null;
    if (open) await (await open.catch(() => null))?.stop();
  }
}
