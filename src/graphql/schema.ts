/** The executable schema built from the type-graphql classes, and its SDL as printed to schema.graphql. */
import 'reflect-metadata';
import { GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { RESOLVERS } from './resolvers';
import { TRAINING_RESOLVERS } from './training/resolvers';
import { authChecker } from './auth';
import { NO_PUBSUB } from './training/subscriptions';

let cached: GraphQLSchema | undefined;

export function buildApiSchema(): GraphQLSchema {
  cached ??= buildSchemaSync({ resolvers: [...RESOLVERS, ...TRAINING_RESOLVERS], pubSub: NO_PUBSUB, validate: false, authChecker });
  return cached;
}

/** Stable SDL text (sorted) so the committed schema.graphql diffs cleanly. */
export function printApiSchema(): string {
  return `${printSchema(lexicographicSortSchema(buildApiSchema()))}\n`;
}
