/**
 * GraphQL object, input and enum types (type-graphql). Types mirror the domain; resolvers for the
 * fields that need the database live in resolvers.ts. Every field names its GraphQL type
 * explicitly: ts-jest compiles files in isolation, so decorator metadata cannot be relied on.
 */
// type-graphql's decorators read design-time metadata through the Reflect API this polyfill adds.
import 'reflect-metadata';
import { type ClassType, Field, Float, ID, InputType, Int, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject, GraphQLDateTime } from 'graphql-scalars';
import { ATTRIBUTE_KINDS, SuperCategory, type AttributeKind as AttributeKindValue } from '../kfashion/types';
import type { RunStatus } from '../db/entities';
import { TRAINING_PHASES, type TrainingPhaseName } from '../db/training-progress';
import { globalId, type NodeTypeName } from './ids';

registerEnumType(SuperCategory, {
  name: 'SuperCategory',
  description: 'Garment slot of a K-Fashion image: TOP 상의, BOTTOM 하의, OUTER 아우터, ONE_PIECE 원피스.',
  valuesConfig: {
    TOP: { description: '상의: blouses, shirts, knitwear, …' },
    BOTTOM: { description: '하의: skirts, trousers, …' },
    OUTER: { description: '아우터: coats, jackets, …' },
    ONE_PIECE: { description: '원피스: dresses, jumpsuits, …' },
  },
});

/** The API name of an attribute kind: `subColor` is SUB_COLOR. */
export function attributeKindName(kind: AttributeKindValue): string {
  return kind.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();
}

/** API spelling of the attribute kinds (ATTRIBUTE_KINDS of src/kfashion/types.ts). */
export const AttributeKind: Readonly<Record<string, AttributeKindValue>> = Object.fromEntries(
  ATTRIBUTE_KINDS.map((kind) => [attributeKindName(kind), kind]),
);
export type AttributeKind = AttributeKindValue;
const ATTRIBUTE_KIND_DESCRIPTIONS: Record<AttributeKindValue, string> = {
  category: 'Category (카테고리): blouse, skirt, … One per garment.',
  color: 'Colour (색상). One per garment.',
  subColor: 'Second colour (서브색상). One per garment.',
  length: 'Length (기장). One per garment.',
  sleeveLength: 'Sleeve length (소매기장). One per garment.',
  neckline: 'Neckline (넥라인). One per garment.',
  collar: 'Collar (칼라). One per garment.',
  fit: 'Fit (핏). One per garment.',
  material: 'Material (소재). Several per garment.',
  print: 'Print (프린트). Several per garment.',
  detail: 'Detail (디테일). Several per garment.',
  style: 'Style of the image (스타일), e.g. romantic.',
  subStyle: 'Sub-style of the image (서브스타일).',
};
registerEnumType(AttributeKind, {
  name: 'AttributeKind',
  description: 'An attribute kind of the K-Fashion labels: the garment kinds, then the image-level style kinds.',
  valuesConfig: Object.fromEntries(
    ATTRIBUTE_KINDS.map((kind) => [attributeKindName(kind), { description: ATTRIBUTE_KIND_DESCRIPTIONS[kind] }]),
  ),
});

/** API spelling of `garments.source` ('annotation' | 'prediction'). */
export enum LabelSource {
  ANNOTATION = 'annotation',
  PREDICTION = 'prediction',
}
registerEnumType(LabelSource, {
  name: 'LabelSource',
  description: 'Where a garment comes from.',
  valuesConfig: {
    ANNOTATION: { description: 'Labelled by K-Fashion annotators.' },
    PREDICTION: { description: 'Produced by a model version (analyzeImage, predictImages).' },
  },
});

/** API spelling of `images.split` ('train' | 'validation'). */
export enum Split {
  TRAIN = 'train',
  VALIDATION = 'validation',
}
registerEnumType(Split, {
  name: 'Split',
  description: 'Dataset split of an imported image.',
  valuesConfig: { TRAIN: { description: 'Imported from Training/….' }, VALIDATION: { description: 'Imported from Validation/….' } },
});

