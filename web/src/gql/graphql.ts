/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** A garment the dataset or the model missed, added as an annotation. */
export type AddGarmentInput = {
  /** Its attribute values, per kind. */
  attributes?: Array<AttributeValuesInput> | null | undefined;
  /** Its box. */
  box: BoxInput;
  /** Its category (Korean or English); the super-category follows it. */
  category: string;
  /** The Image it is in. */
  imageId: string | number;
  /** Its polygon (at least 3 points), if drawn. */
  polygon?: Array<PointInput> | null | undefined;
};

/** The role of an API token; each role may do everything the roles before it may. */
export type ApiRole =
  /** Also trains, cancels and activates model versions. */
  | 'ADMIN'
  /** Also analyses and uploads photos and starts batch predictions. */
  | 'ANALYST'
  /** Also corrects garments and reviews images. */
  | 'EDITOR'
  /** Reads: queries, images, subscriptions. */
  | 'VIEWER';

/** One attribute condition; values in Korean (as stored) or English. */
export type AttributeConditionInput = {
  /** The garment has all of these values (material, print, detail, style, subStyle). */
  allOf?: Array<string> | null | undefined;
  /** The garment has at least one of these values. */
  anyOf?: Array<string> | null | undefined;
  /** The attribute kind the values are of. */
  kind: AttributeKind;
};

/** An attribute kind of the K-Fashion labels: the garment kinds, then the image-level style kinds. */
export type AttributeKind =
  /** Category (카테고리): blouse, skirt, … One per garment. */
  | 'CATEGORY'
  /** Collar (칼라). One per garment. */
  | 'COLLAR'
  /** Colour (색상). One per garment. */
  | 'COLOR'
  /** Detail (디테일). Several per garment. */
  | 'DETAIL'
  /** Fit (핏). One per garment. */
  | 'FIT'
  /** Length (기장). One per garment. */
  | 'LENGTH'
  /** Material (소재). Several per garment. */
  | 'MATERIAL'
  /** Neckline (넥라인). One per garment. */
  | 'NECKLINE'
  /** Print (프린트). Several per garment. */
  | 'PRINT'
  /** Sleeve length (소매기장). One per garment. */
  | 'SLEEVE_LENGTH'
  /** Style of the image (스타일), e.g. romantic. */
  | 'STYLE'
  /** Second colour (서브색상). One per garment. */
  | 'SUB_COLOR'
  /** Sub-style of the image (서브스타일). */
  | 'SUB_STYLE';

/** A garment kind's new values: they replace every value of that kind (an empty list clears it). */
export type AttributeValuesInput = {
  /** A garment kind other than CATEGORY (the category has its own field). */
  kind: AttributeKind;
  /** Values from the vocabulary, Korean or English; one at most for single-valued kinds. */
  values: Array<string>;
};

/** A box in image pixels: inside the image, x2 > x1 and y2 > y1 (x2/y2 exclusive edges). */
export type BoxInput = {
  /** Left edge, from 0. */
  x1: number;
  /** Right edge (exclusive), at most the image width. */
  x2: number;
  /** Top edge, from 0. */
  y1: number;
  /** Bottom edge (exclusive), at most the image height. */
  y2: number;
};

/** Garment filter. Fields combine with AND; values accept Korean or English labels. */
export type GarmentWhere = {
  /** Every one of these filters. */
  and?: Array<GarmentWhere> | null | undefined;
  /** Every one of these attribute conditions. */
  attributes?: Array<AttributeConditionInput> | null | undefined;
  /** Category: any of these values (Korean or English). */
  category?: Array<string> | null | undefined;
  /** Collar: any of these values (Korean or English). */
  collar?: Array<string> | null | undefined;
  /** Colour: any of these values (Korean or English). */
  color?: Array<string> | null | undefined;
  /** Detail: any of these values (Korean or English). */
  detail?: Array<string> | null | undefined;
  /** Fit: any of these values (Korean or English). */
  fit?: Array<string> | null | undefined;
  /** Length: any of these values (Korean or English). */
  length?: Array<string> | null | undefined;
  /** Material: any of these values (Korean or English). */
  material?: Array<string> | null | undefined;
  /** Detection score at least this (predictions only). */
  minScore?: number | null | undefined;
  /** Predictions of this model version (a ModelVersion id). */
  modelVersionId?: string | number | null | undefined;
  /** Neckline: any of these values (Korean or English). */
  neckline?: Array<string> | null | undefined;
  /** Not this filter (garments without the split or score it asks for included). */
  not?: GarmentWhere | null | undefined;
  /** At least one of these filters. */
  or?: Array<GarmentWhere> | null | undefined;
  /** Print: any of these values (Korean or English). */
  print?: Array<string> | null | undefined;
  /** Sleeve length: any of these values (Korean or English). */
  sleeveLength?: Array<string> | null | undefined;
  /** Only annotations or only predictions. */
  source?: LabelSource | null | undefined;
  /** The garment's image is in this split. */
  split?: Split | null | undefined;
  /** The garment's image has any of these styles. */
  styles?: Array<string> | null | undefined;
  /** Sub-colour: any of these values (Korean or English). */
  subColor?: Array<string> | null | undefined;
  /** Any of these slots. */
  superCategory?: Array<SuperCategory> | null | undefined;
};

/** Image filter. Fields combine with AND. */
export type ImageWhere = {
  /** Images of this dataset (a Dataset id, as `Image.dataset { id }` gives it). */
  datasetId?: string | number | null | undefined;
  /** The image with this K-Fashion 이미지 식별자. */
  externalId?: string | null | undefined;
  /** Images with at least one garment matching this. */
  garments?: GarmentWhere | null | undefined;
  /** Only images an editor marked reviewed (true) or only the others (false). */
  reviewed?: boolean | null | undefined;
  /** Images of this split. */
  split?: Split | null | undefined;
  /** Any of these styles (Korean or English). */
  styles?: Array<string> | null | undefined;
};

