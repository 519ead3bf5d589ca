/**
 * What clients see of errors: input mistakes with their code and field, limits with theirs, and
 * for anything unexpected a generic message (details go to the server log, never to the client).
 */
import { GraphQLError, GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { InvalidSearchInput } from '../db/search-filter';
import { InvalidId } from './ids';

/** PostgreSQL's code for a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';

export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  log: (message: string, error: unknown) => void = (message, cause) => console.error(message, cause),
): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof InvalidSearchInput || original instanceof InvalidId) {
    return {
      message: original.message,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'BAD_USER_INPUT', field: original.field },
    };
  }
  if ((original as { code?: unknown } | null)?.code === QUERY_CANCELED) {
    return {
      message: 'the query took longer than the server allows; narrow the filter or ask for fewer rows',
      path: formatted.path,
      extensions: { code: 'QUERY_TIMEOUT' },
    };
  }
  const code = formatted.extensions?.code;
  if (code && code !== 'INTERNAL_SERVER_ERROR') return formatted;
  log('internal error while executing a GraphQL request:', original);
  return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** An argument the caller got wrong, named in `field`. */
export function badInput(field: string, message: string): GraphQLError {
  return new GraphQLError(message.startsWith(`${field}:`) ? message : `${field}: ${message}`, { extensions: { code: 'BAD_USER_INPUT', field } });
}

export function notFound(what: string): GraphQLError {
  return new GraphQLError(`${what} does not exist`, { extensions: { code: 'NOT_FOUND' } });
}