/** API spelling of a training run's or prediction job's status (the `RunStatus` of the database). */
export const JobStatus = {
  QUEUED: 'queued',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
} as const satisfies Record<string, RunStatus>;
export type JobStatus = RunStatus;
registerEnumType(JobStatus, {
  name: 'JobStatus',
  description: 'Status of a training run or prediction job.',
  valuesConfig: {
    QUEUED: { description: 'Waiting for a model server to take it.' },
    RUNNING: { description: 'A model server works on it.' },
    SUCCEEDED: { description: 'Finished; a run has produced its model version.' },
    FAILED: { description: 'Stopped by an error (see `error`).' },
    CANCELLED: { description: 'Stopped on request (cancelTraining, cancelPrediction).' },
  },
});

@InterfaceType({ description: 'An object with a global id (Relay Global Object Identification): `node(id:)` fetches it again by that id.' })
export abstract class Node {
  /** The row's key in its table: what the loaders and the image URLs use. */
  abstract readonly id: string | number;
  protected abstract readonly nodeType: NodeTypeName;

  @Field(() => ID, {
    name: 'id',
    description: 'Global id: opaque, unique across all types (base64url of "Type:key"); every argument naming an object takes it.',
  })
  get globalId(): string {
    return globalId(this.nodeType, this.id);
  }
}

/** The `databaseId` field each Node type declares (not in the interface: Relay's Node has `id` only). */
export const DATABASE_ID = {
  name: 'databaseId',
  description: 'The key of the row in its table, as decimal text, for people and logs; the API takes `id`.',
};

@ObjectType({ description: 'Axis-aligned box in image pixels; x2/y2 are the exclusive right/bottom edges.' })
export class Box {
  @Field(() => Float, { description: 'Left edge, in pixels from the left.' }) x1!: number;
  @Field(() => Float, { description: 'Top edge, in pixels from the top.' }) y1!: number;
  @Field(() => Float, { description: 'Right edge (exclusive), in pixels from the left.' }) x2!: number;
  @Field(() => Float, { description: 'Bottom edge (exclusive), in pixels from the top.' }) y2!: number;
}

@ObjectType({ description: 'A point of a polygon, in image pixels.' })
export class Point {
  @Field(() => Float, { description: 'Pixels from the left edge.' }) x!: number;
  @Field(() => Float, { description: 'Pixels from the top edge.' }) y!: number;
}

@ObjectType({ description: 'One attribute value of a garment; `score` is the model probability for predictions.' })
export class GarmentAttribute {
  @Field(() => AttributeKind, { description: 'The attribute kind.' }) kind!: AttributeKind;
  @Field(() => String, { description: 'Value as stored (Korean).' }) value!: string;
  @Field(() => String, { nullable: true, description: 'English label, when the value is in the published lists.' })
  valueEn!: string | null;
  @Field(() => Float, { nullable: true, description: 'Model probability of the value (predictions only; null for annotations).' }) score!:
    number | null;
}

@ObjectType({ description: 'An image-level style (스타일) with its optional sub-style (서브스타일).' })
export class Style {
  @Field(() => String, { description: 'Style as stored (Korean), e.g. 로맨틱.' }) style!: string;
  @Field(() => String, { nullable: true, description: 'English label of the style, when published.' }) styleEn!: string | null;
  @Field(() => String, { nullable: true, description: 'Sub-style as stored (Korean); null when the image has none.' }) subStyle!:
    string | null;
  @Field(() => String, { nullable: true, description: 'English label of the sub-style, when published.' }) subStyleEn!: string | null;
}

@ObjectType({ implements: Node, description: 'An imported K-Fashion tree (`kfashion import`); uploaded photos belong to none.' })
export class Dataset extends Node {
  id!: number;
  protected readonly nodeType = 'Dataset' as const;
  @Field(() => String, DATABASE_ID) get databaseId(): string {
    return String(this.id);
  }
  @Field(() => String, { description: 'Name given at import (the folder name by default).' }) name!: string;
  @Field(() => GraphQLDateTime, { description: 'When the import created it.' }) createdAt!: Date;
}

