/**
 * What every GraphQL operation goes through before it runs, whichever transport brought it (HTTP
 * through Apollo in ./server.ts, graphql-ws in ./websocket.ts): the request-shape checks made
 * before parsing, the token bound of the parser, the validation rules (introspection off in
 * production), the work limits and the expensive-operation gate, and what clients see of errors.
 */
import { ApolloServerErrorCode } from '@apollo/server/errors';
import {
  DocumentNode,
  GraphQLError,
  GraphQLFormattedError,
  GraphQLSchema,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  ValidationRule,
} from 'graphql';
import { ErrorCode, formatAnyError, formatError, type ErrorLog } from './errors';
import { MAX_VARIABLE_DEPTH, nestingDepth } from './input-guards';
import { OperationLimits, type QueryLimits } from './limits';

export interface OperationPolicyOptions {
  schema: GraphQLSchema;
  introspection: boolean;
  limits: QueryLimits;
  /** Tokens the parser reads before giving up. */
  maxTokens: number;
  /** Characters of a query, refused before parsing. */
  maxQueryLength: number;
  log: ErrorLog;
}

function refusal(message: string, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, http: { status: 400 } } });
}

export class OperationPolicy {
  readonly limits: OperationLimits;
  /** Rules beside graphql-js's standard ones. */
  readonly validationRules: readonly ValidationRule[];

  constructor(private readonly options: OperationPolicyOptions) {
    this.limits = new OperationLimits(options.schema, options.limits);
    this.validationRules = options.introspection ? [] : [NoSchemaIntrospectionCustomRule];
  }

  /** Why a request is refused before its query is parsed (an overlong query, variables nested too deep), or undefined. */
  refusal(query: unknown, variables: unknown): GraphQLError | undefined {
    if (nestingDepth(variables, MAX_VARIABLE_DEPTH) > MAX_VARIABLE_DEPTH) {
      return refusal(`variables nest deeper than ${MAX_VARIABLE_DEPTH} levels`, { code: ErrorCode.BadUserInput, field: 'variables' });
    }
    if (typeof query === 'string' && query.length > this.options.maxQueryLength) {
      return refusal(`the query is ${query.length} characters long; the maximum is ${this.options.maxQueryLength}`, {
        code: ErrorCode.QueryTooComplex,
      });
    }
    return undefined;
  }

  get maxTokens(): number {
    return this.options.maxTokens;
  }

  /** The parsed and validated document, or the errors saying why not (for transports other than Apollo, which does this itself). */
  document(query: unknown): DocumentNode | GraphQLError[] {
    if (typeof query !== 'string' || query === '') return [refusal('the operation has no query', { code: ErrorCode.BadRequest })];
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: this.options.maxTokens });
    } catch (error) {
      return [refusal((error as Error).message, { code: ApolloServerErrorCode.GRAPHQL_PARSE_FAILED })];
    }
    const errors = validate(this.options.schema, document, [...specifiedRules, ...this.validationRules]);
    if (errors.length > 0) return errors.map((error) => refusal(error.message, { code: ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED }));
    return document;
  }

  /** What a client sees of an error Apollo formatted. */
  format(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    return formatError(formatted, error, { log: this.options.log, hideSuggestions: !this.options.introspection });
  }

  /** What a client sees of any error. */
  formatAny(error: unknown): GraphQLFormattedError {
    return formatAnyError(error, { log: this.options.log, hideSuggestions: !this.options.introspection });
  }
}