/** Status of a training run or prediction job. */
export type JobStatus =
  /** Stopped on request (cancelTraining, cancelPrediction). */
  | 'CANCELLED'
  /** Stopped by an error (see `error`). */
  | 'FAILED'
  /** Waiting for a model server to take it. */
  | 'QUEUED'
  /** A model server works on it. */
  | 'RUNNING'
  /** Finished; a run has produced its model version. */
  | 'SUCCEEDED';

/** Where a garment comes from. */
export type LabelSource =
  /** Labelled by K-Fashion annotators. */
  | 'ANNOTATION'
  /** Produced by a model version (analyzeImage, predictImages). */
  | 'PREDICTION';

/** A polygon point in image pixels, inside the image. */
export type PointInput = {
  /** Pixels from the left edge. */
  x: number;
  /** Pixels from the top edge. */
  y: number;
};

/** The order of the review queue. */
export type ReviewOrder =
  /** A seeded shuffle: the same seed gives the same order, page after page. */
  | 'RANDOM'
  /** The images the model version is least sure about first (score descending, then newest image first). */
  | 'UNCERTAINTY';

/** Why the queue finds an image doubtful; each reason scores from 0 (sure) to 1 (most doubtful). */
export type ReviewReasonKind =
  /** A single-label attribute of a predicted garment whose two most probable values are close: 1 − (p₁ − p₂). */
  | 'ATTRIBUTE_MARGIN'
  /** A detection scored near the threshold: 1 − |score − threshold| / max(threshold, 1 − threshold). */
  | 'DETECTION_SCORE'
  /** An annotation overlapped (IoU ≥ 0.5) by a confident prediction of another category: its detection score. */
  | 'DISAGREEMENT'
  /** An annotation no confident prediction overlaps at IoU ≥ 0.5 (1 − best IoU / 0.5), or a confident prediction no annotation overlaps (its detection score). */
  | 'MISSED_GARMENT';

/** Dataset split of an imported image. */
export type Split =
  /** Imported from Training/…. */
  | 'TRAIN'
  /** Imported from Validation/…. */
  | 'VALIDATION';

/** A training run: data filters, model shape and optimiser (defaults: torchvision detection recipe). The same parameters as `kfashion train`. */
export type StartTrainingInput = {
  /** Attribute heads (default every garment kind with values). */
  attributeKinds?: Array<string> | null | undefined;
  /** ResNet backbone: resnet18, resnet34, resnet50, resnet101 (default resnet18). */
  backbone?: string | null | undefined;
  /** Images per step (default 2). */
  batchSize?: number | null | undefined;
  /** Steps between checkpoints (default 500). */
  checkpointEvery?: number | null | undefined;
  /** Rescale gradients whose total L2 norm exceeds this (default off, as torchvision). */
  clipGradNorm?: number | null | undefined;
  /** Passes over the training images (default 26, torchvision's detection recipe). */
  epochs?: number | null | undefined;
  /** Evaluate on at most this many validation images (default all). */
  evalMaxImages?: number | null | undefined;
  /** Weights to start from: a catalogue name (`kfashion weights list`) or a .safetensors/.pth/.pt file (for the API, in the weights folder, KFASHION_WEIGHTS_DIR); tensors whose name and shape match are loaded. */
  initWeights?: string | null | undefined;
  /** Whose labels to learn from, in this order: the annotations of the training images nobody reviewed, only the images a person marked reviewed (with their corrections; a reviewed upload too), or both: ANNOTATIONS, REVIEWED, BOTH (default ANNOTATIONS). */
  labels?: TrainingLabels | null | undefined;
  /** Base learning rate (SGD) (default 0.02 × batchSize / 16). */
  lr?: number | null | undefined;
  /** Factor of the learning rate at each milestone (default 0.1). */
  lrGamma?: number | null | undefined;
  /** Increasing epochs at which the learning rate is multiplied by lrGamma (default 16,22, those before the last epoch). */
  lrMilestones?: Array<number> | null | undefined;
  /** Use at most this many training images (default all). */
  maxImages?: number | null | undefined;
  /** A category or value needs this many training garments (default 1). */
  minValueCount?: number | null | undefined;
  /** Further model config keys (torchvision FasterRCNN kwargs: min_size, max_size, rpn_*, box_*, ...; classes and attributes come from the data); the CLI reads them from a JSON file. */
  model?: Record<string, unknown> | null | undefined;
  /** SGD momentum (default 0.9). */
  momentum?: number | null | undefined;
  /** Name of the model version the run ends with. */
  name?: string | null | undefined;
  /** Seed of initialisation, order, flips and sampling (default 0). */
  seed?: number | null | undefined;
  /** Train on garments of these slots only (default all). */
  superCategories?: Array<SuperCategory> | null | undefined;
  /** Learning-rate factor at the first warm-up step (default 0.001). */
  warmupFactor?: number | null | undefined;
  /** Linear warm-up length in steps (capped by an epoch) (default 1000). */
  warmupIterations?: number | null | undefined;
  /** L2 weight decay (default 0.0001). */
  weightDecay?: number | null | undefined;
};

/** Garment slot of a K-Fashion image: TOP 상의, BOTTOM 하의, OUTER 아우터, ONE_PIECE 원피스. */
export type SuperCategory =
  /** 하의: skirts, trousers, … */
  | 'BOTTOM'
  /** 원피스: dresses, jumpsuits, … */
  | 'ONE_PIECE'
  /** 아우터: coats, jackets, … */
  | 'OUTER'
  /** 상의: blouses, shirts, knitwear, … */
  | 'TOP';

