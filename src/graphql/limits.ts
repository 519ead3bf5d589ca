/**
 * Query cost limits: a maximum selection depth, a maximum number of root fields (aliases count),
 * a maximum number of selections once fragments are expanded, and a maximum estimated complexity,
 * checked once the operation and its variables are known (so `first: $n` and `kinds: $kinds`
 * count) and before anything runs. HTTP (the Apollo plugin below) and graphql-ws (../websocket.ts)
 * call the same `OperationLimits.check`.
 *
 * The sizes are measured without expanding fragments: each fragment definition is measured once
 * and its spreads reuse that measure, so `fragment F0 on Query { ...F1 ...F1 }` nested 30 levels
 * (2^30 selections spelled in 1 kB) costs 30 steps to measure, not 2^30, and is refused by its size.
 */
import { ApolloServerPlugin } from '@apollo/server';
import {
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLError,
  GraphQLSchema,
  Kind,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE } from './connection';
import { ErrorCode } from './errors';
import type { ExpensiveGate } from './expensive-gate';

/**
 * Each kind of `garmentFacets` is a GROUP BY over every matching garment, the costliest work a
 * query can ask for; a query of 4,900 aliased facets of all 13 kinds, costed by
 * the default estimator at about 5 points each, ran for 24 s and held the event loop meanwhile.
 */
export const FACET_KIND_COST = 200;
/** `vocabulary` answers every known value of a kind (or of all kinds) in one unpaginated list. */
export const VOCABULARY_COST = 100;
/**
 * Selections of an operation with its fragments expanded (each spread counted every time it is
 * spelled). The complexity estimator walks exactly these, so this bounds its work; the console's
 * largest operation has about a hundred.
 */
export const MAX_EXPANDED_SELECTIONS = 5_000;

/** Sizes of a selection set with its fragments expanded. */
export interface SelectionMeasure {
  /** Deepest field nesting (introspection fields not counted). */
  depth: number;
  /** Fields at this level (each alias once; introspection fields not counted). */
  fields: number;
  /** Every selection at every level: fields, spreads and inline fragments, as the complexity estimator visits them. */
  selections: number;
}

const NOTHING: SelectionMeasure = { depth: 0, fields: 0, selections: 0 };

/** Measures selection sets of one document, each fragment definition once (memoised). */
class DocumentMeasurer {
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly measured = new Map<string, SelectionMeasure>();
  private readonly visiting = new Set<string>();

  constructor(document: DocumentNode) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition);
    }
  }

  measure(selectionSet: SelectionSetNode | undefined): SelectionMeasure {
    if (!selectionSet) return NOTHING;
    const total = { depth: 0, fields: 0, selections: 0 };
    for (const selection of selectionSet.selections) {
      total.selections++;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue; // introspection has its own shape
        const below = this.measure(selection.selectionSet);
        total.depth = Math.max(total.depth, 1 + below.depth);
        total.fields++;
        total.selections += below.selections;
      } else {
        const inner = selection.kind === Kind.INLINE_FRAGMENT ? this.measure(selection.selectionSet) : this.fragment(selection.name.value);
        total.depth = Math.max(total.depth, inner.depth);
        total.fields += inner.fields;
        total.selections += inner.selections;
      }
    }
    return total;
  }

  private fragment(name: string): SelectionMeasure {
    const known = this.measured.get(name);
    if (known) return known;
    const fragment = this.fragments.get(name);
    if (!fragment || this.visiting.has(name)) return NOTHING; // unknown fragments and cycles are reported by the standard rules
    this.visiting.add(name);
    const measure = this.measure(fragment.selectionSet);
    this.visiting.delete(name);
    this.measured.set(name, measure);
    return measure;
  }
}

/** The operation that runs: the named one, else the only one. */
export function operationOf(document: DocumentNode, operationName?: string | null): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  return operationName ? operations.find((candidate) => candidate.name?.value === operationName) : operations[0];
}

/** Sizes of the operation that runs, fragments expanded (each fragment measured once). */
export function measureOperation(document: DocumentNode, operationName?: string | null): SelectionMeasure {
  const operation = operationOf(document, operationName);
  return operation ? new DocumentMeasurer(document).measure(operation.selectionSet) : NOTHING;
}

function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.QueryTooComplex, http: { status: 400 } } });
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

/** The limits of one server, applied alike to every operation whatever transport brought it. */
export class OperationLimits {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly limits: QueryLimits,
  ) {}

  /**
   * The operation's estimated cost; throws QUERY_TOO_COMPLEX past a limit. Sizes are checked
   * first, from the memoised measure, so the estimator only ever walks a bounded operation.
   */
  check(
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Readonly<Record<string, unknown>> | undefined,
  ): number {
    const { depth, fields, selections } = measureOperation(document, operationName);
    if (fields > this.limits.maxRootFields)
      throw tooComplex(`the operation has ${fields} root fields (aliases count); the maximum is ${this.limits.maxRootFields}`);
    if (depth > this.limits.maxDepth) throw tooComplex(`query depth ${depth} exceeds the maximum of ${this.limits.maxDepth}`);
    if (selections > MAX_EXPANDED_SELECTIONS) {
      throw tooComplex(
        `the operation expands to ${selections} selections (fragments counted at each spread); the maximum is ${MAX_EXPANDED_SELECTIONS}`,
      );
    }
    let complexity: number;
    try {
      complexity = getComplexity({
        schema: this.schema,
        query: document,
        operationName: operationName ?? undefined,
        variables: variables ?? {},
        maxQueryNodes: MAX_EXPANDED_SELECTIONS + 1,
        estimators: [fieldExtensionsEstimator(), pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
      });
    } catch {
      return 0; // invalid variables: execution reports them as BAD_USER_INPUT (the size checks above bound the walk)
    }
    if (complexity > this.limits.maxComplexity)
      throw tooComplex(`query complexity ${complexity} exceeds the maximum of ${this.limits.maxComplexity}`);
    return complexity;
  }

  /** Waits for a slot when the operation is expensive; the returned function frees it. */
  async admit(cost: number): Promise<() => void> {
    const { expensive } = this.limits;
    return expensive && cost >= expensive.cost ? expensive.gate.acquire() : () => {};
  }
}

/**
 * Rejects operations past the limits once the operation and its variables are known and before
 * anything runs; an expensive one then waits for a slot of the gate, which it frees when its
 * response is sent.
 */
export function queryLimits(limits: OperationLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      let release: (() => void) | undefined;
      return {
        async willSendResponse() {
          release?.();
        },
        async didResolveOperation({ request, document }) {
          release = await limits.admit(limits.check(document, request.operationName, request.variables));
        },
      };
    },
  };
}
