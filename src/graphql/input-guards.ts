/**
 * Checks of client input that no resolver should have to repeat: request variables nested too
 * deeply (graphql-js coerces them recursively, and 5,000 levels of `not` overflowed the stack), and
 * NUL characters in string arguments of root fields (PostgreSQL text cannot hold them, so the
 * query failed with a 500 instead of naming the argument).
 */
import { GraphQLError } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import { ErrorCode } from './errors';

/** Deeper than any real filter (GarmentWhere nests at most a few dozen levels). */
export const MAX_VARIABLE_DEPTH = 64;

/** How deep `value` nests, counted without recursion, stopping once past `limit`. */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    if (current !== null && typeof current === 'object') {
      for (const child of Object.values(current)) pending.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** The path (`where.not.category`) of the first string holding a NUL character, or null. */
function pathOfNul(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\0') ? path : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, child] of Object.entries(value)) {
    const found = pathOfNul(child, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/** type-graphql middleware of the root resolvers: a root field's string arguments must not contain NUL characters. */
export const refuseNulArguments: MiddlewareFn = ({ args, info }, next) => {
  if (ROOT_TYPES.has(info.parentType.name)) {
    for (const [name, value] of Object.entries(args)) {
      const field = pathOfNul(value, name);
      if (field)
        throw new GraphQLError(`${field}: text may not contain NUL characters`, { extensions: { code: ErrorCode.BadUserInput, field } });
    }
  }
  return next();
};
