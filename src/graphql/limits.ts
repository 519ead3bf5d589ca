/**
 * Query cost limits: a maximum selection depth, a maximum number of root fields (aliases count)
 * and a maximum estimated complexity, checked once the operation and its variables are known (so
 * `first: $n` and `kinds: $kinds` count) and before execution.
 */
import { ApolloServerPlugin } from '@apollo/server';
import { DocumentNode, FragmentDefinitionNode, GraphQLError, GraphQLSchema, Kind, OperationDefinitionNode, SelectionSetNode } from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE } from './connection';
import type { ExpensiveGate } from './expensive-gate';

export const LIMIT_EXCEEDED = 'QUERY_TOO_COMPLEX';

/**
 * Each kind of `garmentFacets` is a GROUP BY over every matching garment, the costliest work a
 * query can ask for; a query of 4,900 aliased facets of all 13 kinds, costed by
 * the default estimator at about 5 points each, ran for 24 s and held the event loop meanwhile.
 */
export const FACET_KIND_COST = 200;
/** `vocabulary` answers every known value of a kind (or of all kinds) in one unpaginated list. */
export const VOCABULARY_COST = 100;

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
  /** Root fields per operation, each alias counted (fragments expanded). */
  maxRootFields: number;
  /** Operations costing at least `expensiveCost` pass through this gate (a bound on how many run at once). */
  expensive?: { cost: number; gate: ExpensiveGate };
}

function countFields(selectionSet: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, visiting: Set<string>): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) count += selection.name.value.startsWith('__') ? 0 : 1;
    else if (selection.kind === Kind.INLINE_FRAGMENT) count += countFields(selection.selectionSet, fragments, visiting);
    else {
      const fragment = fragments[selection.name.value];
      if (!fragment || visiting.has(fragment.name.value)) continue; // cycles are reported by the standard rules
      visiting.add(fragment.name.value);
      count += countFields(fragment.selectionSet, fragments, visiting);
      visiting.delete(fragment.name.value);
    }
  }
  return count;
}

/** Root fields of the operation that runs (each alias once; introspection fields not counted). */
export function rootFieldCount(document: DocumentNode, operationName?: string | null): number {
  const fragments: Record<string, FragmentDefinitionNode> = {};
  const operations: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const operation = operationName ? operations.find((candidate) => candidate.name?.value === operationName) : operations[0];
  return operation ? countFields(operation.selectionSet, fragments, new Set()) : 0;
}

/**
 * Rejects operations nested deeper than `maxDepth` or whose estimated cost exceeds
 * `maxComplexity`, once the operation and its variables are known and before anything runs; an
 * expensive one then waits for a slot of the gate, which it frees when its response is sent.
 */
export function queryLimits(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      let release: (() => void) | undefined;
      return {
        async willSendResponse() {
          release?.();
        },
        async didResolveOperation({ request, document }) {
          const roots = rootFieldCount(document, request.operationName);
          if (roots > limits.maxRootFields) throw tooComplex(`the operation has ${roots} root fields (aliases count); the maximum is ${limits.maxRootFields}`);
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
          if (limits.expensive && complexity >= limits.expensive.cost) release = await limits.expensive.gate.acquire();
        },
      };
    },
  };
}
