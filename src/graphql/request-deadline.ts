/**
 * When a request's database work is cancelled (src/db/request-queries.ts): always when its client
 * disconnects before the answer; and when its deadline passes, for queries and the plain routes.
 * Mutations have no deadline: analyzeImage waits for a model server, and cutting a mutation off
 * after that work would throw it away while its client still waits for the answer.
 */
import type { ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode } from 'graphql';
import { RequestQueries, type RequestQueryTracker } from '../db/request-queries';

export class RequestDeadlines {
  private readonly timers = new WeakMap<RequestQueries, NodeJS.Timeout>();

  constructor(
    private readonly tracker: RequestQueryTracker,
    readonly timeoutMs: number,
  ) {}

  /** Starts tracking a request's statements; a disconnect before the answer is complete cancels them. */
  begin(response: ServerResponse): RequestQueries {
    const queries = this.start();
    response.on('close', () => this.end(queries, response.writableFinished));
    return queries;
  }

  /** Starts tracking the statements of a request that ends by `end` (an operation over WebSocket). */
  start(): RequestQueries {
    return new RequestQueries();
  }

  /** The request is over: its deadline stops and, unless it was answered, its running statements are cancelled. */
  end(queries: RequestQueries, answered: boolean): void {
    clearTimeout(this.timers.get(queries));
    if (!answered) void this.tracker.cancel(queries, 'the client closed the connection');
    queries.finished = true;
  }

  /** Starts the deadline of the request running now (once). */
  arm(queries = this.tracker.currentRequest()): void {
    if (!queries || queries.finished || this.timers.has(queries)) return;
    const timer = setTimeout(() => void this.tracker.cancel(queries, `the request took longer than ${this.timeoutMs} ms`), this.timeoutMs);
    timer.unref();
    this.timers.set(queries, timer);
  }

  /** Arms the deadline of GraphQL queries once their operation is known. */
  plugin(): ApolloServerPlugin {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ operation }) => {
          if (operation?.operation !== OperationTypeNode.MUTATION) this.arm();
        },
      }),
    };
  }
}
