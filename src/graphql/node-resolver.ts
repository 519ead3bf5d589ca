/**
 * Relay's refetch entry points: `node(id:)` and `nodes(ids:)` answer any object by its global id,
 * through the request's DataLoaders, so a `nodes` list costs one statement per type asked for.
 */
import type { Role } from '../auth/roles';
import { Arg, Authorized, Ctx, ID, Query, Resolver, UseMiddleware } from 'type-graphql';
import { refuseNulArguments } from './input-guards';
import { MAX_PAGE_SIZE } from './connection';
import type { GraphQLContext } from './context';
import { badInput } from './errors';
import { decodeGlobalId } from './ids';
import * as T from './types';

/** The object a global id names, or null when it does not exist; throws BAD_USER_INPUT naming `field`. */
function loadNode(ctx: GraphQLContext, field: string, id: string): Promise<T.Node | null> {
  const { type, key } = decodeGlobalId(field, id);
  switch (type) {
    case 'Image':
      return ctx.loaders.image.load(key);
    case 'Garment':
      return ctx.loaders.garment.load(key);
    case 'Dataset':
      return ctx.loaders.dataset.load(Number(key));
    case 'TrainingRun':
      return ctx.loaders.trainingRun.load(Number(key));
    case 'ModelVersion':
      return ctx.loaders.modelVersion.load(Number(key));
    case 'PredictionJob':
      return ctx.loaders.predictionJob.load(Number(key));
    case 'GarmentEdit':
      return ctx.loaders.garmentEdit.load(key);
  }
}

@Resolver()
@UseMiddleware(refuseNulArguments)
export class NodeResolver {
  @Authorized<Role>('viewer')
  @Query(() => T.Node, { nullable: true, description: 'The object with this global id, of any type; null when it does not exist.' })
  node(@Arg('id', () => ID, { description: 'A global id, as any `id` field gives it.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return loadNode(ctx, 'id', id);
  }

  @Authorized<Role>('viewer')
  @Query(() => [T.Node], {
    nullable: 'items',
    description: `The objects with these global ids, in the same order (null for one that does not exist); at most ${MAX_PAGE_SIZE} ids.`,
    complexity: ({ args, childComplexity }) => Math.max(1, Array.isArray(args.ids) ? args.ids.length : 1) * Math.max(1, childComplexity),
  })
  nodes(@Arg('ids', () => [ID], { description: 'Global ids, as `id` fields give them.' }) ids: string[], @Ctx() ctx: GraphQLContext) {
    if (ids.length > MAX_PAGE_SIZE) throw badInput('ids', `at most ${MAX_PAGE_SIZE} ids (got ${ids.length})`);
    return Promise.all(ids.map((id, i) => loadNode(ctx, `ids[${i}]`, id)));
  }
}
