/**
 * Session advisory locks that serialise set-up work between processes sharing one database: model
 * servers started at the same moment (the compose files start up to eight) would otherwise run the
 * migrations, or pg-boss's schema and queue creation, at once, and all but one fail (duplicate
 * catalogue rows, or `deadlock detected`).
 *
 * The lock is taken with pg_try_advisory_lock in a loop rather than pg_advisory_lock, because a
 * waiting pg_advisory_lock is a statement the connection's statement_timeout would cancel, while the
 * holder may legitimately take longer (a large migration).
 */
import { Client } from 'pg';
import type { DataSource } from 'typeorm';

/** The advisory lock keys of this application (one namespace, so they cannot meet another program's). */
export const ADVISORY_LOCKS = {
  /** Held while pending migrations are applied. */
  migrations: 0x6b660001,
  /** Held while pg-boss installs its schema and the queues are created. */
  jobQueue: 0x6b660002,
} as const;

const POLL_MS = 100;
/** Longest wait for the lock: set-up that takes longer is stuck, and waiting on would hide it. */
const MAX_WAIT_MS = 10 * 60_000;

type Query = (sql: string, params: unknown[]) => Promise<{ locked: boolean }[]>;

async function holding<T>(query: Query, key: number, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + MAX_WAIT_MS;
  while (!(await query('SELECT pg_try_advisory_lock($1) AS locked', [key]))[0].locked) {
    if (Date.now() > deadline) throw new Error(`database set-up lock ${key} still held by another process after ${MAX_WAIT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await work();
  } finally {
    await query('SELECT pg_advisory_unlock($1) AS locked', [key]);
  }
}

/** Runs `work` while this process holds the lock `key`, on a connection of the data source's pool. */
export async function withAdvisoryLock<T>(dataSource: DataSource, key: number, work: () => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    return await holding((sql, params) => runner.query(sql, params), key, work);
  } finally {
    await runner.release();
  }
}

/** Runs `work` while this process holds the lock `key`, on a connection of its own to `databaseUrl`. */
export async function withAdvisoryLockAt<T>(databaseUrl: string, key: number, work: () => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await holding(async (sql, params) => (await client.query<{ locked: boolean }>(sql, params)).rows, key, work);
  } finally {
    await client.end();
  }
}
