/**
 * similarGarments and shopTheLook: argument checks, the model version (the active one by default),
 * offset cursors, and the garments of the ranked ids; the search itself is src/similarity's.
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Int, Query, Resolver, UseMiddleware } from 'type-graphql';
import type { Role } from '../../auth/roles';
import { EmbeddingNotFound, type NearestRequest, type RankedGarments } from '../../similarity/similar-garments';
import { IndexBuilding } from '../../similarity/similarity-indexes';
import type { Neighbour } from '../../similarity/garment-vector-index';
import { AFTER_DESCRIPTION, decodeCursor, encodeCursor, PAGE_SIZE_DESCRIPTION, pageSize } from '../connection';
import type { GraphQLContext } from '../context';
import { badInput, ErrorCode } from '../errors';
import { garmentFilter } from '../filters';
import { keyOf, serialKeyOf } from '../ids';
import { refuseNulArguments } from '../input-guards';
import * as T from '../types';
import { LookMatch, SimilarGarmentConnection, SimilarGarmentEdge } from './types';

/** Deepest rank a page of similarGarments may reach (`after` + `first`): each page ranks every garment above it again. */
export const MAX_SIMILAR_DEPTH = 1_000;
/** Garments of one photo that shopTheLook matches (in id order): each is a search of its own. */
export const MAX_LOOK_GARMENTS = 12;

const MODEL_VERSION_DESCRIPTION = 'The ModelVersion whose embeddings are compared; absent: the active one.';
const WHERE_DESCRIPTION = 'Only garments matching this filter (applied inside the search); absent: every garment.';

/** What a client sees of a search whose index is still being built: retry later (503). */
function indexBuilding(): GraphQLError {
  return new GraphQLError('the similarity index of that model version is being built; retry in a moment', {
    extensions: { code: ErrorCode.ServiceUnavailable, http: { status: 503 } },
  });
}

/** Runs a search, answering its refusals as the API's errors. */
async function searching<T>(garmentId: string, search: () => Promise<T>): Promise<T> {
  try {
    return await search();
  } catch (error) {
    if (error instanceof EmbeddingNotFound) throw embeddingNotFound(error, garmentId);
    if (error instanceof IndexBuilding) throw indexBuilding();
    throw error;
  }
}

function embeddingNotFound(error: EmbeddingNotFound, garmentId: string): GraphQLError {
  return new GraphQLError(`garment ${garmentId} has no embedding of that model version (run embedGarments or analyse its photo with it)`, {
    extensions: { code: ErrorCode.EmbeddingNotFound, field: 'garmentId', modelVersionId: String(error.modelVersionId) },
  });
}

async function modelVersionOf(modelVersionId: string | null, ctx: GraphQLContext): Promise<number> {
  if (modelVersionId != null) return serialKeyOf('modelVersionId', modelVersionId, 'ModelVersion');
  const active = await ctx.similar.activeModelVersionId();
  if (active === null) throw badInput('modelVersionId', 'no model version is active: name the one whose embeddings to compare');
  return active;
}

/** The rank a cursor stands at (cursors of similarGarments are positions in its ranking). */
function offsetOf(after: string | null | undefined): number {
  if (after == null) return 0;
  const offset = Number(decodeCursor('similarGarment', after));
  if (offset > MAX_SIMILAR_DEPTH) throw badInput('after', `"${after}" is not a cursor of this similarGarment connection`);
  return offset;
}

/** Edges for ranked garments that still exist (one deleted since it was ranked is left out). */
async function edgesOf(neighbours: readonly Neighbour[], offset: number, ctx: GraphQLContext): Promise<SimilarGarmentEdge[]> {
  const garments = await ctx.loaders.garment.loadMany(neighbours.map((neighbour) => String(neighbour.garmentId)));
  const edges: SimilarGarmentEdge[] = [];
  neighbours.forEach((neighbour, i) => {
    const node = garments[i];
    if (node instanceof T.Garment) {
      edges.push({ cursor: encodeCursor('similarGarment', offset + i + 1), node, similarity: neighbour.similarity });
    }
  });
  return edges;
}

