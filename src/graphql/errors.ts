/**
 * What clients see of errors, over HTTP and graphql-ws alike: input mistakes with their code and
 * field, limits with theirs, an unreachable database as SERVICE_UNAVAILABLE, and for anything
 * unexpected a generic message (details go to the server log, never to the client).
 */
import { GraphQLError, GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { InvalidSearchInput } from '../db/search-filter';
import { isDatabaseUnavailable } from '../db/health';
import { InvalidId } from './ids';
import { InvalidTrainingParams } from '../jobs/training-params';
import { EditConflict, EditTargetMissing } from '../db/garment-edits';

/**
 * Every `extensions.code` a client can see, over HTTP and graphql-ws: formatError answers any other
 * code as INTERNAL_SERVER_ERROR. docs/graphql-api.md#errors lists them (a test keeps both equal).
 */
export enum ErrorCode {
  /** An argument, input field or variable is wrong; `extensions.field` names it (`where.or[1].category[0]`, `$status`). */
  BadUserInput = 'BAD_USER_INPUT',
  /** The request itself is malformed: no query, a body that is not JSON, an APQ hash that does not match its query. */
  BadRequest = 'BAD_REQUEST',
  /** The query does not parse (graphql-js). */
  GraphqlParseFailed = 'GRAPHQL_PARSE_FAILED',
  /** The query does not fit the schema: unknown field, enum value or argument (graphql-js). */
  GraphqlValidationFailed = 'GRAPHQL_VALIDATION_FAILED',
  /** An automatic persisted query the server does not have yet: send it again with its text (Apollo). */
  PersistedQueryNotFound = 'PERSISTED_QUERY_NOT_FOUND',
  /** The document has several operations and `operationName` names none of them (Apollo). */
  OperationResolutionFailure = 'OPERATION_RESOLUTION_FAILURE',
  /** No valid API token, where the operation needs one. */
  Unauthenticated = 'UNAUTHENTICATED',
  /** The token's role may not do this. */
  Forbidden = 'FORBIDDEN',
  /** The object a mutation acts on, or its upload, does not exist (reads answer null instead). */
  NotFound = 'NOT_FOUND',
  /** An edit named a garment revision that is no longer current; `extensions.currentRevision` is the current one: read the garment again. */
  EditConflict = 'EDIT_CONFLICT',
  /** The garment has no embedding of the model version asked for (similarGarments): embed it first. */
  EmbeddingNotFound = 'EMBEDDING_NOT_FOUND',
  /** A stored image's file cannot be read on the server, so it cannot be analysed. */
  ImageFileMissing = 'IMAGE_FILE_MISSING',
  /** No model server is configured or it cannot be reached. */
  ModelServerUnavailable = 'MODEL_SERVER_UNAVAILABLE',
  /** The model server did not answer in time. */
  ModelServerTimeout = 'MODEL_SERVER_TIMEOUT',
  /** The model server failed to analyse the photo. */
  ModelServerError = 'MODEL_SERVER_ERROR',
  /** The statement timeout or the request deadline ended the query. */
  QueryTimeout = 'QUERY_TIMEOUT',
  /** Past a work limit (src/graphql/limits.ts): depth, root fields, expanded size, complexity, query length. */
  QueryTooComplex = 'QUERY_TOO_COMPLEX',
  /** The expensive-operation gate stayed full (src/graphql/expensive-gate.ts). */
  ServerBusy = 'SERVER_BUSY',
  /** A subscription's live updates stopped for good (src/graphql/training/run-updates.ts). */
  UpdatesUnavailable = 'UPDATES_UNAVAILABLE',
  /** The database cannot be reached; retry in a moment. */
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  /** Anything unexpected: a generic message; details go to the server log only. */
  InternalServerError = 'INTERNAL_SERVER_ERROR',
}

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && CODES.has(code);

/** PostgreSQL's code for a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';

export type ErrorLog = (message: string, error?: unknown) => void;

export interface ErrorFormatOptions {
  log?: ErrorLog;
  /** Drop graphql-js's "Did you mean …?" hints, which name fields and types (when introspection is off). */
  hideSuggestions?: boolean;
}

export const DATABASE_UNAVAILABLE_MESSAGE = 'the database is unavailable; retry in a moment';

export function serviceUnavailable(): GraphQLError {
  return new GraphQLError(DATABASE_UNAVAILABLE_MESSAGE, { extensions: { code: ErrorCode.ServiceUnavailable, http: { status: 503 } } });
}

