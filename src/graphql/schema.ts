/** The executable schema built from the type-graphql classes, and its SDL as printed to schema.graphql. */
import 'reflect-metadata';
import { GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchemaSync, type PubSub } from 'type-graphql';
import { RESOLVERS } from './resolvers';
import { TRAINING_RESOLVERS } from './training/resolvers';
import { REVIEW_RESOLVERS } from './review/resolvers';
import { EDIT_RESOLVERS } from './edits/resolvers';
import { NodeResolver } from './node-resolver';
import { SimilarityResolver } from './similarity/resolvers';
import { authChecker } from './auth';
import { ViewerResolver } from './viewer';

/**
 * Subscriptions bring their own event source (training/run-updates.ts: LISTEN on PostgreSQL), so the
 * PubSub type-graphql requires at schema build is only a placeholder.
 */
const NO_PUBSUB: PubSub = {
  publish() {
    throw new Error('subscriptions of this schema have their own event sources; nothing is published through PubSub');
  },
  subscribe() {
    throw new Error('subscriptions of this schema have their own event sources; nothing subscribes through PubSub');
  },
};

let cached: GraphQLSchema | undefined;

/** Descriptions of the root types, which type-graphql builds without any. */
const ROOT_DESCRIPTIONS = {
  Query:
    'Reads: images and garments (search, facets, vocabulary), the review queue, training runs, model versions, prediction jobs, any object by its global id (node, nodes), and the caller (viewer).',
  Mutation:
    'Changes: training (startTraining, cancelTraining, activateModelVersion), prediction (analyzeImage, predictImages, cancelPrediction) and garment edits (updateGarment, addGarment, deleteGarment, acceptPrediction, revertGarmentEdit, markImageReviewed).',
  Subscription: 'Live updates over graphql-ws on /graphql.',
} as const;

function describeRootTypes(schema: GraphQLSchema): GraphQLSchema {
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (type) type.description = ROOT_DESCRIPTIONS[type.name as keyof typeof ROOT_DESCRIPTIONS];
  }
  return schema;
}

export function buildApiSchema(): GraphQLSchema {
  cached ??= describeRootTypes(
    buildSchemaSync({
      resolvers: [
        ...RESOLVERS,
        ...TRAINING_RESOLVERS,
        ...REVIEW_RESOLVERS,
        ...EDIT_RESOLVERS,
        SimilarityResolver,
        NodeResolver,
        ViewerResolver,
      ],
      pubSub: NO_PUBSUB,
      validate: false,
      authChecker,
    }),
  );
  return cached;
}

/** Stable SDL text (sorted) so the committed schema.graphql diffs cleanly. */
export function printApiSchema(): string {
  return `${printSchema(lexicographicSortSchema(buildApiSchema()))}\n`;
}
