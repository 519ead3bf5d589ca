/**
 * GraphQL object, input and enum types (type-graphql). Types mirror the domain; resolvers for the
 * fields that need the database live in resolvers.ts. Every field names its GraphQL type
 * explicitly: ts-jest compiles files in isolation, so decorator metadata cannot be relied on.
 */
// type-graphql's decorators read design-time metadata through the Reflect API this polyfill adds.
import 'reflect-metadata';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject, GraphQLDateTime } from 'graphql-scalars';
import { SuperCategory } from '../kfashion/types';

registerEnumType(SuperCategory, {
  name: 'SuperCategory',
  description: 'Garment slot of a K-Fashion image: TOP 상의, BOTTOM 하의, OUTER 아우터, ONE_PIECE 원피스.',
});

/** API spelling of `garments.source` ('annotation' | 'prediction'). */
export enum LabelSource {
  ANNOTATION = 'annotation',
  PREDICTION = 'prediction',
}
registerEnumType(LabelSource, {
  name: 'LabelSource',
  description: 'ANNOTATION: labelled by K-Fashion annotators; PREDICTION: produced by a model version.',
});

/** API spelling of `images.split` ('train' | 'validation'). */
export enum Split {
  TRAIN = 'train',
  VALIDATION = 'validation',
}
registerEnumType(Split, { name: 'Split', description: 'Dataset split: TRAIN (Training/…) or VALIDATION (Validation/…).' });

@ObjectType({ description: 'Axis-aligned box in image pixels; x2/y2 are the exclusive right/bottom edges.' })
export class Box {
  @Field(() => Float) x1!: number;
  @Field(() => Float) y1!: number;
  @Field(() => Float) x2!: number;
  @Field(() => Float) y2!: number;
}

@ObjectType()
export class Point {
  @Field(() => Float) x!: number;
  @Field(() => Float) y!: number;
}

@ObjectType({ description: 'One attribute value of a garment; `score` is the model probability for predictions.' })
export class GarmentAttribute {
  @Field(() => String, { description: 'Attribute kind: category, color, subColor, length, … detail.' }) kind!: string;
  @Field(() => String, { description: 'Value as stored (Korean).' }) value!: string;
  @Field(() => String, { nullable: true, description: 'English label, when the value is in the published lists.' })
  valueEn!: string | null;
  @Field(() => Float, { nullable: true }) score!: number | null;
}

@ObjectType({ description: 'An image-level style (스타일) with its optional sub-style (서브스타일).' })
export class Style {
  @Field(() => String) style!: string;
  @Field(() => String, { nullable: true }) styleEn!: string | null;
  @Field(() => String, { nullable: true }) subStyle!: string | null;
  @Field(() => String, { nullable: true }) subStyleEn!: string | null;
}

@ObjectType()
export class Image {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true, description: 'K-Fashion 이미지 식별자.' }) externalId!: string | null;
  @Field(() => String) fileName!: string;
  @Field(() => Int) width!: number;
  @Field(() => Int) height!: number;
  @Field(() => Split, { nullable: true }) split!: Split | null;
  datasetId!: number | null;
}

@ObjectType()
export class Garment {
  @Field(() => ID) id!: string;
  @Field(() => SuperCategory) superCategory!: SuperCategory;
  @Field(() => String, { nullable: true, description: 'Category as stored (Korean), e.g. 블라우스.' })
  category!: string | null;
  @Field(() => String, { nullable: true, description: 'English label of the category, e.g. blouse.' })
  categoryEn!: string | null;
  @Field(() => Box) box!: Box;
  @Field(() => [Point], { description: 'Segmentation polygon in point order; empty when the garment has none.' })
  polygon!: Point[];
  @Field(() => LabelSource) source!: LabelSource;
  @Field(() => Float, { nullable: true, description: 'Detection score (predictions only).' }) score!: number | null;
  imageId!: string;
  modelVersionId!: number | null;
}

@ObjectType()
export class FacetValue {
  @Field(() => String) value!: string;
  @Field(() => String, { nullable: true }) valueEn!: string | null;
  @Field(() => Int) count!: number;
}

@ObjectType({ description: 'Counts of the values of one attribute kind among the matching garments.' })
export class Facet {
  @Field(() => String) kind!: string;
  @Field(() => [FacetValue]) values!: FacetValue[];
}

@ObjectType()
export class VocabularyEntry {
  @Field(() => String) kind!: string;
  @Field(() => String) value!: string;
  @Field(() => String, { nullable: true }) valueEn!: string | null;
  @Field(() => Int, { description: 'How many garments (or images, for styles) carry this value.' }) count!: number;
}