@ObjectType({ implements: Node, description: 'A photo of the dataset or an uploaded one, with its garments.' })
export class Image extends Node {
  id!: string;
  protected readonly nodeType = 'Image' as const;
  @Field(() => String, DATABASE_ID) get databaseId(): string {
    return String(this.id);
  }
  @Field(() => String, { nullable: true, description: 'K-Fashion 이미지 식별자.' }) externalId!: string | null;
  @Field(() => String, { description: 'File name of the photo (as imported or uploaded).' }) fileName!: string;
  @Field(() => Int, { description: 'Width in pixels.' }) width!: number;
  @Field(() => Int, { description: 'Height in pixels.' }) height!: number;
  @Field(() => Split, { nullable: true, description: 'Dataset split; null for an uploaded photo.' }) split!: Split | null;
  @Field(() => GraphQLDateTime, {
    nullable: true,
    description: 'When an editor marked it reviewed (markImageReviewed); null: not reviewed.',
  })
  reviewedAt!: Date | null;
  datasetId!: number | null;
}

@ObjectType({ implements: Node, description: 'One garment in an image: an annotation or a prediction of a model version.' })
export class Garment extends Node {
  id!: string;
  protected readonly nodeType = 'Garment' as const;
  @Field(() => String, DATABASE_ID) get databaseId(): string {
    return String(this.id);
  }
  @Field(() => SuperCategory, { description: 'The slot the garment fills: top, bottom, outer or one-piece.' })
  superCategory!: SuperCategory;
  @Field(() => String, { nullable: true, description: 'Category as stored (Korean), e.g. 블라우스.' })
  category!: string | null;
  @Field(() => String, { nullable: true, description: 'English label of the category, e.g. blouse.' })
  categoryEn!: string | null;
  @Field(() => Box, { description: 'Bounding box in image pixels.' }) box!: Box;
  @Field(() => [Point], { description: 'Segmentation polygon in point order; empty when the garment has none.' })
  polygon!: Point[];
  @Field(() => LabelSource, { description: 'Annotation or prediction.' }) source!: LabelSource;
  @Field(() => Float, { nullable: true, description: 'Detection score (predictions only).' }) score!: number | null;
  @Field(() => Int, {
    description:
      'Bumped by every edit; an edit (updateGarment, deleteGarment) names the revision it read and is refused as EDIT_CONFLICT when stale.',
  })
  revision!: number;
  @Field(() => GraphQLDateTime, {
    nullable: true,
    description: 'When a person last changed or added it; null: as imported or predicted. Re-importing never overwrites such a garment.',
  })
  editedAt!: Date | null;
  imageId!: string;
  modelVersionId!: number | null;
}

@ObjectType({ description: 'One value of a facet with the number of matching garments that have it.' })
export class FacetValue {
  @Field(() => String, { description: 'Value as stored (Korean).' }) value!: string;
  @Field(() => String, { nullable: true, description: 'English label, when the value is in the published lists.' }) valueEn!: string | null;
  @Field(() => Int, { description: 'Matching garments with this value.' }) count!: number;
}

@ObjectType({ description: 'Counts of the values of one attribute kind among the matching garments.' })
export class Facet {
  @Field(() => AttributeKind, { description: 'The attribute kind counted, as asked in `kinds`.' }) kind!: AttributeKind;
  @Field(() => [FacetValue], { description: 'Its values, most frequent first.' }) values!: FacetValue[];
}

@ObjectType({ description: 'A known value of an attribute kind, with how often it occurs.' })
export class VocabularyEntry {
  @Field(() => AttributeKind, { description: 'The attribute kind.' }) kind!: AttributeKind;
  @Field(() => String, { description: 'Value as stored (Korean).' }) value!: string;
  @Field(() => String, { nullable: true, description: 'English label, when the value is in the published lists.' }) valueEn!: string | null;
  @Field(() => Int, { description: 'How many garments (or images, for styles) carry this value.' }) count!: number;
}

