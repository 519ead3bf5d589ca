/**
 * The console's only way to the data: GraphQL over HTTP POST to the same origin's /graphql,
 * exactly as external clients call it.
 */
export const GRAPHQL_PATH = '/graphql';

export interface GraphQLErrorEntry {
  message: string;
  extensions?: { code?: string; field?: string };
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

export async function graphql<Data>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<Data> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
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
  if (body.errors?.length) {
    throw new GraphQLRequestError(body.errors.map((error) => error.message).join('; '), body.errors);
  }
  if (!response.ok || body.data === undefined) throw new GraphQLRequestError(`the API answered ${response.status}`);
  return body.data;
}

export interface OperationField {
  name: string;
  args: { name: string; type: TypeRef }[];
  type: TypeRef;
}

export interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}

export interface SchemaOperations {
  /** False when the server refuses introspection (production default), so nothing can be told. */
  introspectable: boolean;
  mutations: Map<string, OperationField>;
  subscriptions: Map<string, OperationField>;
}

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';
const OPERATIONS_QUERY = `{ __schema {
  mutationType { fields { name type { ${TYPE_REF} } args { name type { ${TYPE_REF} } } } }
  subscriptionType { fields { name type { ${TYPE_REF} } args { name type { ${TYPE_REF} } } } }
} }`;

let operations: Promise<SchemaOperations> | null = null;

/** Which mutations and subscriptions this server has (asked once per page load, by introspection). */
export function schemaOperations(): Promise<SchemaOperations> {
  operations ??= graphql<{ __schema: { mutationType: { fields: OperationField[] } | null; subscriptionType: { fields: OperationField[] } | null } }>(
    OPERATIONS_QUERY,
  ).then(
    (data) => ({
      introspectable: true,
      mutations: new Map((data.__schema.mutationType?.fields ?? []).map((field) => [field.name, field])),
      subscriptions: new Map((data.__schema.subscriptionType?.fields ?? []).map((field) => [field.name, field])),
    }),
    (error: unknown) => {
      operations = null;
      if (error instanceof GraphQLRequestError && error.errors.length) {
        return { introspectable: false, mutations: new Map(), subscriptions: new Map() };
      }
      throw error;
    },
  );
  return operations;
}

/** `[String!]!`-style text of a type reference. */
export function typeText(type: TypeRef): string {
  if (type.kind === 'NON_NULL') return `${typeText(type.ofType!)}!`;
  if (type.kind === 'LIST') return `[${typeText(type.ofType!)}]`;
  return type.name ?? '?';
}

/** The named type under NON_NULL/LIST wrappers. */
export function namedType(type: TypeRef): string {
  return type.ofType ? namedType(type.ofType) : (type.name ?? '?');
}
