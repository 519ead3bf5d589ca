/**
 * The console's only way to the data: GraphQL over HTTP POST to the same origin's /graphql,
 * exactly as external clients call it, with the typed documents of ./gql (npm run codegen).
 */
import { authorizationHeaders, noteRefusal } from './api-token';
import type { TypedDocumentString } from './gql/graphql';

export const GRAPHQL_PATH = '/graphql';

export interface GraphQLErrorEntry {
  message: string;
  extensions?: { code?: string; field?: string; currentRevision?: number };
}

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly errors: GraphQLErrorEntry[] = [],
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

export async function fetchGraphQL<Data, Variables>(
  document: TypedDocumentString<Data, Variables>,
  variables: Variables,
  signal?: AbortSignal,
): Promise<Data> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...authorizationHeaders() },
      body: JSON.stringify({ query: document.toString(), variables }),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new GraphQLRequestError(`the API at ${GRAPHQL_PATH} is unreachable (${(error as Error).message})`);
  }
  let body: { data?: Data; errors?: GraphQLErrorEntry[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new GraphQLRequestError(`the API answered ${response.status} without JSON`);
  }
  noteRefusal(
    response.status,
    body.errors?.map((error) => error.extensions?.code),
  );
  if (body.errors?.length) {
    throw new GraphQLRequestError(body.errors.map((error) => error.message).join('; '), body.errors);
  }
  if (!response.ok || body.data === undefined || body.data === null) throw new GraphQLRequestError(`the API answered ${response.status}`);
  return body.data;
}
