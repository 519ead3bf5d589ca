/**
 * Query cost limits: a maximum selection depth and a maximum estimated complexity, checked once
 * the operation and its variables are known (so `first: $n` counts) and before execution.
 */
import { ApolloServerPlugin } from '@apollo/server';
import { DocumentNode, FragmentDefinitionNode, GraphQLError, GraphQLSchema, Kind, SelectionSetNode } from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE } from './connection';

export const LIMIT_EXCEEDED = 'QUERY_TOO_COMPLEX';

function selectionDepth(
  selectionSet: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
  visiting: Set<string>,
): number {
  if (!selectionSet) return 0;
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith('__')) continue; // introspection has its own shape
      deepest = Math.max(deepest, 1 + selectionDepth(selection.selectionSet, fragments, visiting));
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, selectionDepth(selection.selectionSet, fragments, visiting));
    } else {
      const name = selection.name.value;
      const fragment = fragments[name];
      if (!fragment || visiting.has(name)) continue; // cycles are reported by the standard rules
      visiting.add(name);
      deepest = Math.max(deepest, selectionDepth(fragment.selectionSet, fragments, visiting));
      visiting.delete(name);
    }
  }
  return deepest;
}

/** Deepest field nesting of the document's operations (fragments expanded, introspection ignored). */
export function documentDepth(document: DocumentNode): number {
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  let deepest = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) {
      deepest = Math.max(deepest, selectionDepth(definition.selectionSet, fragments, new Set()));
    }
  }
  return deepest;
}

function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: LIMIT_EXCEEDED, http: { status: 400 } } });
}

/** Paginated fields cost their children times the page size. */
const pageSizeEstimator: ComplexityEstimator = ({ args, childComplexity, field }) => {
  if (!field.args.some((arg) => arg.name === 'first')) return undefined;
  const first = typeof args.first === 'number' ? args.first : DEFAULT_PAGE_SIZE;
  return 1 + first * Math.max(1, childComplexity);
};

export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
}

/**
 * Rejects operations nested deeper than `maxDepth` or whose estimated cost exceeds
 * `maxComplexity`, once the operation and its variables are known and before anything runs.
 */
export function queryLimits(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const depth = documentDepth(document);
          if (depth > limits.maxDepth) throw tooComplex(`query depth ${depth} exceeds the maximum of ${limits.maxDepth}`);
          let complexity: number;
          try {
            complexity = getComplexity({
              schema,
              query: document,
              operationName: request.operationName,
              variables: request.variables,
              estimators: [fieldExtensionsEstimator(), pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
            });
          } catch {
            return; // invalid variables: execution reports them as BAD_USER_INPUT
          }
          if (complexity > limits.maxComplexity) {
            throw tooComplex(`query complexity ${complexity} exceeds the maximum of ${limits.maxComplexity}`);
          }
        },
      };
    },
  };
}
