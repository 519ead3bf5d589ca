/**
 * Live training-run updates for the `trainingRunUpdated` subscription. Trainers publish with
 * pg_notify('kfashion_training_run', <run id>) after every step (trainer.ts); each API process keeps
 * one LISTEN connection per database and fans notifications out to the subscribers of that run.
 */
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { databaseUrlOf } from '../../db/data-source';
import { TRAINING_CHANNEL } from '../../model-server/channels';

type Listener = () => void;

class RunNotifications {
  private readonly listeners = new Map<number, Set<Listener>>();
  private client: Promise<Client> | null = null;

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
      client.on('error', () => {
        this.client = null;
      });
      await client.query(`LISTEN ${TRAINING_CHANNEL}`);
      return client;
    })();
    this.client.catch(() => (this.client = null));
    return this.client;
  }

  private async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await (await client?.catch(() => null))?.end().catch(() => undefined);
  }
}

const notifications = new WeakMap<DataSource, RunNotifications>();

/** Yields once at once, then after every update of the run, until `isFinished` says it is over. */
export async function* runUpdates(dataSource: DataSource, runId: number, isFinished: () => Promise<boolean>): AsyncGenerator<void> {
  let wake: (() => void) | null = null;
  let pending = true;
  const signal = () => {
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
      yield;
      if (await isFinished()) return;
    }
  } finally {
    unsubscribe();
  }
}
