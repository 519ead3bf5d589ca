/**
 * The database work of one HTTP request, cancellable as a whole: when the request's deadline passes
 * or its client goes away, the statements it is running are cancelled (pg_cancel_backend on their
 * backends) and the statements it would still send are refused, so an abandoned request stops
 * holding pool connections and PostgreSQL time at once instead of at statement_timeout.
 *
 * Requests are told apart with AsyncLocalStorage: every statement sent through the data source
 * (TypeORM's BeforeQuery / AfterQuery events) while a request's work runs belongs to that request,
 * including those of DataLoader batches it started. The backend of a statement is the process id of
 * the pooled connection that runs it. Work that outlives a request (a background rebuild it
 * triggered) must be started through `detached` so it belongs to no request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from 'pg';
import type { DataSource, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { databaseUrlOf } from './data-source';

/** Why a request's statements were cancelled; PostgreSQL's own code for a cancelled statement. */
export class RequestCancelled extends Error {
  readonly code = '57014';
}

/** The statements of one request, and whether it was cancelled. */
export class RequestQueries {
  /** Backend process ids running a statement of this request right now. */
  readonly running = new Set<number>();
  cancelled: RequestCancelled | null = null;
  /** Set when the request answered: statements sent later (background work) are no longer its own. */
  finished = false;
}

type Log = (message: string, error?: unknown) => void;

export class RequestQueryTracker {
  private readonly current = new AsyncLocalStorage<RequestQueries>();
  private readonly subscriber: EntitySubscriberInterface;
  private canceller: Promise<Client> | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly log: Log,
  ) {
    const backendOf = (runner: QueryRunner): number | undefined =>
      (runner as unknown as { databaseConnection?: { processID?: number } }).databaseConnection?.processID ?? undefined;
    this.subscriber = {
      beforeQuery: (event) => {
        const request = this.current.getStore();
        if (!request) return;
        // Inside a transaction every statement goes through, ROLLBACK above all: refusing it would
        // return the connection to the pool with the transaction open. Its cancelled statement
        // already fails the transaction.
        if (request.cancelled && !event.queryRunner?.isTransactionActive) throw request.cancelled;
        if (request.finished || request.cancelled) return;
        const backend = event.queryRunner && backendOf(event.queryRunner);
        if (backend !== undefined) request.running.add(backend);
      },
      afterQuery: (event) => {
        const backend = event.queryRunner && backendOf(event.queryRunner);
        if (backend !== undefined) this.current.getStore()?.running.delete(backend);
      },
    };
    dataSource.subscribers.push(this.subscriber);
  }

  /** Runs a request's work with its statements tracked in `queries`. */
  run<T>(queries: RequestQueries, work: () => Promise<T>): Promise<T> {
    return this.current.run(queries, work);
  }

  /** The request whose work is running now, if any. */
  currentRequest(): RequestQueries | undefined {
    return this.current.getStore();
  }

  /** Runs `work` (and what it starts) as belonging to no request. */
  detached<T>(work: () => T): T {
    return this.current.exit(work);
  }

  /** Cancels the request's running statements and refuses its next ones. */
  async cancel(queries: RequestQueries, reason: string): Promise<void> {
    if (queries.cancelled || queries.finished) return;
    queries.cancelled = new RequestCancelled(reason);
    const backends = [...queries.running];
    if (backends.length === 0) return;
    try {
      // A separate connection: the pool may be exhausted by the very statements being cancelled.
      const client = await this.cancellerClient();
      await client.query(`SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid`, [backends]);
    } catch (error) {
      this.log('cancelling the statements of an abandoned request failed:', error);
    }
  }

  private cancellerClient(): Promise<Client> {
    this.canceller ??= (async () => {
      const client = new Client({ connectionString: databaseUrlOf(this.dataSource) });
      client.on('error', () => (this.canceller = null));
      await client.connect();
      return client;
    })();
    this.canceller.catch(() => (this.canceller = null));
    return this.canceller;
  }

  async close(): Promise<void> {
    const index = this.dataSource.subscribers.indexOf(this.subscriber);
    if (index >= 0) this.dataSource.subscribers.splice(index, 1);
    const client = this.canceller;
    this.canceller = null;
    await (await client?.catch(() => null))?.end().catch(() => undefined);
  }
}
