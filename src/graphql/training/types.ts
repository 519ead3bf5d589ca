/** GraphQL types of the training and prediction API (added to the schema by src/graphql/schema.ts). */
import 'reflect-metadata';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import * as T from '../types';

export { StartTrainingInput } from './params';

@ObjectType({ description: 'Values of one training metric in step order.' })
export class LossCurve {
  @Field(() => String, { description: 'Metric name: loss, loss_classifier, …, lr, images_per_second.' }) name!: string;
  @Field(() => [Int], { description: 'Steps with a recorded value, ascending.' }) steps!: number[];
  @Field(() => [Float], { description: 'The value at each of `steps`.' }) values!: number[];
}

export enum PredictionJobKind {
  PREDICT = 'predict',
  EMBED = 'embed',
}
registerEnumType(PredictionJobKind, {
  name: 'PredictionJobKind',
  description: 'What a batch job does with each image.',
  valuesConfig: {
    PREDICT: { description: 'Detects garments and stores them as PREDICTION garments with their embeddings (predictImages).' },
    EMBED: { description: 'Stores the appearance embedding of every stored garment of the image, by its box (embedGarments).' },
  },
});

@ObjectType({
  implements: T.Node,
  description: 'A batch job over the images matching a filter (predictImages, embedGarments), run as chunks by every model server.',
})
export class PredictionJob extends T.Node {
  id!: number;
  protected readonly nodeType = 'PredictionJob' as const;
  @Field(() => String, T.DATABASE_ID) get databaseId(): string {
    return String(this.id);
  }
  @Field(() => PredictionJobKind, { description: 'Whether it predicts or embeds.' }) kind!: PredictionJobKind;
  @Field(() => T.JobStatus, { description: 'Where the job stands (settled from its chunks).' }) status!: T.JobStatus;
  @Field(() => Int, { nullable: true, description: 'Images matching the filter when the job was created.' }) total!: number | null;
  @Field(() => Int, { description: 'Images predicted (or skipped as unreadable) so far, over all chunks.' }) done!: number;
  @Field(() => String, { nullable: true, description: 'Why the job failed; null unless it did.' }) error!: string | null;
  @Field(() => GraphQLDateTime, { description: 'When predictImages or embedGarments created it.' }) createdAt!: Date;
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
