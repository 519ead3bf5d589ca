/**
 * GraphQL subscriptions over WebSocket (graphql-ws protocol, `ws` server) on the API's HTTP server,
 * same path as queries (/graphql). Subscriptions bring their own event source (run-updates.ts: LISTEN
 * on PostgreSQL), so the PubSub type-graphql requires at schema build is only a placeholder.
 */
import type * as http from 'node:http';
import type { GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { PubSub } from 'type-graphql';
import { WebSocketServer } from 'ws';
// graphql-ws 6 publishes `graphql-ws/use/ws` through package exports only, which this project's
// moduleResolution ("node") does not read: the types come from the file, the code from the export.
import type * as GraphqlWsUseWs from 'graphql-ws/dist/use/ws.cjs';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { useServer } = require('graphql-ws/use/ws') as typeof GraphqlWsUseWs;
import type { Principal } from '../../auth/roles';
import type { GraphQLContext } from '../context';

/** Authenticates a connection from its `connectionParams`; null refuses it. */
export type ConnectionAuth = (params: Readonly<Record<string, unknown>> | undefined) => Promise<Principal | null>;

export const NO_PUBSUB: PubSub = {
  publish() {
    throw new Error('subscriptions of this schema have their own event sources; nothing is published through PubSub');
  },
  subscribe() {
    throw new Error('subscriptions of this schema have their own event sources; nothing subscribes through PubSub');
  },
};

export interface SubscriptionServer {
  close(): Promise<void>;
}

export function attachSubscriptions(
  httpServer: http.Server,
  schema: GraphQLSchema,
  context: (principal: Principal) => GraphQLContext,
  path: string,
  authenticate: ConnectionAuth,
  /** What a subscriber sees of an error (the same as HTTP clients: no internals). */
  format: (error: GraphQLError) => GraphQLFormattedError,
): SubscriptionServer {
  const wss = new WebSocketServer({ server: httpServer, path, maxPayload: 64 * 1024 });
  const principals = new WeakMap<object, Principal>();
  const cleanup = useServer(
    {
      schema,
      // Refused connections are closed with 4403 Forbidden before any subscription starts.
      onConnect: async (ctx) => {
        const principal = await authenticate(ctx.connectionParams).catch(() => null);
        if (!principal) return false;
        principals.set(ctx.extra, principal);
        return true;
      },
      context: (ctx) => context(principals.get(ctx.extra)!),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map(format) } : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
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