/** Whose labels a training run learns from. */
export type TrainingLabels =
  /** The training images nobody reviewed, with their annotations (as imported, or as edited). */
  | 'ANNOTATIONS'
  /** Every training image, reviewed or not, and reviewed uploads. */
  | 'BOTH'
  /** Only the images a person marked reviewed, with their corrected annotations (reviewed uploads included). */
  | 'REVIEWED';

/** What the model server does for a run. */
export type TrainingPhase =
  /** Finished. */
  | 'DONE'
  /** Evaluating on the validation split. */
  | 'EVALUATING'
  /** Reading the examples and building the model. */
  | 'LOADING'
  /** Storing the weights as a model version. */
  | 'SAVING'
  /** Optimiser steps. */
  | 'TRAINING';

/** Changes to an annotation garment; absent fields stay as they are. */
export type UpdateGarmentInput = {
  /** New values of these kinds; other kinds keep theirs. */
  attributes?: Array<AttributeValuesInput> | null | undefined;
  /** The new box. */
  box?: BoxInput | null | undefined;
  /** The new category (Korean or English); the super-category follows it. */
  category?: string | null | undefined;
  /** The Garment to change (an annotation). */
  id: string | number;
  /** The new polygon (at least 3 points, or empty to remove it). */
  polygon?: Array<PointInput> | null | undefined;
  /** The `revision` the change was made on; a stale one is refused with EDIT_CONFLICT. */
  revision: number;
};

export type StartTrainingMutationVariables = Exact<{
  input: StartTrainingInput;
}>;


export type StartTrainingMutation = { startTraining: { id: string } };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { role: ApiRole | null } };

export type EditedGarmentFragment = { id: string, revision: number, history: { edges: Array<{ node: { id: string } }> } };

export type UpdateGarmentMutationVariables = Exact<{
  input: UpdateGarmentInput;
}>;


export type UpdateGarmentMutation = { updateGarment: { id: string, revision: number, history: { edges: Array<{ node: { id: string } }> } } };

export type AddGarmentMutationVariables = Exact<{
  input: AddGarmentInput;
}>;


export type AddGarmentMutation = { addGarment: { id: string, revision: number, history: { edges: Array<{ node: { id: string } }> } } };

export type DeleteGarmentMutationVariables = Exact<{
  id: string | number;
  revision: number;
}>;


export type DeleteGarmentMutation = { deleteGarment: string };

export type AcceptPredictionMutationVariables = Exact<{
  id: string | number;
  kinds?: Array<AttributeKind> | AttributeKind | null | undefined;
}>;


export type AcceptPredictionMutation = { acceptPrediction: { id: string, revision: number, history: { edges: Array<{ node: { id: string } }> } } };

export type RevertGarmentEditMutationVariables = Exact<{
  id: string | number;
}>;


export type RevertGarmentEditMutation = { revertGarmentEdit: { id: string } | null };

export type MarkImageReviewedMutationVariables = Exact<{
  id: string | number;
  reviewed: boolean;
}>;


export type MarkImageReviewedMutation = { markImageReviewed: { id: string, reviewedAt: string | null } };

export type VocabularyQueryVariables = Exact<{
  kind: AttributeKind;
}>;


export type VocabularyQuery = { vocabulary: Array<{ value: string, valueEn: string | null, count: number }> };

export type ImageDetailFragment = { id: string, externalId: string | null, fileName: string, width: number, height: number, split: Split | null, url: string, reviewedAt: string | null, display: string, styles: Array<{ style: string, styleEn: string | null, subStyle: string | null, subStyleEn: string | null }>, garments: Array<{ id: string, revision: number, superCategory: SuperCategory, category: string | null, categoryEn: string | null, source: LabelSource, score: number | null, box: { x1: number, y1: number, x2: number, y2: number }, polygon: Array<{ x: number, y: number }>, attributes: Array<{ kind: AttributeKind, value: string, valueEn: string | null, score: number | null }>, modelVersion: { id: string, name: string } | null }> };

export type ImageByIdQueryVariables = Exact<{
  id: string | number;
}>;


export type ImageByIdQuery = { image: { id: string, externalId: string | null, fileName: string, width: number, height: number, split: Split | null, url: string, reviewedAt: string | null, display: string, styles: Array<{ style: string, styleEn: string | null, subStyle: string | null, subStyleEn: string | null }>, garments: Array<{ id: string, revision: number, superCategory: SuperCategory, category: string | null, categoryEn: string | null, source: LabelSource, score: number | null, box: { x1: number, y1: number, x2: number, y2: number }, polygon: Array<{ x: number, y: number }>, attributes: Array<{ kind: AttributeKind, value: string, valueEn: string | null, score: number | null }>, modelVersion: { id: string, name: string } | null }> } | null };

export type ImageByExternalIdQueryVariables = Exact<{
  externalId: string;
}>;


export type ImageByExternalIdQuery = { imageByExternalId: { id: string, externalId: string | null, fileName: string, width: number, height: number, split: Split | null, url: string, reviewedAt: string | null, display: string, styles: Array<{ style: string, styleEn: string | null, subStyle: string | null, subStyleEn: string | null }>, garments: Array<{ id: string, revision: number, superCategory: SuperCategory, category: string | null, categoryEn: string | null, source: LabelSource, score: number | null, box: { x1: number, y1: number, x2: number, y2: number }, polygon: Array<{ x: number, y: number }>, attributes: Array<{ kind: AttributeKind, value: string, valueEn: string | null, score: number | null }>, modelVersion: { id: string, name: string } | null }> } | null };

export type AnalyzeImageMutationVariables = Exact<{
  uploadId?: string | number | null | undefined;
  imageId?: string | number | null | undefined;
  modelVersionId?: string | number | null | undefined;
}>;


