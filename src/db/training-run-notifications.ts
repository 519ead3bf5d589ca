/**
 * Notifications of training-run progress: trainers publish with pg_notify('kfashion_training_run',
 * <run id>) after every step; one LISTEN connection per API process fans them out to the listeners of
 * that run. When that connection drops (a restart, pg_terminate_backend), it reconnects and LISTENs
 * again with exponential backoff, then wakes every listener so it re-reads its run (notifications
 * sent in the gap are lost, the run's state is not); after the last attempt listeners get an error.
 */
import { Client } from 'pg';
import { TRAINING_CHANNEL } from '../jobs/channels';

/** Called on a notification of the run, after a reconnection, or with the error that ended the updates. */
export type RunListener = (failure?: Error) => void;

/** Reconnection delays: `firstMs`, doubling up to `maxMs`, for `attempts` tries (about a minute by default). */
export const RECONNECT_BACKOFF = { firstMs: 250, maxMs: 10_000, attempts: 10 };

export class RunNotifications {
  private readonly listeners = new Map<number, Set<RunListener>>();
  private client: Promise<Client> | null = null;
  private reconnecting = false;

  constructor(
    private readonly url: string,
    /** The error subscribers get when the connection cannot be restored. */
    private readonly updatesLost: () => Error,
  ) {}

  async subscribe(runId: number, listener: RunListener): Promise<() => void> {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    await this.connect();
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
      if (this.listeners.size === 0) void this.close();
    };
  }

  private connect(): Promise<Client> {
    this.client ??= (async () => {
      const client = new Client({ connectionString: this.url });
      await client.connect();
      client.on('notification', (message) => {
        for (const listener of this.listeners.get(Number(message.payload)) ?? []) listener();
      });
      const lost = () => this.lost(client);
      client.on('error', lost);
      client.on('end', lost);
      await client.query(`LISTEN ${TRAINING_CHANNEL}`);
      return client;
    })();
    this.client.catch(() => (this.client = null));
    return this.client;
  }

  /** The LISTEN connection ended: reconnect while anyone listens. */
  private lost(client: Client): void {
    void this.client?.then(
      (current) => {
        if (current !== client) return;
        this.client = null;
        client.end().catch(() => undefined);
        if (this.listeners.size > 0 && !this.reconnecting) void this.reconnect();
      },
      () => undefined,
    );
  }

  private async reconnect(): Promise<void> {
    this.reconnecting = true;
    try {
      let delay = RECONNECT_BACKOFF.firstMs;
      for (let attempt = 0; attempt < RECONNECT_BACKOFF.attempts && this.listeners.size > 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RECONNECT_BACKOFF.maxMs);
        if (
          await this.connect().then(
            () => true,
            () => false,
          )
        )
          return this.notifyAll();
      }
      this.notifyAll(this.updatesLost());
    } finally {
      this.reconnecting = false;
    }
  }

  private notifyAll(failure?: Error): void {
    for (const set of [...this.listeners.values()]) for (const listener of [...set]) listener(failure);
  }

  /** Ends the LISTEN connection (server stop; also when the last subscriber leaves). */
  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await (await client?.catch(() => null))?.end().catch(() => undefined);
  }
}