@ObjectType({ description: 'A trained model (read-only here; activation comes with the training API).' })
export class ModelVersion {
  @Field(() => ID) id!: number;
  @Field(() => String) name!: string;
  @Field(() => String) backbone!: string;
  @Field(() => GraphQLJSONObject) config!: Record<string, unknown>;
  @Field(() => GraphQLJSONObject, { nullable: true }) metrics!: Record<string, unknown> | null;
  @Field(() => Boolean) isActive!: boolean;
  @Field(() => GraphQLDateTime) createdAt!: Date;
  trainingRunId!: number | null;
}

@ObjectType()
export class TrainingMetric {
  @Field(() => Int) step!: number;
  @Field(() => Int) epoch!: number;
  @Field(() => String) name!: string;
  @Field(() => Float) value!: number;
}

@ObjectType()
export class TrainingRun {
  @Field(() => ID) id!: number;
  @Field(() => String, { description: 'queued, running, succeeded, failed or cancelled.' }) status!: string;
  /** The stored params (training_runs.params); the params field (TrainingRunParams) shows them as StartTrainingInput takes them. */
  params!: Record<string, unknown>;
  @Field(() => GraphQLJSONObject, { nullable: true }) progress!: Record<string, unknown> | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => GraphQLDateTime) createdAt!: Date;
  @Field(() => GraphQLDateTime, { nullable: true }) startedAt!: Date | null;
  @Field(() => GraphQLDateTime, { nullable: true }) finishedAt!: Date | null;
  modelVersionId!: number | null;
}

// ---------------------------------------------------------------------------------------------
// Connections

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => Boolean, { description: 'Always false: pages move forward only (keyset cursors).' })
  hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType()
export class GarmentEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Garment) node!: Garment;
}

@ObjectType()
export class GarmentConnection {
  @Field(() => [GarmentEdge]) edges!: GarmentEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  /** Runs the count query only when a client selects `totalCount`. */
  countMatches!: () => Promise<number>;
}

@ObjectType()
export class ImageEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Image) node!: Image;
}

@ObjectType()
export class ImageConnection {
  @Field(() => [ImageEdge]) edges!: ImageEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  countMatches!: () => Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Inputs

@InputType({ description: 'One attribute condition; values in Korean (as stored) or English.' })
export class AttributeConditionInput {
  @Field(() => String, { description: 'category, color, subColor, length, sleeveLength, neckline, collar, fit, material, print, detail, style or subStyle.' })
  kind!: string;
  @Field(() => [String], { nullable: true, description: 'The garment has at least one of these values.' })
  anyOf?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'The garment has all of these values (material, print, detail, style, subStyle).' })
  allOf?: string[] | null;
}

const anyOfDescription = (what: string) => `${what}: any of these values (Korean or English).`;

@InputType({ description: 'Garment filter. Fields combine with AND; values accept Korean or English labels.' })
export class GarmentWhere {
  @Field(() => [SuperCategory], { nullable: true }) superCategory?: SuperCategory[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Category') }) category?: string[] | null;
  @Field(() => [AttributeConditionInput], { nullable: true }) attributes?: AttributeConditionInput[] | null;
  @Field(() => [String], { nullable: true, description: "The garment's image has any of these styles." })
  styles?: string[] | null;
  @Field(() => Split, { nullable: true }) split?: Split | null;
  @Field(() => LabelSource, { nullable: true }) source?: LabelSource | null;
  @Field(() => ID, { nullable: true }) modelVersionId?: string | null;
  @Field(() => Float, { nullable: true, description: 'Detection score at least this (predictions only).' })
  minScore?: number | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Colour') }) color?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Sub-colour') }) subColor?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Length') }) length?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Sleeve length') })
  sleeveLength?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Neckline') }) neckline?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Collar') }) collar?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Fit') }) fit?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Material') }) material?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Print') }) print?: string[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Detail') }) detail?: string[] | null;
  @Field(() => [GarmentWhere], { nullable: true }) and?: GarmentWhere[] | null;
  @Field(() => [GarmentWhere], { nullable: true }) or?: GarmentWhere[] | null;
  @Field(() => GarmentWhere, { nullable: true }) not?: GarmentWhere | null;
}

@InputType({ description: 'Image filter. Fields combine with AND.' })
export class ImageWhere {
  @Field(() => Split, { nullable: true }) split?: Split | null;
  @Field(() => [String], { nullable: true, description: 'Any of these styles (Korean or English).' })
  styles?: string[] | null;
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field(() => Int, { nullable: true }) datasetId?: number | null;
  @Field(() => GarmentWhere, { nullable: true, description: 'Images with at least one garment matching this.' })
  garments?: GarmentWhere | null;
}