export type AnalyzeImageMutation = { analyzeImage: { image: { id: string } } };

export type TrainingRunSummaryFragment = { id: string, databaseId: string, status: JobStatus, createdAt: string, startedAt: string | null, finishedAt: string | null, error: string | null, modelVersion: { id: string, databaseId: string, name: string } | null, progress: { phase: TrainingPhase | null, epoch: number | null, epochs: number | null, step: number | null, totalSteps: number | null, imagesPerSecond: number | null, etaSeconds: number | null, skippedImages: number | null } | null, params: { name: string | null, backbone: string | null, model: Record<string, unknown> | null, superCategories: Array<SuperCategory> | null, attributeKinds: Array<string> | null, minValueCount: number | null, maxImages: number | null, evalMaxImages: number | null, epochs: number | null, batchSize: number | null, lr: number | null, momentum: number | null, weightDecay: number | null, lrMilestones: Array<number> | null, lrGamma: number | null, warmupIterations: number | null, warmupFactor: number | null, checkpointEvery: number | null, clipGradNorm: number | null, seed: number | null, initWeights: string | null } };

export type TrainingRunWithMetricsFragment = { id: string, databaseId: string, status: JobStatus, createdAt: string, startedAt: string | null, finishedAt: string | null, error: string | null, metrics: Array<{ epoch: number, step: number, name: string, value: number }>, modelVersion: { id: string, databaseId: string, name: string } | null, progress: { phase: TrainingPhase | null, epoch: number | null, epochs: number | null, step: number | null, totalSteps: number | null, imagesPerSecond: number | null, etaSeconds: number | null, skippedImages: number | null } | null, params: { name: string | null, backbone: string | null, model: Record<string, unknown> | null, superCategories: Array<SuperCategory> | null, attributeKinds: Array<string> | null, minValueCount: number | null, maxImages: number | null, evalMaxImages: number | null, epochs: number | null, batchSize: number | null, lr: number | null, momentum: number | null, weightDecay: number | null, lrMilestones: Array<number> | null, lrGamma: number | null, warmupIterations: number | null, warmupFactor: number | null, checkpointEvery: number | null, clipGradNorm: number | null, seed: number | null, initWeights: string | null } };

export type TrainingOverviewQueryVariables = Exact<{ [key: string]: never; }>;


export type TrainingOverviewQuery = { trainingRuns: { edges: Array<{ node: { id: string, databaseId: string, status: JobStatus, createdAt: string, startedAt: string | null, finishedAt: string | null, error: string | null, modelVersion: { id: string, databaseId: string, name: string } | null, progress: { phase: TrainingPhase | null, epoch: number | null, epochs: number | null, step: number | null, totalSteps: number | null, imagesPerSecond: number | null, etaSeconds: number | null, skippedImages: number | null } | null, params: { name: string | null, backbone: string | null, model: Record<string, unknown> | null, superCategories: Array<SuperCategory> | null, attributeKinds: Array<string> | null, minValueCount: number | null, maxImages: number | null, evalMaxImages: number | null, epochs: number | null, batchSize: number | null, lr: number | null, momentum: number | null, weightDecay: number | null, lrMilestones: Array<number> | null, lrGamma: number | null, warmupIterations: number | null, warmupFactor: number | null, checkpointEvery: number | null, clipGradNorm: number | null, seed: number | null, initWeights: string | null } } }> }, modelVersions: { edges: Array<{ node: { id: string, databaseId: string, name: string, backbone: string, isActive: boolean, createdAt: string, metrics: Record<string, unknown> | null, trainingRun: { id: string } | null } }> } };

export type TrainingRunQueryVariables = Exact<{
  id: string | number;
}>;


export type TrainingRunQuery = { trainingRun: { id: string, databaseId: string, status: JobStatus, createdAt: string, startedAt: string | null, finishedAt: string | null, error: string | null, metrics: Array<{ epoch: number, step: number, name: string, value: number }>, modelVersion: { id: string, databaseId: string, name: string } | null, progress: { phase: TrainingPhase | null, epoch: number | null, epochs: number | null, step: number | null, totalSteps: number | null, imagesPerSecond: number | null, etaSeconds: number | null, skippedImages: number | null } | null, params: { name: string | null, backbone: string | null, model: Record<string, unknown> | null, superCategories: Array<SuperCategory> | null, attributeKinds: Array<string> | null, minValueCount: number | null, maxImages: number | null, evalMaxImages: number | null, epochs: number | null, batchSize: number | null, lr: number | null, momentum: number | null, weightDecay: number | null, lrMilestones: Array<number> | null, lrGamma: number | null, warmupIterations: number | null, warmupFactor: number | null, checkpointEvery: number | null, clipGradNorm: number | null, seed: number | null, initWeights: string | null } } | null };

export type TrainingRunUpdatedSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type TrainingRunUpdatedSubscription = { trainingRunUpdated: { id: string, databaseId: string, status: JobStatus, createdAt: string, startedAt: string | null, finishedAt: string | null, error: string | null, metrics: Array<{ epoch: number, step: number, name: string, value: number }>, modelVersion: { id: string, databaseId: string, name: string } | null, progress: { phase: TrainingPhase | null, epoch: number | null, epochs: number | null, step: number | null, totalSteps: number | null, imagesPerSecond: number | null, etaSeconds: number | null, skippedImages: number | null } | null, params: { name: string | null, backbone: string | null, model: Record<string, unknown> | null, superCategories: Array<SuperCategory> | null, attributeKinds: Array<string> | null, minValueCount: number | null, maxImages: number | null, evalMaxImages: number | null, epochs: number | null, batchSize: number | null, lr: number | null, momentum: number | null, weightDecay: number | null, lrMilestones: Array<number> | null, lrGamma: number | null, warmupIterations: number | null, warmupFactor: number | null, checkpointEvery: number | null, clipGradNorm: number | null, seed: number | null, initWeights: string | null } } };