@ObjectType({ implements: Node, description: 'A trained model (read-only here; activation comes with the training API).' })
export class ModelVersion extends Node {
  id!: number;
  protected readonly nodeType = 'ModelVersion' as const;
  @Field(() => String, DATABASE_ID) get databaseId(): string {
    return String(this.id);
  }
  @Field(() => String, { description: 'Name given at training (or at registration of imported weights).' }) name!: string;
  @Field(() => String, { description: 'Backbone network: resnet18, resnet34, resnet50 or resnet101.' }) backbone!: string;
  @Field(() => GraphQLJSONObject, {
    description:
      'The model configuration as stored with the weights. An open map: torchvision FasterRCNN keyword arguments (min_size, max_size, rpn_*, box_*, …) plus the label space; its keys follow the model code, not this schema.',
  })
  config!: Record<string, unknown>;
  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description:
      "Metrics stored with the version: for a trained one, the evaluation report on the validation split (COCO box metrics, attribute metrics per kind, Fashionpedia AP; docs/training-and-serving.md describes it); null when not evaluated. Open JSON: the column holds whatever metrics a version was stored with (the web console shows other shapes as a flat list), and the report's maps are keyed by the version's own label space.",
  })
  metrics!: Record<string, unknown> | null;
  @Field(() => Boolean, { description: 'Whether analyzeImage and the model servers use this version by default.' }) isActive!: boolean;
  @Field(() => GraphQLDateTime, { description: 'When the version was stored.' }) createdAt!: Date;
  trainingRunId!: number | null;
}

@ObjectType({ description: 'One recorded value of a training metric at one step.' })
export class TrainingMetric {
  @Field(() => Int, { description: 'Optimiser step (from 1).' }) step!: number;
  @Field(() => Int, { description: 'Epoch the step belongs to (from 0).' }) epoch!: number;
  @Field(() => String, { description: 'Metric name: loss, loss_classifier, …, lr, images_per_second.' }) name!: string;
  @Field(() => Float, { description: 'Value at that step.' }) value!: number;
}

/** API spelling of the phases a model server reports (TRAINING_PHASES of src/db/training-progress.ts). */
export const TrainingPhase = Object.fromEntries(TRAINING_PHASES.map((phase) => [phase.toUpperCase(), phase])) as {
  [P in TrainingPhaseName as Uppercase<P>]: P;
};
export type TrainingPhase = TrainingPhaseName;
registerEnumType(TrainingPhase, {
  name: 'TrainingPhase',
  description: 'What the model server does for a run.',
  valuesConfig: {
    LOADING: { description: 'Reading the examples and building the model.' },
    TRAINING: { description: 'Optimiser steps.' },
    EVALUATING: { description: 'Evaluating on the validation split.' },
    SAVING: { description: 'Storing the weights as a model version.' },
    DONE: { description: 'Finished.' },
  } satisfies Record<keyof typeof TrainingPhase, { description: string }>,
});

@ObjectType({ description: 'A named loss value of the latest step.' })
export class LossValue {
  @Field(() => String, { description: 'Loss name: loss, loss_classifier, loss_box_reg, …' }) name!: string;
  @Field(() => Float, { description: 'Its value at the latest step.' }) value!: number;
}

@ObjectType({ description: "A training run's progress as its model server last reported it; a field is null until reported." })
export class TrainingProgress {
  @Field(() => TrainingPhase, { nullable: true, description: 'What the model server does now.' }) phase!: TrainingPhase | null;
  @Field(() => Int, { nullable: true, description: 'Epoch under way, counted from 0.' }) epoch!: number | null;
  @Field(() => Int, { nullable: true, description: 'Epochs the run trains.' }) epochs!: number | null;
  @Field(() => Int, { nullable: true, description: 'Optimiser steps done.' }) step!: number | null;
  @Field(() => Int, { nullable: true, description: 'Optimiser steps of the whole run.' }) totalSteps!: number | null;
  @Field(() => [LossValue], { nullable: true, description: 'Losses of the latest step.' }) losses!: LossValue[] | null;
  @Field(() => Float, { nullable: true, description: 'Learning rate of the latest step.' }) lr!: number | null;
  @Field(() => Float, { nullable: true, description: 'Training images per second lately.' }) imagesPerSecond!: number | null;
  @Field(() => Float, { nullable: true, description: 'Seconds left at that rate.' }) etaSeconds!: number | null;
  @Field(() => Int, { nullable: true, description: 'Training images the run uses.' }) trainImages!: number | null;
  @Field(() => Int, { nullable: true, description: 'Images skipped as unreadable so far.' }) skippedImages!: number | null;
  @Field(() => Int, { nullable: true, description: 'Step of the checkpoint the run resumed from; null when it started afresh.' })
  resumedFromStep!: number | null;
}

