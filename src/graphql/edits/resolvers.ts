/**
 * The edit mutations (role `editor`) and `Garment.history` (batched per page asked for: a page of
 * garments with their histories costs one statement): arguments checked (./input.ts), then
 * src/db/garment-edits.ts does the edit in one transaction; a stale revision comes back as
 * EDIT_CONFLICT with `extensions.currentRevision` (../errors.ts).
 */
import type { Role } from '../../auth/roles';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root, UseMiddleware } from 'type-graphql';
import {
  acceptPrediction,
  addGarment,
  deleteGarment,
  markImageReviewed,
  revertGarmentEdit,
  updateGarment,
  type EditScope,
  type Editor,
} from '../../db/garment-edits';
import { AFTER_DESCRIPTION, connectionOf, newestFirstPage, PAGE_SIZE_DESCRIPTION } from '../connection';
import type { GraphQLContext } from '../context';
import { badInput, notFound } from '../errors';
import { keyOf } from '../ids';
import { refuseNulArguments } from '../input-guards';
import { toGarmentEdit } from '../loaders';
import * as T from '../types';
import { checkRevision, editableKind, resolveEditValues } from './input';
import { AcceptPredictionInput, AddGarmentInput, GarmentEditConnection, UpdateGarmentInput } from './types';

function editorOf(ctx: GraphQLContext): Editor {
  return { tokenId: ctx.principal.tokenId ?? null };
}

/** The garment as stored now (not as this request's loader may have cached it before the edit). */
async function freshGarment(ctx: GraphQLContext, id: string): Promise<T.Garment> {
  const garment = await ctx.loaders.garment.clear(id).load(id);
  if (!garment) throw notFound('the garment');
  return garment;
}