export type CancelTrainingMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelTrainingMutation = { cancelTraining: { id: string, status: JobStatus } };

export type ActivateModelVersionMutationVariables = Exact<{
  id: string | number;
}>;


export type ActivateModelVersionMutation = { activateModelVersion: { id: string, isActive: boolean } };

export type ReviewQueueQueryVariables = Exact<{
  where?: ImageWhere | null | undefined;
  modelVersionId?: string | number | null | undefined;
  order: ReviewOrder;
  seed?: number | null | undefined;
  first: number;
  after?: string | null | undefined;
}>;


export type ReviewQueueQuery = { reviewQueue: { pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ score: number, reasons: Array<{ kind: ReviewReasonKind, score: number, detail: string, attributeKind: AttributeKind | null, garment: { id: string, superCategory: SuperCategory, category: string | null, categoryEn: string | null } | null }>, node: { id: string, externalId: string | null, width: number, height: number, thumbnail: string } }> } };

export type GarmentCropFragment = { id: string, superCategory: SuperCategory, category: string | null, categoryEn: string | null, score: number | null, crop: string, crop2x: string, box: { x1: number, y1: number, x2: number, y2: number }, image: { id: string, externalId: string | null }, modelVersion: { id: string } | null };

export type SearchResultsQueryVariables = Exact<{
  where: GarmentWhere;
  first: number;
  after?: string | null | undefined;
  withCount: boolean;
}>;


export type SearchResultsQuery = { searchGarments: { totalCount?: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, superCategory: SuperCategory, category: string | null, categoryEn: string | null, score: number | null, crop: string, crop2x: string, box: { x1: number, y1: number, x2: number, y2: number }, image: { id: string, externalId: string | null }, modelVersion: { id: string } | null } }> } };

export type FacetsAndSlotCountsQueryVariables = Exact<{
  where?: GarmentWhere | null | undefined;
  kinds: Array<AttributeKind> | AttributeKind;
  TOP: GarmentWhere;
  BOTTOM: GarmentWhere;
  OUTER: GarmentWhere;
  ONE_PIECE: GarmentWhere;
}>;


export type FacetsAndSlotCountsQuery = { garmentFacets: Array<{ kind: AttributeKind, values: Array<{ value: string, valueEn: string | null, count: number }> }>, TOP: { totalCount: number }, BOTTOM: { totalCount: number }, OUTER: { totalCount: number }, ONE_PIECE: { totalCount: number } };

export type FacetsQueryVariables = Exact<{
  where?: GarmentWhere | null | undefined;
  kinds: Array<AttributeKind> | AttributeKind;
}>;


export type FacetsQuery = { garmentFacets: Array<{ kind: AttributeKind, values: Array<{ value: string, valueEn: string | null, count: number }> }> };

export type ModelVersionChoicesQueryVariables = Exact<{ [key: string]: never; }>;


export type ModelVersionChoicesQuery = { modelVersions: { edges: Array<{ node: { id: string, databaseId: string, name: string, isActive: boolean } }> } };

export type SimilarGarmentsQueryVariables = Exact<{
  garmentId: string | number;
  modelVersionId?: string | number | null | undefined;
  where?: GarmentWhere | null | undefined;
  first: number;
  after?: string | null | undefined;
  withGarment: boolean;
}>;


export type SimilarGarmentsQuery = { garment?: { id: string, superCategory: SuperCategory, category: string | null, categoryEn: string | null, score: number | null, crop: string, crop2x: string, box: { x1: number, y1: number, x2: number, y2: number }, image: { id: string, externalId: string | null }, modelVersion: { id: string } | null } | null, similarGarments: { pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ similarity: number, node: { id: string, superCategory: SuperCategory, category: string | null, categoryEn: string | null, score: number | null, crop: string, crop2x: string, box: { x1: number, y1: number, x2: number, y2: number }, image: { id: string, externalId: string | null }, modelVersion: { id: string } | null } }> } };

export type ShopTheLookQueryVariables = Exact<{
  imageId: string | number;
  modelVersionId?: string | number | null | undefined;
  where?: GarmentWhere | null | undefined;
  first: number;
}>;


