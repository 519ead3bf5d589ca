/**
 * The database answers (GET /health), and telling "the database is down" from other failures.
 *
 * The probe has a connection of its own, outside the pool: operations that hold every pooled
 * connection (a burst of costly queries, statements waiting on a lock) must not make a live
 * database look dead, nor hold /health behind them.
 */
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { databaseUrlOf } from './data-source';

/** Longest the probe waits for its connection or its answer. */
const PROBE_TIMEOUT_MS = 5_000;

export class DatabaseProbe {
  private client: Promise<Client> | null = null;

  constructor(private readonly dataSource: DataSource) {}

  /** Resolves when the database answers `SELECT 1`; throws when it does not. */
  async ping(): Promise<void> {
    try {
      const client = await this.connection();
      await client.query('SELECT 1');
    } catch (error) {
      this.drop();
      throw error;
    }
  }

  private connection(): Promise<Client> {
    this.client ??= (async () => {
      const client = new Client({
        connectionString: databaseUrlOf(this.dataSource),
        connectionTimeoutMillis: PROBE_TIMEOUT_MS,
        query_timeout: PROBE_TIMEOUT_MS,
      });
      client.on('error', () => this.drop());
      await client.connect();
      return client;
    })();
    return this.client;
  }

  private drop(): void {
    const client = this.client;
    this.client = null;
    void client?.then((connected) => connected.end()).catch(() => {});
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.then((connected) => connected.end()).catch(() => {});
  }
}

/** Node's codes of a connection that failed, and PostgreSQL's of a server that is going away or full. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
/** What pg and TypeORM say when there is no connection to run a statement on. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|Client has encountered a connection error|Driver not Connected/i;

/** True when `error` says the database cannot be reached (rather than that a statement failed). */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Duck-typed, not `instanceof Error`: pg's errors may come from another realm, and graphql-js
  // wraps a thrown value that is not an Error of its own realm (keeping it as `thrownValue`).
  for (let cause = error, hops = 0; typeof cause === 'object' && cause !== null && hops < 4; hops++) {
    const { code, name, message, driverError, thrownValue, originalError } = cause as Record<string, unknown>;
    // Class 08 is PostgreSQL's "connection exception".
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || /^08/.test(code))) return true;
    if (name === 'ConnectionIsNotSetError' || (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message))) return true;
    cause = driverError ?? thrownValue ?? originalError ?? (cause as { cause?: unknown }).cause;
  }
  return false;
}