@Resolver()
@UseMiddleware(refuseNulArguments)
export class EditMutationResolver {
  @Authorized<Role>('editor')
  @Mutation(() => T.Garment, {
    description:
      "Changes an annotation garment's box, polygon, category or attribute values, if it is still at `input.revision` (else EDIT_CONFLICT). Recorded in its history.",
  })
  async updateGarment(
    @Arg('input', () => UpdateGarmentInput, { description: 'The garment, the revision read, and the changes.' }) input: UpdateGarmentInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.Garment> {
    const id = keyOf('input.id', input.id, 'Garment');
    const revision = checkRevision('input.revision', input.revision);
    if ([input.box, input.polygon, input.category, input.attributes].every((field) => field == null)) {
      throw badInput('input', 'give at least one of box, polygon, category and attributes to change');
    }
    const values = await resolveEditValues(ctx.search.vocabulary, input);
    const change = { box: input.box, polygon: input.polygon, category: values.category, attributes: values.attributes };
    await updateGarment(ctx.search.dataSource, id, revision, change, editorOf(ctx));
    return freshGarment(ctx, id);
  }

  @Authorized<Role>('editor')
  @Mutation(() => T.Garment, { description: 'Adds a garment the dataset or the model missed, as an annotation.' })
  async addGarment(
    @Arg('input', () => AddGarmentInput, { description: 'The image, category, box and optional polygon and attributes.' })
    input: AddGarmentInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.Garment> {
    const imageId = keyOf('input.imageId', input.imageId, 'Image');
    const values = await resolveEditValues(ctx.search.vocabulary, input);
    const id = await addGarment(
      ctx.search.dataSource,
      { imageId, category: values.category!, box: input.box, polygon: input.polygon, attributes: values.attributes },
      editorOf(ctx),
    );
    return freshGarment(ctx, id);
  }

  @Authorized<Role>('editor')
  @Mutation(() => ID, {
    description: 'Deletes a garment (an annotation, or a prediction being rejected) still at `revision`; answers its id. Revertible.',
  })
  async deleteGarment(
    @Arg('id', () => ID, { description: 'The Garment to delete.' }) id: string,
    @Arg('revision', () => Int, { description: 'The revision read; a stale one is refused with EDIT_CONFLICT.' }) revision: number,
    @Ctx() ctx: GraphQLContext,
  ): Promise<string> {
    const key = keyOf('id', id, 'Garment');
    try {
      await deleteGarment(ctx.search.dataSource, key, checkRevision('revision', revision), editorOf(ctx));
    } finally {
      ctx.loaders.garment.clear(key);
    }
    return id;
  }

  @Authorized<Role>('editor')
  @Mutation(() => T.Garment, {
    description:
      'Copies a prediction (box, polygon, category and the values of `kinds`) into a new annotation garment; the prediction stays.',
  })
  async acceptPrediction(
    @Arg('input', () => AcceptPredictionInput, { description: 'The prediction and the kinds to copy.' }) input: AcceptPredictionInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.Garment> {
    const id = keyOf('input.id', input.id, 'Garment');
    const kinds = input.kinds == null ? null : input.kinds.map((kind, i) => editableKind(`input.kinds[${i}]`, kind));
    return freshGarment(ctx, await acceptPrediction(ctx.search.dataSource, id, kinds, editorOf(ctx)));
  }

  @Authorized<Role>('editor')
  @Mutation(() => T.Garment, {
    nullable: true,
    description:
      'Gives the garment the values it had before that edit, as a new edit (a deleted garment comes back with its id); null when the result is no garment (the edit created it).',
  })
  async revertGarmentEdit(
    @Arg('id', () => ID, { description: 'The GarmentEdit to undo (from Garment.history).' }) id: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.Garment | null> {
    const garmentId = await revertGarmentEdit(ctx.search.dataSource, keyOf('id', id, 'GarmentEdit'), editorOf(ctx));
    return garmentId === null ? null : freshGarment(ctx, garmentId);
  }

  @Authorized<Role>('editor')
  @Mutation(() => T.Image, { description: 'Marks an image reviewed by this token (or, with `reviewed: false`, not reviewed).' })
  async markImageReviewed(
    @Arg('id', () => ID, { description: 'The Image.' }) id: string,
    @Arg('reviewed', () => Boolean, { defaultValue: true, description: 'Reviewed (default) or not.' }) reviewed: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.Image> {
    const key = keyOf('id', id, 'Image');
    if (!(await markImageReviewed(ctx.search.dataSource, key, reviewed, editorOf(ctx)))) throw notFound(`image ${id}`);
    const image = await ctx.loaders.image.clear(key).load(key);
    if (!image) throw notFound(`image ${id}`);
    return image;
  }
}

/** One page of the edits of a garment or an image, newest first, as a connection. */
async function editConnection(
  ctx: GraphQLContext,
  scope: EditScope,
  ownerId: string,
  first: number | null,
  after: string | null,
): Promise<GarmentEditConnection> {
  const page = newestFirstPage('garmentEdit', first, after, ctx.maxPageSize);
  const rows = await ctx.loaders.editHistory(`${scope}:${page.limit}:${page.beforeId ?? ''}`).load(ownerId);
  return Object.assign(
    new GarmentEditConnection(),
    connectionOf('garmentEdit', rows.slice(0, page.limit), rows.length > page.limit, toGarmentEdit),
    { countMatches: () => ctx.loaders.editCount(scope).load(ownerId) },
  );
}

@Resolver(() => T.Garment)
export class GarmentHistoryResolver {
  @FieldResolver(() => GarmentEditConnection, { description: 'Every change people made to the garment, newest first.' })
  history(
    @Root() garment: T.Garment,
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<GarmentEditConnection> {
    return editConnection(ctx, 'garment', garment.id, first, after);
  }
}

@Resolver(() => T.Image)
export class ImageEditsResolver {
  @FieldResolver(() => GarmentEditConnection, {
    description:
      "Every change people made to the image's garments, newest first, deleted garments included (what an undo of a deletion reverts).",
  })
  garmentEdits(
    @Root() image: T.Image,
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<GarmentEditConnection> {
    return editConnection(ctx, 'image', image.id, first, after);
  }
}

export const EDIT_RESOLVERS = [EditMutationResolver, GarmentHistoryResolver, ImageEditsResolver] as const;