/** The formatted error with its suggestions removed when they are hidden. */
function withoutSuggestions(formatted: GraphQLFormattedError, hide: boolean | undefined): GraphQLFormattedError {
  return hide ? { ...formatted, message: formatted.message.replace(/ ?Did you mean (.+?)\?$/, '') } : formatted;
}

/**
 * A variable graphql-js refused, named in `field`: `$status` for `Variable "$status" got invalid
 * value …`, `$where.attributes[0].kind` when the message says where inside the variable (`at "where.attributes[0].kind"`).
 */
function withVariableField(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const match = /^Variable "\$([A-Za-z_][A-Za-z0-9_]*)"(?: got invalid value .*? at "([^"]+)")?/.exec(formatted.message);
  if (!match) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, field: `$${match[2] ?? match[1]}` } };
}

/** An HTTP 4xx refusal Apollo raised without a code (an APQ hash that does not match its query). */
function isUncodedRequestError(error: unknown, formatted: GraphQLFormattedError): boolean {
  const status = (error as GraphQLError | null)?.extensions?.http as { status?: number } | undefined;
  return (
    error instanceof GraphQLError &&
    !error.originalError &&
    !error.path &&
    (status?.status ?? 0) >= 400 &&
    (status?.status ?? 0) < 500 &&
    formatted.extensions?.code === ErrorCode.InternalServerError
  );
}

export function formatError(formatted: GraphQLFormattedError, error: unknown, options: ErrorFormatOptions = {}): GraphQLFormattedError {
  const log = options.log ?? ((message: string, cause?: unknown) => console.error(message, cause ?? ''));
  const original = unwrapResolverError(error);
  const coded = (extensions: Record<string, unknown>): GraphQLFormattedError => ({
    message: (original as Error).message,
    path: formatted.path,
    locations: formatted.locations,
    extensions,
  });
  if (original instanceof InvalidSearchInput || original instanceof InvalidId || original instanceof InvalidTrainingParams) {
    return coded({ code: ErrorCode.BadUserInput, field: original.field });
  }
  if (original instanceof EditConflict) return coded({ code: ErrorCode.EditConflict, currentRevision: original.currentRevision });
  if (original instanceof EditTargetMissing) return coded({ code: ErrorCode.NotFound, field: original.field });
  if ((original as { code?: unknown } | null)?.code === QUERY_CANCELED) {
    return {
      message: 'the query took longer than the server allows; narrow the filter or ask for fewer rows',
      path: formatted.path,
      extensions: { code: ErrorCode.QueryTimeout },
    };
  }
  if (isDatabaseUnavailable(original)) {
    log('database unavailable while executing a GraphQL request');
    return { message: DATABASE_UNAVAILABLE_MESSAGE, path: formatted.path, extensions: { code: ErrorCode.ServiceUnavailable } };
  }
  if (isUncodedRequestError(error, formatted)) {
    log(`refused a GraphQL request: ${formatted.message}`);
    return { message: formatted.message, extensions: { code: ErrorCode.BadRequest } };
  }
  const code = formatted.extensions?.code;
  if (code === ErrorCode.BadUserInput && formatted.extensions?.field === undefined) return withVariableField(formatted);
  if (isErrorCode(code) && code !== ErrorCode.InternalServerError) return withoutSuggestions(formatted, options.hideSuggestions);
  log('internal error while executing a GraphQL request:', original);
  return { message: 'Internal server error', path: formatted.path, extensions: { code: ErrorCode.InternalServerError } };
}

/** What a client sees of any error (a GraphQLError or not, as graphql-ws may hand over). */
export function formatAnyError(error: unknown, options: ErrorFormatOptions = {}): GraphQLFormattedError {
  const formatted =
    error instanceof GraphQLError
      ? error.toJSON()
      : { message: 'Internal server error', extensions: { code: ErrorCode.InternalServerError } };
  // The HTTP status an error carries is for the HTTP answer (Apollo drops it too), not for clients.
  const { http: _status, ...extensions } = formatted.extensions ?? {};
  return formatError({ ...formatted, extensions }, error, options);
}

/** An argument the caller got wrong, named in `field`. */
export function badInput(field: string, message: string): GraphQLError {
  return new GraphQLError(message.startsWith(`${field}:`) ? message : `${field}: ${message}`, {
    extensions: { code: ErrorCode.BadUserInput, field },
  });
}

/** The object `what` (named as the client named it) does not exist. */
export function notFound(what: string): GraphQLError {
  return new GraphQLError(`${what} does not exist`, { extensions: { code: ErrorCode.NotFound } });
}
