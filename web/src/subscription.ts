/**
 * GraphQL subscriptions on the API's own /graphql through the graphql-ws client: one lazy
 * connection per page load, opened with the first subscription and closed after the last, and
 * re-established (with the subscriptions re-sent) when it drops, up to RETRY_ATTEMPTS times.
 */
import { Client, createClient } from 'graphql-ws';
import { authorizationHeaders } from './api-token';
import { GRAPHQL_PATH } from './graphql';
import { subscriptionError } from './subscription-error';
import type { TypedDocumentString } from './gql/graphql';

/** Reconnections after a dropped connection before the subscription reports its error. */
export const RETRY_ATTEMPTS = 5;

export interface SubscriptionHandlers<Data> {
  next: (data: Data) => void;
  error: (error: Error) => void;
  complete: () => void;
}

let client: Client | null = null;

function sharedClient(): Client {
  client ??= createClient({
    url: `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}${GRAPHQL_PATH}`,
    lazy: true,
    retryAttempts: RETRY_ATTEMPTS,
    connectionParams: () => authorizationHeaders(),
  });
  return client;
}

/** Subscribes with a typed document; the returned function unsubscribes. */
export function subscribe<Data, Variables extends Record<string, unknown>>(
  document: TypedDocumentString<Data, Variables>,
  variables: Variables,
  handlers: SubscriptionHandlers<Data>,
): () => void {
  return sharedClient().subscribe<Data>(
    { query: document.toString(), variables },
    {
      next: (result) => {
        if (result.errors?.length) handlers.error(subscriptionError(result.errors));
        else if (result.data) handlers.next(result.data);
      },
      error: (reason) => handlers.error(subscriptionError(reason)),
      complete: handlers.complete,
    },
  );
}