export type ShopTheLookQuery = { image: { id: string, externalId: string | null, fileName: string } | null, shopTheLook: Array<{ garment: { id: string, superCategory: SuperCategory, category: string | null, categoryEn: string | null, score: number | null, crop: string, crop2x: string, box: { x1: number, y1: number, x2: number, y2: number }, image: { id: string, externalId: string | null }, modelVersion: { id: string } | null }, matches: Array<{ similarity: number, node: { id: string, superCategory: SuperCategory, category: string | null, categoryEn: string | null, score: number | null, crop: string, crop2x: string, box: { x1: number, y1: number, x2: number, y2: number }, image: { id: string, externalId: string | null }, modelVersion: { id: string } | null } }> }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const EditedGarmentFragmentDoc = new TypedDocumentString(`
    fragment EditedGarment on Garment {
  id
  revision
  history(first: 1) {
    edges {
      node {
        id
      }
    }
  }
}
    `, {"fragmentName":"EditedGarment"}) as unknown as TypedDocumentString<EditedGarmentFragment, unknown>;
export const ImageDetailFragmentDoc = new TypedDocumentString(`
    fragment ImageDetail on Image {
  id
  externalId
  fileName
  width
  height
  split
  url
  display: thumbnailUrl(size: 1024)
  reviewedAt
  styles {
    style
    styleEn
    subStyle
    subStyleEn
  }
  garments {
    id
    revision
    superCategory
    category
    categoryEn
    source
    score
    box {
      x1
      y1
      x2
      y2
    }
    polygon {
      x
      y
    }
    attributes {
      kind
      value
      valueEn
      score
    }
    modelVersion {
      id
      name
    }
  }
}
    `, {"fragmentName":"ImageDetail"}) as unknown as TypedDocumentString<ImageDetailFragment, unknown>;
export const TrainingRunSummaryFragmentDoc = new TypedDocumentString(`
    fragment TrainingRunSummary on TrainingRun {
  id
  databaseId
  status
  createdAt
  startedAt
  finishedAt
  error
  modelVersion {
    id
    databaseId
    name
  }
  progress {
    phase
    epoch
    epochs
    step
    totalSteps
    imagesPerSecond
    etaSeconds
    skippedImages
  }
  params {
    name
    backbone
    model
    superCategories
    attributeKinds
    minValueCount
    maxImages
    evalMaxImages
    epochs
    batchSize
    lr
    momentum
    weightDecay
    lrMilestones
    lrGamma
    warmupIterations
    warmupFactor
    checkpointEvery
    clipGradNorm
    seed
    initWeights
  }
}
    `, {"fragmentName":"TrainingRunSummary"}) as unknown as TypedDocumentString<TrainingRunSummaryFragment, unknown>;
export const TrainingRunWithMetricsFragmentDoc = new TypedDocumentString(`
    fragment TrainingRunWithMetrics on TrainingRun {
  ...TrainingRunSummary
  metrics {
    epoch
    step
    name
    value
  }
}
    fragment TrainingRunSummary on TrainingRun {
  id
  databaseId
  status
  createdAt
  startedAt
  finishedAt
  error
  modelVersion {
    id
    databaseId
    name
  }
  progress {
    phase
    epoch
    epochs
    step
    totalSteps
    imagesPerSecond
    etaSeconds
    skippedImages
  }
  params {
    name
    backbone
    model
    superCategories
    attributeKinds
    minValueCount
    maxImages
    evalMaxImages
    epochs
    batchSize
    lr
    momentum
    weightDecay
    lrMilestones
    lrGamma
    warmupIterations
    warmupFactor
    checkpointEvery
    clipGradNorm
    seed
    initWeights
  }
}`, {"fragmentName":"TrainingRunWithMetrics"}) as unknown as TypedDocumentString<TrainingRunWithMetricsFragment, unknown>;
export const GarmentCropFragmentDoc = new TypedDocumentString(`
    fragment GarmentCrop on Garment {
  id
  superCategory
  category
  categoryEn
  score
  box {
    x1
    y1
    x2
    y2
  }
  crop: cropUrl(size: 192)
  crop2x: cropUrl(size: 384)
  image {
    id
    externalId
  }
  modelVersion {
    id
  }
}
    `, {"fragmentName":"GarmentCrop"}) as unknown as TypedDocumentString<GarmentCropFragment, unknown>;
export const StartTrainingDocument = new TypedDocumentString(`
    mutation StartTraining($input: StartTrainingInput!) {
  startTraining(input: $input) {
    id
  }
}
    `) as unknown as TypedDocumentString<StartTrainingMutation, StartTrainingMutationVariables>;
export const ViewerDocument = new TypedDocumentString(`
    query Viewer {
  viewer {
    role
  }
}
    `) as unknown as TypedDocumentString<ViewerQuery, ViewerQueryVariables>;
export const UpdateGarmentDocument = new TypedDocumentString(`
    mutation UpdateGarment($input: UpdateGarmentInput!) {
  updateGarment(input: $input) {
    ...EditedGarment
  }
}
    fragment EditedGarment on Garment {
  id
  revision
  history(first: 1) {
    edges {
      node {
        id
      }
    }
  }
}`) as unknown as TypedDocumentString<UpdateGarmentMutation, UpdateGarmentMutationVariables>;
export const AddGarmentDocument = new TypedDocumentString(`
    mutation AddGarment($input: AddGarmentInput!) {
  addGarment(input: $input) {
    ...EditedGarment
  }
}
    fragment EditedGarment on Garment {
  id
  revision
  history(first: 1) {
    edges {
      node {
        id
      }
    }
  }
}`) as unknown as TypedDocumentString<AddGarmentMutation, AddGarmentMutationVariables>;
export const DeleteGarmentDocument = new TypedDocumentString(`
    mutation DeleteGarment($id: ID!, $revision: Int!) {
  deleteGarment(id: $id, revision: $revision)
}
    `) as unknown as TypedDocumentString<DeleteGarmentMutation, DeleteGarmentMutationVariables>;
export const AcceptPredictionDocument = new TypedDocumentString(`
    mutation AcceptPrediction($id: ID!, $kinds: [AttributeKind!]) {
  acceptPrediction(input: {id: $id, kinds: $kinds}) {
    ...EditedGarment
  }
}
    fragment EditedGarment on Garment {
  id
  revision
  history(first: 1) {
    edges {
      node {
        id
      }
    }
  }
}`) as unknown as TypedDocumentString<AcceptPredictionMutation, AcceptPredictionMutationVariables>;
export const RevertGarmentEditDocument = new TypedDocumentString(`
    mutation RevertGarmentEdit($id: ID!) {
  revertGarmentEdit(id: $id) {
    id
  }
}
    `) as unknown as TypedDocumentString<RevertGarmentEditMutation, RevertGarmentEditMutationVariables>;
export const MarkImageReviewedDocument = new TypedDocumentString(`
    mutation MarkImageReviewed($id: ID!, $reviewed: Boolean!) {
  markImageReviewed(id: $id, reviewed: $reviewed) {
    id
    reviewedAt
  }
}
    `) as unknown as TypedDocumentString<MarkImageReviewedMutation, MarkImageReviewedMutationVariables>;
export const VocabularyDocument = new TypedDocumentString(`
    query Vocabulary($kind: AttributeKind!) {
  vocabulary(kind: $kind) {
    value
    valueEn
    count
  }
}
    `) as unknown as TypedDocumentString<VocabularyQuery, VocabularyQueryVariables>;
export const ImageByIdDocument = new TypedDocumentString(`
    query ImageById($id: ID!) {
  image(id: $id) {
    ...ImageDetail
  }
}
    fragment ImageDetail on Image {
  id
  externalId
  fileName
  width
  height
  split
  url
  display: thumbnailUrl(size: 1024)
  reviewedAt
  styles {
    style
    styleEn
    subStyle
    subStyleEn
  }
  garments {
    id
    revision
    superCategory
    category
    categoryEn
    source
    score
    box {
      x1
      y1
      x2
      y2
    }
    polygon {
      x
      y
    }
    attributes {
      kind
      value
      valueEn
      score
    }
    modelVersion {
      id
      name
    }
  }
}`) as unknown as TypedDocumentString<ImageByIdQuery, ImageByIdQueryVariables>;
export const ImageByExternalIdDocument = new TypedDocumentString(`
    query ImageByExternalId($externalId: String!) {
  imageByExternalId(externalId: $externalId) {
    ...ImageDetail
  }
}
    fragment ImageDetail on Image {
  id
  externalId
  fileName
  width
  height
  split
  url
  display: thumbnailUrl(size: 1024)
  reviewedAt
  styles {
    style
    styleEn
    subStyle
    subStyleEn
  }
  garments {
    id
    revision
    superCategory
    category
    categoryEn
    source
    score
    box {
      x1
      y1
      x2
      y2
    }
    polygon {
      x
      y
    }
    attributes {
      kind
      value
      valueEn
      score
    }
    modelVersion {
      id
      name
    }
  }
}`) as unknown as TypedDocumentString<ImageByExternalIdQuery, ImageByExternalIdQueryVariables>;
export const AnalyzeImageDocument = new TypedDocumentString(`
    mutation AnalyzeImage($uploadId: ID, $imageId: ID, $modelVersionId: ID) {
  analyzeImage(
    uploadId: $uploadId
    imageId: $imageId
    modelVersionId: $modelVersionId
  ) {
    image {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<AnalyzeImageMutation, AnalyzeImageMutationVariables>;
export const TrainingOverviewDocument = new TypedDocumentString(`
    query TrainingOverview {
  trainingRuns(first: 50) {
    edges {
      node {
        ...TrainingRunSummary
      }
    }
  }
  modelVersions(first: 50) {
    edges {
      node {
        id
        databaseId
        name
        backbone
        isActive
        createdAt
        metrics
        trainingRun {
          id
        }
      }
    }
  }
}
    fragment TrainingRunSummary on TrainingRun {
  id
  databaseId
  status
  createdAt
  startedAt
  finishedAt
  error
  modelVersion {
    id
    databaseId
    name
  }
  progress {
    phase
    epoch
    epochs
    step
    totalSteps
    imagesPerSecond
    etaSeconds
    skippedImages
  }
  params {
    name
    backbone
    model
    superCategories
    attributeKinds
    minValueCount
    maxImages
    evalMaxImages
    epochs
    batchSize
    lr
    momentum
    weightDecay
    lrMilestones
    lrGamma
    warmupIterations
    warmupFactor
    checkpointEvery
    clipGradNorm
    seed
    initWeights
  }
}`) as unknown as TypedDocumentString<TrainingOverviewQuery, TrainingOverviewQueryVariables>;
export const TrainingRunDocument = new TypedDocumentString(`
    query TrainingRun($id: ID!) {
  trainingRun(id: $id) {
    ...TrainingRunWithMetrics
  }
}
    fragment TrainingRunSummary on TrainingRun {
  id
  databaseId
  status
  createdAt
  startedAt
  finishedAt
  error
  modelVersion {
    id
    databaseId
    name
  }
  progress {
    phase
    epoch
    epochs
    step
    totalSteps
    imagesPerSecond
    etaSeconds
    skippedImages
  }
  params {
    name
    backbone
    model
    superCategories
    attributeKinds
    minValueCount
    maxImages
    evalMaxImages
    epochs
    batchSize
    lr
    momentum
    weightDecay
    lrMilestones
    lrGamma
    warmupIterations
    warmupFactor
    checkpointEvery
    clipGradNorm
    seed
    initWeights
  }
}
fragment TrainingRunWithMetrics on TrainingRun {
  ...TrainingRunSummary
  metrics {
    epoch
    step
    name
    value
  }
}`) as unknown as TypedDocumentString<TrainingRunQuery, TrainingRunQueryVariables>;
export const TrainingRunUpdatedDocument = new TypedDocumentString(`
    subscription TrainingRunUpdated($id: ID!) {
  trainingRunUpdated(id: $id) {
    ...TrainingRunWithMetrics
  }
}
    fragment TrainingRunSummary on TrainingRun {
  id
  databaseId
  status
  createdAt
  startedAt
  finishedAt
  error
  modelVersion {
    id
    databaseId
    name
  }
  progress {
    phase
    epoch
    epochs
    step
    totalSteps
    imagesPerSecond
    etaSeconds
    skippedImages
  }
  params {
    name
    backbone
    model
    superCategories
    attributeKinds
    minValueCount
    maxImages
    evalMaxImages
    epochs
    batchSize
    lr
    momentum
    weightDecay
    lrMilestones
    lrGamma
    warmupIterations
    warmupFactor
    checkpointEvery
    clipGradNorm
    seed
    initWeights
  }
}
fragment TrainingRunWithMetrics on TrainingRun {
  ...TrainingRunSummary
  metrics {
    epoch
    step
    name
    value
  }
}`) as unknown as TypedDocumentString<TrainingRunUpdatedSubscription, TrainingRunUpdatedSubscriptionVariables>;
export const CancelTrainingDocument = new TypedDocumentString(`
    mutation CancelTraining($id: ID!) {
  cancelTraining(id: $id) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<CancelTrainingMutation, CancelTrainingMutationVariables>;
export const ActivateModelVersionDocument = new TypedDocumentString(`
    mutation ActivateModelVersion($id: ID!) {
  activateModelVersion(id: $id) {
    id
    isActive
  }
}
    `) as unknown as TypedDocumentString<ActivateModelVersionMutation, ActivateModelVersionMutationVariables>;
export const ReviewQueueDocument = new TypedDocumentString(`
    query ReviewQueue($where: ImageWhere, $modelVersionId: ID, $order: ReviewOrder!, $seed: Int, $first: Int!, $after: String) {
  reviewQueue(
    where: $where
    modelVersionId: $modelVersionId
    order: $order
    seed: $seed
    first: $first
    after: $after
  ) {
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      score
      reasons {
        kind
        score
        detail
        attributeKind
        garment {
          id
          superCategory
          category
          categoryEn
        }
      }
      node {
        id
        externalId
        width
        height
        thumbnail: thumbnailUrl(size: 256)
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ReviewQueueQuery, ReviewQueueQueryVariables>;
export const SearchResultsDocument = new TypedDocumentString(`
    query SearchResults($where: GarmentWhere!, $first: Int!, $after: String, $withCount: Boolean!) {
  searchGarments(where: $where, first: $first, after: $after) {
    totalCount @include(if: $withCount)
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        ...GarmentCrop
      }
    }
  }
}
    fragment GarmentCrop on Garment {
  id
  superCategory
  category
  categoryEn
  score
  box {
    x1
    y1
    x2
    y2
  }
  crop: cropUrl(size: 192)
  crop2x: cropUrl(size: 384)
  image {
    id
    externalId
  }
  modelVersion {
    id
  }
}`) as unknown as TypedDocumentString<SearchResultsQuery, SearchResultsQueryVariables>;
export const FacetsAndSlotCountsDocument = new TypedDocumentString(`
    query FacetsAndSlotCounts($where: GarmentWhere, $kinds: [AttributeKind!]!, $TOP: GarmentWhere!, $BOTTOM: GarmentWhere!, $OUTER: GarmentWhere!, $ONE_PIECE: GarmentWhere!) {
  garmentFacets(where: $where, kinds: $kinds) {
    kind
    values {
      value
      valueEn
      count
    }
  }
  TOP: searchGarments(where: $TOP, first: 1) {
    totalCount
  }
  BOTTOM: searchGarments(where: $BOTTOM, first: 1) {
    totalCount
  }
  OUTER: searchGarments(where: $OUTER, first: 1) {
    totalCount
  }
  ONE_PIECE: searchGarments(where: $ONE_PIECE, first: 1) {
    totalCount
  }
}
    `) as unknown as TypedDocumentString<FacetsAndSlotCountsQuery, FacetsAndSlotCountsQueryVariables>;
export const FacetsDocument = new TypedDocumentString(`
    query Facets($where: GarmentWhere, $kinds: [AttributeKind!]!) {
  garmentFacets(where: $where, kinds: $kinds) {
    kind
    values {
      value
      valueEn
      count
    }
  }
}
    `) as unknown as TypedDocumentString<FacetsQuery, FacetsQueryVariables>;
export const ModelVersionChoicesDocument = new TypedDocumentString(`
    query ModelVersionChoices {
  modelVersions(first: 100) {
    edges {
      node {
        id
        databaseId
        name
        isActive
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ModelVersionChoicesQuery, ModelVersionChoicesQueryVariables>;
export const SimilarGarmentsDocument = new TypedDocumentString(`
    query SimilarGarments($garmentId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!, $after: String, $withGarment: Boolean!) {
  garment(id: $garmentId) @include(if: $withGarment) {
    ...GarmentCrop
  }
  similarGarments(
    garmentId: $garmentId
    modelVersionId: $modelVersionId
    where: $where
    first: $first
    after: $after
  ) {
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      similarity
      node {
        ...GarmentCrop
      }
    }
  }
}
    fragment GarmentCrop on Garment {
  id
  superCategory
  category
  categoryEn
  score
  box {
    x1
    y1
    x2
    y2
  }
  crop: cropUrl(size: 192)
  crop2x: cropUrl(size: 384)
  image {
    id
    externalId
  }
  modelVersion {
    id
  }
}`) as unknown as TypedDocumentString<SimilarGarmentsQuery, SimilarGarmentsQueryVariables>;
export const ShopTheLookDocument = new TypedDocumentString(`
    query ShopTheLook($imageId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!) {
  image(id: $imageId) {
    id
    externalId
    fileName
  }
  shopTheLook(
    imageId: $imageId
    modelVersionId: $modelVersionId
    where: $where
    first: $first
  ) {
    garment {
      ...GarmentCrop
    }
    matches {
      similarity
      node {
        ...GarmentCrop
      }
    }
  }
}
    fragment GarmentCrop on Garment {
  id
  superCategory
  category
  categoryEn
  score
  box {
    x1
    y1
    x2
    y2
  }
  crop: cropUrl(size: 192)
  crop2x: cropUrl(size: 384)
  image {
    id
    externalId
  }
  modelVersion {
    id
  }
}`) as unknown as TypedDocumentString<ShopTheLookQuery, ShopTheLookQueryVariables>;