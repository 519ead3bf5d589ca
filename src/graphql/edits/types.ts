/**
 * GraphQL types of garment edits: the inputs of the edit mutations and the history
 * (`Garment.history`, one GarmentEdit per change with the garment before and after).
 */
import 'reflect-metadata';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import { SuperCategory } from '../../kfashion/types';
import type { GarmentEditAction as GarmentEditActionValue } from '../../db/garment-edits';
import { globalId } from '../ids';
import { AttributeKind, Box, connectionType, DATABASE_ID, GarmentAttribute, LabelSource, Node, Point, type Connection } from '../types';

/** API spelling of `garment_edits.action`. */
export const GarmentEditAction = {
  UPDATE: 'update',
  CREATE: 'create',
  DELETE: 'delete',
  ACCEPT: 'accept',
  REVERT: 'revert',
} as const satisfies Record<string, GarmentEditActionValue>;
export type GarmentEditAction = GarmentEditActionValue;
registerEnumType(GarmentEditAction, {
  name: 'GarmentEditAction',
  description: 'What one edit of a garment did.',
  valuesConfig: {
    UPDATE: { description: 'Changed its box, polygon, category or attributes (updateGarment).' },
    CREATE: { description: 'Added it (addGarment).' },
    DELETE: { description: 'Deleted it (deleteGarment), an annotation or a rejected prediction.' },
    ACCEPT: { description: 'Created it as an annotation from a prediction (acceptPrediction).' },
    REVERT: { description: 'Gave it the values it had before another edit (revertGarmentEdit).' },
  } satisfies Record<keyof typeof GarmentEditAction, { description: string }>,
});

@ObjectType({ description: 'A garment as it was before or after one edit.' })
export class GarmentSnapshot {
  @Field(() => SuperCategory, { description: 'The slot it filled.' }) superCategory!: SuperCategory;
  @Field(() => String, { nullable: true, description: 'Category as stored (Korean).' }) category!: string | null;
  @Field(() => String, { nullable: true, description: 'English label of the category, when published.' }) categoryEn!: string | null;
  @Field(() => Box, { description: 'Bounding box in image pixels.' }) box!: Box;
  @Field(() => [Point], { description: 'Segmentation polygon; empty when it had none.' }) polygon!: Point[];
  @Field(() => [GarmentAttribute], { description: 'Every attribute value, category included, in kind order.' })
  attributes!: GarmentAttribute[];
  @Field(() => LabelSource, { description: 'Annotation or prediction.' }) source!: LabelSource;
  @Field(() => Float, { nullable: true, description: 'Detection score (predictions only).' }) score!: number | null;
}

@ObjectType({ implements: Node, description: 'One change of a garment by an editor: who, when, and the garment before and after.' })
export class GarmentEdit extends Node {
  id!: string;
  protected readonly nodeType = 'GarmentEdit' as const;
  @Field(() => String, DATABASE_ID) get databaseId(): string {
    return String(this.id);
  }
  @Field(() => GarmentEditAction, { description: 'What the edit did.' }) action!: GarmentEditAction;
  /** garment_edits.garment_id */
  garmentKey!: string;
  @Field(() => ID, { description: 'The Garment id it changed (the garment may have been deleted since).' })
  get garmentId(): string {
    return globalId('Garment', this.garmentKey);
  }
  @Field(() => String, {
    nullable: true,
    description: 'Name of the API token that made it; null without tokens or once the token is deleted.',
  })
  editor!: string | null;
  @Field(() => GraphQLDateTime, { description: 'When it was made.' }) createdAt!: Date;
  @Field(() => Int, { description: "The garment's revision after this edit." }) revision!: number;
  @Field(() => GarmentSnapshot, { nullable: true, description: 'The garment before; null when the edit created it.' })
  before!: GarmentSnapshot | null;
  @Field(() => GarmentSnapshot, { nullable: true, description: 'The garment after; null when the edit deleted it.' })
  after!: GarmentSnapshot | null;
  revertedEditKey!: string | null;
  @Field(() => ID, { nullable: true, description: 'For a REVERT, the GarmentEdit it undid.' })
  get revertedEditId(): string | null {
    return this.revertedEditKey === null ? null : globalId('GarmentEdit', this.revertedEditKey);
  }
}

export const GarmentEditConnection = connectionType(GarmentEdit, 'GarmentEdit', 'edits');
export type GarmentEditConnection = Connection<GarmentEdit>;

@InputType({ description: 'A box in image pixels: inside the image, x2 > x1 and y2 > y1 (x2/y2 exclusive edges).' })
export class BoxInput {
  @Field(() => Float, { description: 'Left edge, from 0.' }) x1!: number;
  @Field(() => Float, { description: 'Top edge, from 0.' }) y1!: number;
  @Field(() => Float, { description: 'Right edge (exclusive), at most the image width.' }) x2!: number;
  @Field(() => Float, { description: 'Bottom edge (exclusive), at most the image height.' }) y2!: number;
}

@InputType({ description: 'A polygon point in image pixels, inside the image.' })
export class PointInput {
  @Field(() => Float, { description: 'Pixels from the left edge.' }) x!: number;
  @Field(() => Float, { description: 'Pixels from the top edge.' }) y!: number;
}

@InputType({ description: "A garment kind's new values: they replace every value of that kind (an empty list clears it)." })
export class AttributeValuesInput {
  @Field(() => AttributeKind, { description: 'A garment kind other than CATEGORY (the category has its own field).' }) kind!: AttributeKind;
  @Field(() => [String], { description: 'Values from the vocabulary, Korean or English; one at most for single-valued kinds.' })
  values!: string[];
}

@InputType({ description: 'Changes to an annotation garment; absent fields stay as they are.' })
export class UpdateGarmentInput {
  @Field(() => ID, { description: 'The Garment to change (an annotation).' }) id!: string;
  @Field(() => Int, { description: 'The `revision` the change was made on; a stale one is refused with EDIT_CONFLICT.' }) revision!: number;
  @Field(() => BoxInput, { nullable: true, description: 'The new box.' }) box?: BoxInput | null;
  @Field(() => [PointInput], { nullable: true, description: 'The new polygon (at least 3 points, or empty to remove it).' })
  polygon?: PointInput[] | null;
  @Field(() => String, { nullable: true, description: 'The new category (Korean or English); the super-category follows it.' })
  category?: string | null;
  @Field(() => [AttributeValuesInput], { nullable: true, description: 'New values of these kinds; other kinds keep theirs.' })
  attributes?: AttributeValuesInput[] | null;
}

@InputType({ description: 'A garment the dataset or the model missed, added as an annotation.' })
export class AddGarmentInput {
  @Field(() => ID, { description: 'The Image it is in.' }) imageId!: string;
  @Field(() => String, { description: 'Its category (Korean or English); the super-category follows it.' }) category!: string;
  @Field(() => BoxInput, { description: 'Its box.' }) box!: BoxInput;
  @Field(() => [PointInput], { nullable: true, description: 'Its polygon (at least 3 points), if drawn.' }) polygon?: PointInput[] | null;
  @Field(() => [AttributeValuesInput], { nullable: true, description: 'Its attribute values, per kind.' })
  attributes?: AttributeValuesInput[] | null;
}

@InputType({ description: 'A prediction to accept as an annotation.' })
export class AcceptPredictionInput {
  @Field(() => ID, { description: 'The Garment (a PREDICTION) to accept.' }) id!: string;
  @Field(() => [AttributeKind], {
    nullable: true,
    description: 'The kinds whose predicted values are copied (the category always is); absent: every kind.',
  })
  kinds?: AttributeKind[] | null;
}
