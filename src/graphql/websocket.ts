/**
 * GraphQL over WebSocket (graphql-ws protocol, `ws` server) on the API's HTTP server, same path as
 * HTTP queries (/graphql). Every operation takes the path HTTP operations take through Apollo,
 * from the same OperationPolicy: the request-shape checks, the parser's token bound, the
 * validation rules (introspection), the work limits and the expensive gate, the deadline and the
 * cancellation of its statements when the socket closes, and the same error formatting.
 *
 * The token is checked again for every message and before every subscription event, so a token
 * revoked (or a role lowered) mid-subscription stops what it receives; each event runs with a
 * fresh context (fresh DataLoaders), so fields like `attempts` are read anew for every event.
 */
import type * as http from 'node:http';
import { createSourceEventStream, execute, ExecutionArgs, ExecutionResult, GraphQLError, GraphQLSchema, OperationTypeNode } from 'graphql';
import { WebSocketServer } from 'ws';
// graphql-ws 6 publishes `graphql-ws/use/ws` through package exports only, which this project's
// moduleResolution ("node") does not read: the types come from the file, the code from the export.
import type * as GraphqlWsUseWs from 'graphql-ws/dist/use/ws.cjs';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the code from the package export, as said above
const { useServer } = require('graphql-ws/use/ws') as typeof GraphqlWsUseWs;
import type { Principal } from '../auth/roles';
import type { RequestQueries, RequestQueryTracker } from '../db/request-queries';
import type { GraphQLContext } from './context';
import { ErrorCode } from './errors';
import { operationOf } from './limits';
import type { OperationPolicy } from './operation-policy';
import type { RequestDeadlines } from './request-deadline';

/** The caller named by a connection's `connectionParams`; throws a GraphQLError (UNAUTHENTICATED, FORBIDDEN) when refused. */
export type ConnectionAuth = (params: Readonly<Record<string, unknown>> | undefined) => Promise<Principal>;

export interface WebSocketOptions {
  path: string;
  schema: GraphQLSchema;
  policy: OperationPolicy;
  tracker: RequestQueryTracker;
  deadlines: RequestDeadlines;
  authenticate: ConnectionAuth;
  context: (principal: Principal) => GraphQLContext;
}

export interface WebSocketGraphql {
  close(): Promise<void>;
}

/** WebSocket close code: the server cannot serve the connection now (RFC 6455, IANA registry). */
const TRY_AGAIN_LATER = 1013;

/** graphql-ws reports only GraphQLErrors; anything else is formatted (as internal, or SERVICE_UNAVAILABLE) from its wrapper. */
function asGraphQLError(error: unknown): GraphQLError {
  return error instanceof GraphQLError ? error : new GraphQLError('Internal server error', { originalError: error as Error });
}

/** What an operation brought by a message needs when it runs. */
interface Operation {
  kind: OperationTypeNode;
  cost: number;
  /** Statements of the connection's operations now running (cancelled when the socket closes). */
  running: Set<RequestQueries>;
  reauthenticate: () => Promise<Principal>;
}

/** Runs each event of `events` through `run`; stops (and closes `events`) once `run` throws. */
function mapEvents<T>(events: AsyncGenerator<unknown>, run: (event: unknown) => Promise<T>): AsyncIterableIterator<T> {
  // A plain iterator rather than an async generator function: graphql-ws calls `return` when the
  // client completes or the socket closes, which must reach `events` at once even while `next`
  // waits for an event (a suspended generator would queue it until the next event).
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      const step = await events.next();
      if (step.done) return { done: true, value: undefined };
      try {
        return { done: false, value: await run(step.value) };
      } catch (error) {
        await events.return(undefined);
        throw error;
      }
    },
    async return() {
      await events.return(undefined);
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await events.return(undefined);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

export function attachWebSocket(httpServer: http.Server, options: WebSocketOptions): WebSocketGraphql {
  const { policy, tracker, deadlines, context } = options;
  const wss = new WebSocketServer({ server: httpServer, path: options.path, maxPayload: 64 * 1024 });
  const operations = new WeakMap<object, Operation>();
  const connections = new WeakMap<object, Set<RequestQueries>>();

  /** A query or mutation, its statements tracked, under its deadline (queries) and through the gate. */
  const executeTracked = (args: ExecutionArgs): Promise<ExecutionResult> => {
    const operation = operations.get(args.contextValue as object)!;
    const queries = deadlines.start();
    operation.running.add(queries);
    return tracker.run(queries, async () => {
      let release: () => void;
      try {
        release = await policy.limits.admit(operation.cost);
      } catch (error) {
        return { errors: [error as GraphQLError] };
      }
      try {
        if (operation.kind !== OperationTypeNode.MUTATION) deadlines.arm(queries);
        return await execute(args);
      } finally {
        release();
        deadlines.end(queries, true);
        operation.running.delete(queries);
      }
    });
  };

  /** A subscription: each source event executed with the token checked again and a fresh context. */
  const subscribeChecked = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const operation = operations.get(args.contextValue as object)!;
    const events = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in events)) return events;
    return mapEvents(events as AsyncGenerator<unknown>, async (event) => {
      const principal = await operation.reauthenticate();
      return execute({ ...args, rootValue: event, contextValue: context(principal) });
    });
  };

  const cleanup = useServer(
    {
      schema: options.schema,
      // Refused connections are closed with 4403 Forbidden before any operation starts; when the
      // token cannot be checked (the database is down), with 1013 Try Again Later instead.
      onConnect: async (ctx) => {
        connections.set(ctx.extra, new Set());
        try {
          await options.authenticate(ctx.connectionParams);
          return true;
        } catch (error) {
          if (!(error instanceof GraphQLError)) ctx.extra.socket.close(TRY_AGAIN_LATER, 'the token cannot be checked now; retry later');
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const reauthenticate = () => options.authenticate(ctx.connectionParams);
        let principal: Principal;
        try {
          principal = await reauthenticate();
        } catch (error) {
          return [asGraphQLError(error)];
        }
        const refused = policy.refusal(payload.query, payload.variables);
        if (refused) return [refused];
        const document = policy.document(payload.query);
        if (Array.isArray(document)) return document;
        const kind = operationOf(document, payload.operationName)?.operation;
        if (!kind) return [new GraphQLError('the document has no operation of that name', { extensions: { code: ErrorCode.BadRequest } })];
        let cost: number;
        try {
          cost = policy.limits.check(document, payload.operationName, payload.variables ?? undefined);
        } catch (error) {
          return [error as GraphQLError];
        }
        const contextValue = context(principal);
        operations.set(contextValue, { kind, cost, running: connections.get(ctx.extra)!, reauthenticate });
        return { schema: options.schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
      execute: executeTracked,
      subscribe: subscribeChecked,
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => policy.formatAny(error)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => policy.formatAny(error)),
      onClose: (ctx) => {
        for (const queries of connections.get(ctx.extra) ?? []) deadlines.end(queries, false);
      },
    },
    wss,
  );
  return {
    async close() {
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
