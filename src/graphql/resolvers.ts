/**
 * Resolvers of the catalogue (images, garments, facets, vocabulary, model versions, training runs):
 * argument checks and mapping only; the rows come from the search service (filters, pages, facets),
 * the per-request loaders (rows by id or parent id) and the training service.
 */
import { GraphQLResolveInfo } from 'graphql';
import type { Role } from '../auth/roles';
import { Arg, Authorized, Ctx, FieldResolver, ID, Info, Int, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { refuseNulArguments } from './input-guards';
import { InvalidSearchInput } from '../db/search-filter';
import {
  AFTER_DESCRIPTION,
  connectionOf,
  decodeCursor,
  newestFirstPage,
  PAGE_SIZE_DESCRIPTION,
  pageSize,
  selectsField,
} from './connection';
import { GraphQLContext, THUMBNAIL_SIZES } from './context';
import { FACET_KIND_COST, VOCABULARY_COST } from './limits';
import { garmentFilter, imageFilter } from './filters';
import { keyOf, serialKeyOf } from './ids';
import { toGarment, toImage, toModelVersion, toTrainingRun } from './loaders';
import * as T from './types';

@Resolver()
@UseMiddleware(refuseNulArguments)
export class QueryResolver {
  @Authorized<Role>('viewer')
  @Query(() => T.Image, { nullable: true, description: 'An image by its K-Fashion 이미지 식별자.' })
  async imageByExternalId(
    @Arg('externalId', () => String, { description: 'The K-Fashion 이미지 식별자, e.g. "100026".' }) externalId: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    const page = await ctx.search.images({ externalId }, { first: 1 });
    return page.rows[0] ? toImage(page.rows[0]) : null;
  }

  @Authorized<Role>('viewer')
  @Query(() => T.Image, { nullable: true, description: 'An image by its global id; null when it does not exist.' })
  image(@Arg('id', () => ID, { description: 'The global id of an Image.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.image.load(keyOf('id', id, 'Image'));
  }

  @Authorized<Role>('viewer')
  @Query(() => T.ImageConnection, { description: 'Images matching `where`, in id order, with keyset cursors.' })
  async images(
    @Arg('where', () => T.ImageWhere, { nullable: true, description: 'Filter; absent: every image.' }) where: T.ImageWhere | null,
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.ImageConnection> {
    const page = await ctx.search.images(imageFilter(where), {
      first: pageSize(first, ctx.maxPageSize),
      afterId: after ? decodeCursor('image', after) : null,
    });
    const connection = connectionOf('image', page.rows, page.hasNextPage, toImage);
    for (const edge of connection.edges) ctx.loaders.image.prime(edge.node.id, edge.node);
    return Object.assign(new T.ImageConnection(), connection, { countMatches: page.count });
  }

  @Authorized<Role>('viewer')
  @Query(() => T.Garment, { nullable: true, description: 'A garment by its global id; null when it does not exist.' })
  garment(@Arg('id', () => ID, { description: 'The global id of a Garment.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.garment.load(keyOf('id', id, 'Garment'));
  }

  @Authorized<Role>('viewer')
  @Query(() => T.GarmentConnection, { description: 'Garments matching `where`, in id order, with keyset cursors.' })
  async searchGarments(
    @Arg('where', () => T.GarmentWhere, { description: 'Filter (`{}` for every garment).' }) where: T.GarmentWhere,
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after: string | null,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<T.GarmentConnection> {
    const page = await ctx.search.searchGarments(garmentFilter(where), {
      first: pageSize(first, ctx.maxPageSize),
      afterId: after ? decodeCursor('garment', after) : null,
      withCount: selectsField(info, 'totalCount'),
    });
    return Object.assign(new T.GarmentConnection(), connectionOf('garment', page.rows, page.hasNextPage, toGarment), {
      countMatches: page.count,
    });
  }

  @Authorized<Role>('viewer')
  @Query(() => [T.Facet], {
    description: 'Counts per value of each kind among the garments matching `where`.',
    complexity: ({ args, childComplexity }) =>
      Math.max(1, Array.isArray(args.kinds) ? args.kinds.length : 1) * (FACET_KIND_COST + childComplexity),
  })
  garmentFacets(
    @Arg('where', () => T.GarmentWhere, { nullable: true, description: 'Filter; absent: every garment.' }) where: T.GarmentWhere | null,
    @Arg('kinds', () => [T.AttributeKind], { description: 'Attribute kinds to count.' }) kinds: T.AttributeKind[],
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.search.garmentFacets(where && garmentFilter(where), kinds);
  }

  @Authorized<Role>('viewer')
  @Query(() => [T.VocabularyEntry], {
    description: 'Known values of one attribute kind (or all), most frequent first.',
    complexity: ({ childComplexity }) => VOCABULARY_COST + childComplexity,
  })
  vocabulary(
    @Arg('kind', () => T.AttributeKind, { nullable: true, description: 'One attribute kind; absent: all kinds.' })
    kind: T.AttributeKind | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.search.vocabularyEntries(kind);
  }

  @Authorized<Role>('viewer')
  @Query(() => T.ModelVersionConnection, { description: 'Model versions, newest first.' })
  async modelVersions(
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.ModelVersionConnection> {
    const page = await ctx.services.training.modelVersions(newestFirstPage('modelVersion', first, after, ctx.maxPageSize));
    return Object.assign(new T.ModelVersionConnection(), connectionOf('modelVersion', page.rows, page.hasNextPage, toModelVersion), {
      countMatches: () => ctx.services.training.countModelVersions(),
    });
  }

  @Authorized<Role>('viewer')
  @Query(() => T.ModelVersion, { nullable: true, description: 'A model version by its global id.' })
  modelVersion(@Arg('id', () => ID, { description: 'The global id of a ModelVersion.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.modelVersion.load(serialKeyOf('id', id, 'ModelVersion'));
  }

  @Authorized<Role>('viewer')
  @Query(() => T.TrainingRunConnection, { description: 'Training runs, newest first, optionally of one status.' })
  async trainingRuns(
    @Arg('status', () => T.JobStatus, { nullable: true, description: 'Only runs with this status.' }) status: T.JobStatus | null,
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.TrainingRunConnection> {
    const page = await ctx.services.training.list(status ?? null, newestFirstPage('trainingRun', first, after, ctx.maxPageSize));
    return Object.assign(new T.TrainingRunConnection(), connectionOf('trainingRun', page.rows, page.hasNextPage, toTrainingRun), {
      countMatches: () => ctx.services.training.count(status ?? null),
    });
  }

  @Authorized<Role>('viewer')
  @Query(() => T.TrainingRun, { nullable: true, description: 'A training run by its global id.' })
  trainingRun(@Arg('id', () => ID, { description: 'The global id of a TrainingRun.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.trainingRun.load(serialKeyOf('id', id, 'TrainingRun'));
  }
}

/** A `size` argument of an image URL: within THUMBNAIL_SIZES, or null when absent. */
function imageSize(size: number | null | undefined): number | null {
  if (size === null || size === undefined) return null;
  if (!Number.isInteger(size) || size < THUMBNAIL_SIZES.min || size > THUMBNAIL_SIZES.max) {
    throw new InvalidSearchInput('size', `must be between ${THUMBNAIL_SIZES.min} and ${THUMBNAIL_SIZES.max}`);
  }
  return size;
}

@Resolver(() => T.Image)
export class ImageResolver {
  @FieldResolver(() => T.Dataset, { nullable: true, description: 'The dataset the image was imported with; null for an uploaded photo.' })
  dataset(@Root() image: T.Image, @Ctx() ctx: GraphQLContext) {
    return image.datasetId === null ? null : ctx.loaders.dataset.load(image.datasetId);
  }

  @FieldResolver(() => [T.Style], { description: 'Image-level styles, in the order annotated.' })
  styles(@Root() image: T.Image, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.styles.load(image.id);
  }

  @FieldResolver(() => [T.Garment], {
    description: 'Garments in the photo, in id order.',
    complexity: ({ childComplexity }) => 4 * childComplexity,
  })
  garments(
    @Root() image: T.Image,
    @Arg('source', () => T.LabelSource, { nullable: true, description: 'Only annotations or only predictions; absent: both.' })
    source: T.LabelSource | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.loaders.garments(source).load(image.id);
  }

  @FieldResolver(() => String, { description: 'URL of the original image file.' })
  url(@Root() image: T.Image, @Ctx() ctx: GraphQLContext) {
    return ctx.urls.original(image.id);
  }

  @FieldResolver(() => String, { description: `JPEG that fits in size×size pixels (default ${THUMBNAIL_SIZES.default}).` })
  thumbnailUrl(
    @Root() image: T.Image,
    @Arg('size', () => Int, {
      nullable: true,
      description: `Longest side in pixels, ${THUMBNAIL_SIZES.min}–${THUMBNAIL_SIZES.max}; absent: ${THUMBNAIL_SIZES.default}.`,
    })
    size: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.urls.thumbnail(image.id, imageSize(size) ?? THUMBNAIL_SIZES.default);
  }

  @FieldResolver(() => String, { description: 'The photo with its garment boxes and labels drawn.' })
  annotatedUrl(
    @Root() image: T.Image,
    @Arg('source', () => T.LabelSource, { nullable: true, description: 'Draw only annotations or only predictions; absent: both.' })
    source: T.LabelSource | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.urls.annotated(image.id, source);
  }
}

@Resolver(() => T.Garment)
export class GarmentResolver {
  @FieldResolver(() => [T.GarmentAttribute], {
    description: 'Attribute values, in kind order (category, color, … detail).',
    complexity: ({ childComplexity }) => 12 * childComplexity,
  })
  attributes(@Root() garment: T.Garment, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.attributes.load(garment.id);
  }

  @FieldResolver(() => T.Image, { description: 'The image the garment is in.' })
  image(@Root() garment: T.Garment, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.image.load(garment.imageId);
  }

  @FieldResolver(() => T.ModelVersion, { nullable: true, description: 'The model version that predicted it; null for annotations.' })
  modelVersion(@Root() garment: T.Garment, @Ctx() ctx: GraphQLContext) {
    return garment.modelVersionId === null ? null : ctx.loaders.modelVersion.load(garment.modelVersionId);
  }

  @FieldResolver(() => String, { description: 'URL of a JPEG crop of the garment box.' })
  cropUrl(
    @Root() garment: T.Garment,
    @Arg('size', () => Int, {
      nullable: true,
      description: `Longest side in pixels, ${THUMBNAIL_SIZES.min}–${THUMBNAIL_SIZES.max}; absent: the box at its own size.`,
    })
    size: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.urls.crop(garment.id, imageSize(size));
  }

  @FieldResolver(() => Boolean, {
    description: 'Whether the garment has an appearance embedding (embedGarments, analyzeImage, predictImages) from a model version.',
  })
  async hasEmbedding(
    @Root() garment: T.Garment,
    @Arg('modelVersionId', () => ID, { nullable: true, description: 'The model version (a ModelVersion id); absent: the active one.' })
    modelVersionId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    const versionId =
      modelVersionId == null ? await ctx.loaders.activeModelVersionId() : serialKeyOf('modelVersionId', modelVersionId, 'ModelVersion');
    return versionId !== null && ctx.loaders.hasEmbedding.load(`${versionId}:${garment.id}`);
  }
}

@Resolver(() => T.ModelVersion)
export class ModelVersionResolver {
  @FieldResolver(() => T.TrainingRun, { nullable: true, description: 'The run that trained it; null for imported weights.' })
  trainingRun(@Root() version: T.ModelVersion, @Ctx() ctx: GraphQLContext) {
    return version.trainingRunId === null ? null : ctx.loaders.trainingRun.load(version.trainingRunId);
  }
}

@Resolver(() => T.TrainingRun)
export class TrainingRunResolver {
  @FieldResolver(() => T.ModelVersion, { nullable: true, description: 'The version the run produced, once it has succeeded.' })
  modelVersion(@Root() run: T.TrainingRun, @Ctx() ctx: GraphQLContext) {
    return run.modelVersionId === null ? null : ctx.loaders.modelVersion.load(run.modelVersionId);
  }

  @FieldResolver(() => [T.TrainingMetric], { description: 'Recorded metrics in step order, optionally of one name.' })
  metrics(
    @Root() run: T.TrainingRun,
    @Arg('name', () => String, { nullable: true, description: 'Only this metric (loss, lr, …); absent: all.' }) name: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.loaders.metrics(name).load(String(run.id));
  }
}

export const RESOLVERS = [QueryResolver, ImageResolver, GarmentResolver, ModelVersionResolver, TrainingRunResolver] as const;