@Resolver()
@UseMiddleware(refuseNulArguments)
export class SimilarityResolver {
  @Authorized<Role>('viewer')
  @Query(() => SimilarGarmentConnection, {
    description:
      'Garments that look like `garmentId` (itself excluded), most similar first: nearest neighbours of its embedding of a model version, among the garments `where` admits.',
  })
  async similarGarments(
    @Arg('garmentId', () => ID, { description: 'The Garment to compare with.' }) garmentId: string,
    @Arg('modelVersionId', () => ID, { nullable: true, description: MODEL_VERSION_DESCRIPTION }) modelVersionId: string | null,
    @Arg('where', () => T.GarmentWhere, { nullable: true, description: WHERE_DESCRIPTION }) where: T.GarmentWhere | null,
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, {
      nullable: true,
      description: `${AFTER_DESCRIPTION} Pages reach at most rank ${MAX_SIMILAR_DEPTH}.`,
    })
    after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SimilarGarmentConnection> {
    const garmentKey = keyOf('garmentId', garmentId, 'Garment');
    const count = pageSize(first, ctx.maxPageSize);
    const offset = offsetOf(after);
    if (offset + count > MAX_SIMILAR_DEPTH) {
      throw badInput(
        'first',
        `pages reach at most rank ${MAX_SIMILAR_DEPTH} (after rank ${offset}, ask for at most ${MAX_SIMILAR_DEPTH - offset})`,
      );
    }
    const request: NearestRequest = {
      modelVersionId: await modelVersionOf(modelVersionId, ctx),
      filter: where ? garmentFilter(where) : null,
      offset,
      count,
    };
    const ranked: RankedGarments = await searching(garmentId, () => ctx.similar.similarTo(Number(garmentKey), request));
    const edges = await edgesOf(ranked.neighbours, offset, ctx);
    return {
      edges,
      pageInfo: {
        hasNextPage: ranked.hasMore && offset + count < MAX_SIMILAR_DEPTH,
        hasPreviousPage: false,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.length ? encodeCursor('similarGarment', offset + ranked.neighbours.length) : (after ?? null),
      },
    };
  }

  @Authorized<Role>('viewer')
  @Query(() => [LookMatch], {
    description: `Shop the look: each garment of a photo (a dataset image or an analysed upload; at most ${MAX_LOOK_GARMENTS}, in id order) with the garments that look most like it.`,
    complexity: ({ args, childComplexity }) =>
      MAX_LOOK_GARMENTS * (1 + (typeof args.first === 'number' ? args.first : 5) * Math.max(1, childComplexity)),
  })
  async shopTheLook(
    @Arg('imageId', () => ID, { description: 'The Image whose garments to match.' }) imageId: string,
    @Arg('modelVersionId', () => ID, { nullable: true, description: MODEL_VERSION_DESCRIPTION }) modelVersionId: string | null,
    @Arg('where', () => T.GarmentWhere, { nullable: true, description: WHERE_DESCRIPTION }) where: T.GarmentWhere | null,
    @Arg('first', () => Int, {
      nullable: true,
      description: 'Matches per garment: 0 to the page limit (default 5).',
    })
    first: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<LookMatch[]> {
    const imageKey = keyOf('imageId', imageId, 'Image');
    const count = first == null ? 5 : pageSize(first, ctx.maxPageSize);
    const request: NearestRequest = {
      modelVersionId: await modelVersionOf(modelVersionId, ctx),
      filter: where ? garmentFilter(where) : null,
      offset: 0,
      count,
    };
    const garments = (await ctx.loaders.garments(null).load(imageKey)).slice(0, MAX_LOOK_GARMENTS);
    const matches = await searching(imageId, () =>
      ctx.similar.lookOf(
        garments.map((garment) => Number(garment.id)),
        request,
      ),
    );
    return Promise.all(
      garments.map(async (garment) => ({ garment, matches: await edgesOf(matches.get(Number(garment.id)) ?? [], 0, ctx) })),
    );
  }
}
