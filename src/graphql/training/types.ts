/** GraphQL types of the training and prediction API (added to the schema by src/graphql/schema.ts). */
import 'reflect-metadata';
import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import * as T from '../types';

export { StartTrainingInput } from './params';

@ObjectType({ description: 'Values of one training metric in step order.' })
export class LossCurve {
  @Field(() => String) name!: string;
  @Field(() => [Int]) steps!: number[];
  @Field(() => [Float]) values!: number[];
}

@ObjectType({ description: 'A batch prediction over the images matching a filter (predictImages), run as chunks by every model server.' })
export class PredictionJob {
  @Field(() => ID) id!: number;
  @Field(() => String, { description: 'queued, running, succeeded, failed or cancelled.' }) status!: string;
  @Field(() => Int, { nullable: true, description: 'Images matching the filter when the job was created.' }) total!: number | null;
  @Field(() => Int, { description: 'Images predicted (or skipped as unreadable) so far, over all chunks.' }) done!: number;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => GraphQLDateTime) createdAt!: Date;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When a model server took the first chunk.' }) startedAt!: Date | null;
  @Field(() => GraphQLDateTime, { nullable: true }) finishedAt!: Date | null;
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
    if (this.status !== 'running' || rate === null || this.total === null) return null;
    return Math.max(0, this.total - this.done) / rate;
  }
}

@ObjectType({ description: 'The garments a model version found in one image, stored as PREDICTION garments.' })
export class ImageAnalysis {
  @Field(() => T.Image) image!: T.Image;
  @Field(() => [T.Garment]) garments!: T.Garment[];
  @Field(() => T.ModelVersion) modelVersion!: T.ModelVersion;
}
