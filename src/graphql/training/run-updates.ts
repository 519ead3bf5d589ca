/**
 * Live training-run updates for the `trainingRunUpdated` subscription. Trainers publish with
 * pg_notify('kfashion_training_run', <run id>) after every step (trainer.ts); each API process keeps
 * one LISTEN connection per database and fans notifications out to the subscribers of that run.
 * When that connection drops (a restart, pg_terminate_backend), it reconnects and LISTENs again
 * with exponential backoff, then wakes every subscriber so it re-reads its run (notifications sent
 * in the gap are lost, the run's state is not); after the last attempt subscribers get an error.
 */
import { GraphQLError } from 'graphql';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { databaseUrlOf } from '../../db/data-source';
import { TRAINING_CHANNEL } from '../../jobs/channels';

/** Called on a notification of the run, after a reconnection, or with the error that ended the updates. */
type Listener = (failure?: Error) => void;

/** Reconnection delays: `firstMs`, doubling up to `maxMs`, for `attempts` tries (about a minute by default). */
export const RECONNECT_BACKOFF = { firstMs: 250, maxMs: 10_000, attempts: 10 };

const UPDATES_LOST = () =>
  new GraphQLError('live updates stopped: the connection to the database was lost and could not be restored; subscribe again later', {
    extensions: { code: 'UPDATES_UNAVAILABLE' },
  });

class RunNotifications {
  private readonly listeners = new Map<number, Set<Listener>>();
  private client: Promise<Client> | null = null;
  private reconnecting = false;

  constructor(private readonly url: string) {}

  async subscribe(runId: number, listener: Listener): Promise<() => void> {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    await this.connect();
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.listeners.delete(runId);
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
    void this.client?.then((current) => {
      if (current !== client) return;
      this.client = null;
      client.end().catch(() => undefined);
      if (this.listeners.size > 0 && !this.reconnecting) void this.reconnect();
    }, () => undefined);
  }

  private async reconnect(): Promise<void> {
    this.reconnecting = true;
    try {
      let delay = RECONNECT_BACKOFF.firstMs;
      for (let attempt = 0; attempt < RECONNECT_BACKOFF.attempts && this.listeners.size > 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RECONNECT_BACKOFF.maxMs);
        if (await this.connect().then(() => true, () => false)) return this.notifyAll();
      }
      this.notifyAll(UPDATES_LOST());
    } finally {
      this.reconnecting = false;
    }
  }

  private notifyAll(failure?: Error): void {
    for (const set of [...this.listeners.values()]) for (const listener of [...set]) listener(failure);
  }

  private async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await (await client?.catch(() => null))?.end().catch(() => undefined);
  }
}

const notifications = new WeakMap<DataSource, RunNotifications>();

/** Yields once at once, then after every update of the run, until `isFinished` says it is over; throws when updates are lost for good. */
export async function* runUpdates(dataSource: DataSource, runId: number, isFinished: () => Promise<boolean>): AsyncGenerator<void> {
  let wake: (() => void) | null = null;
  let pending = true;
  let failure: Error | undefined;
  const signal: Listener = (error) => {
    failure ??= error;
    pending = true;
    wake?.();
  };
  let hub = notifications.get(dataSource);
  if (!hub) notifications.set(dataSource, (hub = new RunNotifications(databaseUrlOf(dataSource))));
  const unsubscribe = await hub.subscribe(runId, signal);
  try {
    for (;;) {
      if (!pending) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      pending = false;
      if (failure) throw failure;
      yield;
      if (await isFinished()) return;
    }
  } finally {
    unsubscribe();
  }
}
