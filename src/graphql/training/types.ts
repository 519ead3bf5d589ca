/** GraphQL types of the training and prediction API (added to the schema by src/graphql/schema.ts). */
import 'reflect-metadata';
import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { SuperCategory } from '../../kfashion/types';
import * as T from '../types';

@InputType({ description: 'A training run: data filters, model shape and optimiser (defaults: torchvision detection recipe).' })
export class StartTrainingInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'resnet18 (default), resnet34, resnet50 or resnet101.' }) backbone?: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Further model config keys (torchvision FasterRCNN kwargs: min_size, max_size, rpn_*, box_*, ...).' })
  model?: Record<string, unknown> | null;
  @Field(() => [SuperCategory], { nullable: true, description: 'Train on garments of these slots only.' }) superCategories?: SuperCategory[] | null;
  @Field(() => [String], { nullable: true, description: 'Attribute heads (default: every garment kind with values).' }) attributeKinds?: string[] | null;
  @Field(() => Int, { nullable: true, description: 'A category or value needs this many training garments (default 1).' }) minValueCount?: number | null;
  @Field(() => Int, { nullable: true, description: 'Use at most this many training images.' }) maxImages?: number | null;
  @Field(() => Int, { nullable: true, description: 'Evaluate on at most this many validation images.' }) evalMaxImages?: number | null;
  @Field(() => Int, { nullable: true }) epochs?: number | null;
  @Field(() => Int, { nullable: true }) batchSize?: number | null;
  @Field(() => Float, { nullable: true, description: 'Base learning rate (default 0.02 × batchSize / 16).' }) lr?: number | null;
  @Field(() => Float, { nullable: true }) momentum?: number | null;
  @Field(() => Float, { nullable: true }) weightDecay?: number | null;
  @Field(() => [Int], { nullable: true, description: 'Epochs at which the learning rate is multiplied by lrGamma.' }) lrMilestones?: number[] | null;
  @Field(() => Float, { nullable: true }) lrGamma?: number | null;
  @Field(() => Int, { nullable: true }) warmupIterations?: number | null;
  @Field(() => Int, { nullable: true, description: 'Steps between checkpoints (default 500).' }) checkpointEvery?: number | null;
  @Field(() => Float, { nullable: true, description: 'Rescale gradients above this total L2 norm (default off, as torchvision).' }) clipGradNorm?: number | null;
  @Field(() => Int, { nullable: true }) seed?: number | null;
  @Field(() => String, { nullable: true, description: 'Weights to start from: a catalogue name (`kfashion weights list`, fetched into the weights folder) or a .safetensors/.pth file in the weights folder (KFASHION_WEIGHTS_DIR).' }) initWeights?: string | null;
}

@ObjectType({ description: 'Values of one training metric in step order.' })
export class LossCurve {
  @Field(() => String, { description: 'Metric name: loss, loss_classifier, …, lr, images_per_second.' }) name!: string;
  @Field(() => [Int], { description: 'Steps with a recorded value, ascending.' }) steps!: number[];
  @Field(() => [Float], { description: 'The value at each of `steps`.' }) values!: number[];
}

@ObjectType({ implements: T.Node, description: 'A batch prediction over the images matching a filter (predictImages), run as chunks by every model server.' })
export class PredictionJob extends T.Node {
  id!: number;
  protected readonly nodeType = 'PredictionJob' as const;
  @Field(() => String, T.DATABASE_ID) get databaseId(): string {
    return String(this.id);
  }
  @Field(() => T.JobStatus, { description: 'Where the job stands (settled from its chunks).' }) status!: T.JobStatus;
  @Field(() => Int, { nullable: true, description: 'Images matching the filter when the job was created.' }) total!: number | null;
  @Field(() => Int, { description: 'Images predicted (or skipped as unreadable) so far, over all chunks.' }) done!: number;
  @Field(() => String, { nullable: true, description: 'Why the job failed; null unless it did.' }) error!: string | null;
  @Field(() => GraphQLDateTime, { description: 'When predictImages created it.' }) createdAt!: Date;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When a model server took the first chunk.' }) startedAt!: Date | null;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When its last chunk settled.' }) finishedAt!: Date | null;
  @Field(() => Int, { nullable: true, description: 'Chunks the images were split into (ranges of ids).' }) chunks!: number | null;
  @Field(() => Int, { nullable: true, description: 'Images per chunk (the last one may have fewer).' }) chunkSize!: number | null;
  modelVersionId!: number;

  @Field(() => Float, { nullable: true, description: 'Images done per second since the job started (until it finished).' })
  get imagesPerSecond(): number | null {
    if (!this.startedAt || this.done === 0) return null;
    const seconds = (new Date(this.finishedAt ?? Date.now()).getTime() - new Date(this.startedAt).getTime()) / 1000;
    return seconds > 0 ? this.done / seconds : null;
  }

  @Field(() => Float, { nullable: true, description: 'Seconds left at the current rate, while the job runs.' })
  get etaSeconds(): number | null {
    const rate = this.imagesPerSecond;
    if (this.status !== T.JobStatus.RUNNING || rate === null || this.total === null) return null;
    return Math.max(0, this.total - this.done) / rate;
  }
}

export const PredictionJobConnection = T.connectionType(PredictionJob, 'PredictionJob', 'prediction jobs');
export type PredictionJobConnection = T.Connection<PredictionJob>;

@ObjectType({ description: 'The garments a model version found in one image, stored as PREDICTION garments.' })
export class ImageAnalysis {
  @Field(() => T.Image, { description: 'The analysed image (an upload is stored as a new image).' }) image!: T.Image;
  @Field(() => [T.Garment], { description: 'The garments found, now stored as its PREDICTION garments.' }) garments!: T.Garment[];
  @Field(() => T.ModelVersion, { description: 'The model version that analysed it.' }) modelVersion!: T.ModelVersion;
}