@ObjectType({ description: 'How many images and garments of each kind of label a training run learns from (StartTrainingInput.labels).' })
export class TrainingLabelCounts {
  @Field(() => Int, { description: 'Training images nobody reviewed, with their annotations.' }) annotatedImages!: number;
  @Field(() => Int, { description: 'Annotation garments of those images the run learns from.' }) annotatedGarments!: number;
  @Field(() => Int, { description: 'Images a person marked reviewed.' }) reviewedImages!: number;
  @Field(() => Int, { description: 'Annotation garments of the reviewed images (after corrections) the run learns from.' })
  reviewedGarments!: number;
}

@ObjectType({
  implements: Node,
  description: 'A training run of the model servers: its parameters, progress, metrics and the model version it produced.',
})
export class TrainingRun extends Node {
  id!: number;
  protected readonly nodeType = 'TrainingRun' as const;
  @Field(() => String, DATABASE_ID) get databaseId(): string {
    return String(this.id);
  }
  @Field(() => JobStatus, { description: 'Where the run stands.' }) status!: JobStatus;
  /** The stored params (training_runs.params); the params field (TrainingRunParams) shows them as StartTrainingInput takes them. */
  params!: Record<string, unknown>;
  @Field(() => TrainingProgress, {
    nullable: true,
    description: 'Progress as the model server last reported it; null before it took the run.',
  })
  progress!: TrainingProgress | null;
  @Field(() => TrainingLabelCounts, {
    nullable: true,
    description: 'What the run learns from, recorded when a model server starts it; null before that (and for runs older than the count).',
  })
  labelCounts!: TrainingLabelCounts | null;
  error!: string | null;
  @Field(() => GraphQLDateTime, { description: 'When the run was queued.' }) createdAt!: Date;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When a model server first took it.' }) startedAt!: Date | null;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it succeeded, failed or was cancelled.' }) finishedAt!: Date | null;
  modelVersionId!: number | null;
}

// ---------------------------------------------------------------------------------------------
// Connections

@ObjectType({ description: 'Where a page of a connection stands (Relay cursor connections specification).' })
export class PageInfo {
  @Field(() => Boolean, { description: 'Whether more items follow the last one of this page (ask with `after: endCursor`).' })
  hasNextPage!: boolean;
  @Field(() => Boolean, { description: 'Always false: pages move forward only (keyset cursors).' })
  hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true, description: 'Cursor of the first item of the page; null when the page is empty.' }) startCursor!:
    string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last item of the page: the `after` of the next page; null when the page is empty.',
  })
  endCursor!: string | null;
}

export interface Connection<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: PageInfo;
  /** Runs the count query only when a client selects `totalCount`. */
  countMatches: () => Promise<number>;
  readonly totalCount: Promise<number>;
}

/**
 * The Relay connection type `<name>Connection` (with its `<name>Edge`) over `node`; `items` names
 * them in descriptions. One factory, so every list that grows pages the same way.
 */
