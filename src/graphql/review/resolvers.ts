/** Query.reviewQueue: the images a model version is least sure about (or a seeded shuffle), with the reasons. */
import type { Role } from '../../auth/roles';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { activeModelVersionId, ModelVersionNotFound, readModelVersion } from '../../db/model-versions';
import { reviewQueuePage, type ReviewQueueEntry, type UncertaintyReason } from '../../db/review-queue';
import { isAttributeKind } from '../../db/search-filter';
import { AFTER_DESCRIPTION, PAGE_SIZE_DESCRIPTION, pageInfoOf, pageSize } from '../connection';
import type { GraphQLContext } from '../context';
import { badInput } from '../errors';
import { imageFilter } from '../filters';
import { serialKeyOf } from '../ids';
import { refuseNulArguments } from '../input-guards';
import { toImage } from '../loaders';
import * as T from '../types';
import { decodeReviewCursor, encodeReviewCursor, type ReviewQueueScope } from './cursor';
import { ReviewOrder, ReviewQueueConnection, ReviewQueueEdge, ReviewReason } from './types';

function toReason(reason: UncertaintyReason): ReviewReason {
  return Object.assign(new ReviewReason(), {
    kind: reason.kind,
    score: reason.score,
    garmentId: reason.garmentId,
    attributeKind: reason.attributeKind !== null && isAttributeKind(reason.attributeKind) ? reason.attributeKind : null,
    detail: reason.detail,
  });
}

/** The model version the queue reads: the one named (it must exist), else the active one (null when none is). */
async function queueModelVersion(ctx: GraphQLContext, modelVersionId: string | null): Promise<number | null> {
  const dataSource = ctx.search.dataSource;
  if (modelVersionId === null) return activeModelVersionId(dataSource);
  const id = serialKeyOf('modelVersionId', modelVersionId, 'ModelVersion');
  try {
    await readModelVersion(dataSource, id);
  } catch (error) {
    if (error instanceof ModelVersionNotFound) throw badInput('modelVersionId', `model version ${modelVersionId} does not exist`);
    throw error;
  }
  return id;
}

@Resolver()
@UseMiddleware(refuseNulArguments)
export class ReviewQueueResolver {
  @Authorized<Role>('viewer')
  @Query(() => ReviewQueueConnection, {
    description:
      'Images to review, not yet reviewed: those the model version is least sure about first (the scores of its stored predictions), ' +
      'or a seeded shuffle; each with its score and the reasons for it.',
  })
  async reviewQueue(
    @Arg('where', () => T.ImageWhere, { nullable: true, description: 'Filter, as `images(where:)`; absent: every image.' })
    where: T.ImageWhere | null,
    @Arg('modelVersionId', () => ID, {
      nullable: true,
      description: 'Whose predictions score the images (a ModelVersion id); absent: the active version.',
    })
    modelVersionId: string | null,
    @Arg('order', () => ReviewOrder, { defaultValue: ReviewOrder.UNCERTAINTY, description: 'Most doubtful first, or at random.' })
    order: ReviewOrder,
    @Arg('seed', () => Int, { nullable: true, description: 'RANDOM only: which shuffle (default 0); the same seed gives the same order.' })
    seed: number | null,
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ReviewQueueConnection> {
    // An argument the client leaves out arrives undefined, one it sends as null arrives null: same meaning.
    [where, modelVersionId, seed, after] = [where ?? null, modelVersionId ?? null, seed ?? null, after ?? null];
    const limit = pageSize(first, ctx.maxPageSize);
    const filter = imageFilter(where);
    if (seed !== null && order !== ReviewOrder.RANDOM) throw badInput('seed', 'only the RANDOM order takes a seed');
    const version = await queueModelVersion(ctx, modelVersionId);
    if (version === null && order === ReviewOrder.UNCERTAINTY) {
      throw badInput('modelVersionId', 'no model version is active: name the one whose predictions order the queue');
    }
    const scope: ReviewQueueScope = { order, seed: seed ?? 0, modelVersionId: version };
    const page = await reviewQueuePage(ctx.search.dataSource, ctx.search.vocabulary, {
      ...scope,
      filter,
      first: limit,
      after: after === null ? null : decodeReviewCursor(scope, after),
    });
    const edges = page.entries.map((entry: ReviewQueueEntry) => {
      const node = toImage(entry.image);
      ctx.loaders.image.prime(node.id, node);
      return Object.assign(new ReviewQueueEdge(), {
        cursor: encodeReviewCursor(scope, entry.position),
        node,
        score: entry.score,
        reasons: entry.reasons.map(toReason),
      });
    });
    return Object.assign(new ReviewQueueConnection(), { edges, pageInfo: pageInfoOf(edges, page.hasNextPage) });
  }
}

@Resolver(() => ReviewReason)
export class ReviewReasonResolver {
  @FieldResolver(() => T.Garment, { nullable: true })
  garment(@Root() reason: ReviewReason, @Ctx() ctx: GraphQLContext) {
    return reason.garmentId === null ? null : ctx.loaders.garment.load(reason.garmentId);
  }
}

export const REVIEW_RESOLVERS = [ReviewQueueResolver, ReviewReasonResolver] as const;
