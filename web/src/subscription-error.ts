/**
 * What a failed subscription tells the user, from whatever graphql-ws reported; a module of its
 * own because the tests run it under Node, where subscription.ts (it needs `window`) cannot load.
 */
import { GRAPHQL_PATH } from './graphql';

/** graphql-ws reports an Error, the GraphQL errors of a refused subscription, or the socket's CloseEvent. */
export function subscriptionError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  if (Array.isArray(reason)) {
    // A GraphQL error always has a message; String() covers a malformed frame without one.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    const messages = reason.map((entry: { message?: string }) => entry.message ?? String(entry));
    return new Error(messages.join('; ') || 'subscription refused');
  }
  if (reason && typeof reason === 'object' && 'code' in reason) {
    const close = reason as { code: number; reason?: string };
    return new Error(`subscription closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`);
  }
  return new Error(`no subscription connection at ${GRAPHQL_PATH}`);
}