export function connectionType<Node extends object>(node: ClassType<Node>, name: string, items: string): ClassType<Connection<Node>> {
  @ObjectType(`${name}Edge`, { description: `One of the ${items} of a page, with its cursor.` })
  class Edge {
    @Field(() => String, { description: 'Opaque cursor: `after` this one starts the next page.' }) cursor!: string;
    @Field(() => node, { description: `The ${items.replace(/s$/, '')}.` }) node!: Node;
  }
  @ObjectType(`${name}Connection`, {
    description: `A page of ${items} (Relay cursor connection): \`first\` (0 to the page limit) after the \`after\` cursor.`,
  })
  class ConnectionOf implements Connection<Node> {
    @Field(() => [Edge], { description: `The ${items} of this page, in connection order.` }) edges!: Edge[];
    @Field(() => PageInfo, { description: 'Cursors and whether another page follows.' }) pageInfo!: PageInfo;
    countMatches!: () => Promise<number>;
    @Field(() => Int, { description: `Exact number of ${items} in the whole connection (counted only when selected).` })
    get totalCount(): Promise<number> {
      return this.countMatches();
    }
  }
  return ConnectionOf;
}

export const GarmentConnection = connectionType(Garment, 'Garment', 'matching garments');
export type GarmentConnection = Connection<Garment>;
export const ImageConnection = connectionType(Image, 'Image', 'matching images');
export type ImageConnection = Connection<Image>;
export const ModelVersionConnection = connectionType(ModelVersion, 'ModelVersion', 'model versions');
export type ModelVersionConnection = Connection<ModelVersion>;
export const TrainingRunConnection = connectionType(TrainingRun, 'TrainingRun', 'training runs');
export type TrainingRunConnection = Connection<TrainingRun>;

// ---------------------------------------------------------------------------------------------
// Inputs

@InputType({ description: 'One attribute condition; values in Korean (as stored) or English.' })
export class AttributeConditionInput {
  @Field(() => AttributeKind, { description: 'The attribute kind the values are of.' })
  kind!: AttributeKind;
  @Field(() => [String], { nullable: true, description: 'The garment has at least one of these values.' })
  anyOf?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'The garment has all of these values (material, print, detail, style, subStyle).' })
  allOf?: string[] | null;
}

const anyOfDescription = (what: string) => `${what}: any of these values (Korean or English).`;

@InputType({ description: 'Garment filter. Fields combine with AND; values accept Korean or English labels.' })
export class GarmentWhere {
  @Field(() => [SuperCategory], { nullable: true, description: 'Any of these slots.' }) superCategory?: SuperCategory[] | null;
  @Field(() => [String], { nullable: true, description: anyOfDescription('Category') }) category?: string[] | null;
  @Field(() => [AttributeConditionInput], { nullable: true, description: 'Every one of these attribute conditions.' }) attributes?:
    AttributeConditionInput[] | null;
  @Field(() => [String], { nullable: true, description: "The garment's image has any of these styles." })
  styles?: string[] | null;
  @Field(() => Split, { nullable: true, description: "The garment's image is in this split." }) split?: Split | null;
  @Field(() => LabelSource, { nullable: true, description: 'Only annotations or only predictions.' }) source?: LabelSource | null;
  @Field(() => ID, { nullable: true, description: 'Predictions of this model version (a ModelVersion id).' }) modelVersionId?:
    string | null;
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
  @Field(() => [GarmentWhere], { nullable: true, description: 'Every one of these filters.' }) and?: GarmentWhere[] | null;
  @Field(() => [GarmentWhere], { nullable: true, description: 'At least one of these filters.' }) or?: GarmentWhere[] | null;
  @Field(() => GarmentWhere, { nullable: true, description: 'Not this filter (garments without the split or score it asks for included).' })
  not?: GarmentWhere | null;
}

@InputType({ description: 'Image filter. Fields combine with AND.' })
export class ImageWhere {
  @Field(() => Split, { nullable: true, description: 'Images of this split.' }) split?: Split | null;
  @Field(() => [String], { nullable: true, description: 'Any of these styles (Korean or English).' })
  styles?: string[] | null;
  @Field(() => String, { nullable: true, description: 'The image with this K-Fashion 이미지 식별자.' }) externalId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Images of this dataset (a Dataset id, as `Image.dataset { id }` gives it).' })
  datasetId?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Only images an editor marked reviewed (true) or only the others (false).' })
  reviewed?: boolean | null;
  @Field(() => GarmentWhere, { nullable: true, description: 'Images with at least one garment matching this.' })
  garments?: GarmentWhere | null;
}
