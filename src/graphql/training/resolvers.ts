/**
 * Training and prediction over GraphQL: startTraining / cancelTraining, trainingRun(s) extras (log,
 * loss curves), the trainingRunUpdated subscription, activateModelVersion, analyzeImage (one photo,
 * through a model server) and predictImages (a batch job for the model servers). Resolvers check the
 * arguments, the roles (`@Authorized`) and delegate to the services of the context.
 */
import * as path from 'node:path';
import type { Role } from '../../auth/roles';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, UseMiddleware } from 'type-graphql';
import { refuseNulArguments } from '../input-guards';
import { storedParamsAsInput, trainingParamsFromInput, type TrainingParams } from '../../jobs/training-params';
import { InvalidChunkSize, predictionChunkSize } from '../../db/prediction-jobs';
import type { GraphQLContext } from '../context';
import { badInput, notFound } from '../errors';
import { keyOf, serialKeyOf } from '../ids';
import { imageFilter } from '../filters';
import { AFTER_DESCRIPTION, connectionOf, newestFirstPage, PAGE_SIZE_DESCRIPTION } from '../connection';
import { toGarment, toImage, toModelVersion, toPredictionJob, toTrainingRun } from '../loaders';
import * as T from '../types';
import { ImageAnalysis, LossCurve, PredictionJob, PredictionJobConnection } from './types';
import { StartTrainingInput, TrainingRunParams } from './params';
import { runTextFor } from './run-log-view';
import { isUploadId } from '../../uploads/upload-store';

/** The run's parameters, validated; a refusal (InvalidTrainingParams) reaches the client as BAD_USER_INPUT with its field (errors.ts). */
async function trainingParams(input: StartTrainingInput, ctx: GraphQLContext): Promise<TrainingParams> {
  const initWeights = await ctx.services.training.initWeights(input.initWeights);
  return trainingParamsFromInput({ ...input, initWeights }, { memoryBudget: await ctx.services.training.memoryBudget() });
}

/** The chunkSize argument of the batch jobs (predictImages, embedGarments). */
const CHUNK_SIZE_ARGUMENT = {
  nullable: true,
  description: 'Images per chunk (1 to the server maximum); absent: KFASHION_PREDICTION_CHUNK or 256.',
};

function chunkSizeArgument(chunkSize: number | null | undefined, ctx: GraphQLContext): number {
  try {
    return predictionChunkSize(chunkSize, { KFASHION_PREDICTION_CHUNK: ctx.services.predictions.defaultChunkSize });
  } catch (error) {
    if (error instanceof InvalidChunkSize && error.field === 'chunkSize') throw badInput('chunkSize', error.message);
    throw error;
  }
}

@Resolver()
@UseMiddleware(refuseNulArguments)
export class TrainingResolver {
  @Authorized<Role>('admin')
  @Mutation(() => T.TrainingRun, { description: 'Validates the input, records a queued run and hands it to the model servers.' })
  async startTraining(
    @Arg('input', () => StartTrainingInput, { description: 'Data filters, model shape and optimiser; absent fields take the defaults.' })
    input: StartTrainingInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.TrainingRun> {
    return toTrainingRun(await ctx.services.training.start(await trainingParams(input, ctx)));
  }

  @Authorized<Role>('admin')
  @Mutation(() => T.TrainingRun, { description: 'A queued run is cancelled at once; a running one stops after its current step.' })
  async cancelTraining(
    @Arg('id', () => ID, { description: 'The global id of a TrainingRun.' }) id: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.TrainingRun> {
    const run = await ctx.services.training.cancel(serialKeyOf('id', id, 'TrainingRun'));
    if (!run) throw notFound(`training run ${id}`);
    return toTrainingRun(run);
  }

  @Authorized<Role>('admin')
  @Mutation(() => T.ModelVersion, { description: 'Makes this version the one analyzeImage and the model servers use by default.' })
  async activateModelVersion(
    @Arg('id', () => ID, { description: 'The global id of a ModelVersion.' }) id: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<T.ModelVersion> {
    const version = await ctx.services.training.activate(serialKeyOf('id', id, 'ModelVersion'));
    if (!version) throw notFound(`model version ${id}`);
    return toModelVersion(version);
  }

  @Authorized<Role>('analyst')
  @Mutation(() => ImageAnalysis, {
    description:
      'Detects garments in a photo with a model version (default: the active one) and stores them as PREDICTION garments: ' +
      'uploadId, a photo uploaded with POST /uploads (stored, with its image row, only when the analysis succeeds), or imageId of a stored image.',
  })
  async analyzeImage(
    @Arg('uploadId', () => ID, { nullable: true, description: 'The `uploadId` POST /uploads answered.' }) uploadId: string | null,
    @Arg('imageId', () => ID, { nullable: true, description: 'A stored image (an Image id).' }) imageId: string | null,
    @Arg('fileName', () => String, { nullable: true, description: 'Name to record for an uploaded photo (default: its stored file name).' })
    fileName: string | null,
    @Arg('modelVersionId', () => ID, {
      nullable: true,
      description: 'The model version to use (a ModelVersion id); absent: the active one.',
    })
    modelVersionId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ImageAnalysis> {
    if ((uploadId == null) === (imageId == null)) throw badInput('uploadId', 'give exactly one of uploadId and imageId');
    if (uploadId != null && !isUploadId(uploadId))
      throw badInput('uploadId', `"${uploadId.slice(0, 40)}" is not an upload id (POST /uploads answers one)`);
    const versionId = modelVersionId == null ? null : serialKeyOf('modelVersionId', modelVersionId, 'ModelVersion');
    const subject = uploadId != null ? { uploadId, fileName } : { imageId: keyOf('imageId', imageId!, 'Image') };
    const analysis = await ctx.services.analysis.analyze(subject, versionId);
    return Object.assign(new ImageAnalysis(), {
      image: toImage(analysis.image),
      garments: analysis.garments.map(toGarment),
      modelVersion: await ctx.loaders.modelVersion.load(analysis.modelVersionId),
    });
  }

  @Authorized<Role>('analyst')
  @Mutation(() => PredictionJob, {
    description:
      'Predicts every image matching `where` with a model version, as chunks of `chunkSize` images (default KFASHION_PREDICTION_CHUNK or 256) that any model server takes.',
  })
  async predictImages(
    @Arg('where', () => T.ImageWhere, { nullable: true, description: 'The images to predict; absent: every image.' })
    where: T.ImageWhere | null,
    @Arg('modelVersionId', () => ID, { description: 'The model version to predict with (a ModelVersion id).' }) modelVersionId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('chunkSize', () => Int, CHUNK_SIZE_ARGUMENT)
    chunkSize?: number | null,
  ): Promise<PredictionJob> {
    const versionId = serialKeyOf('modelVersionId', modelVersionId, 'ModelVersion');
    return toPredictionJob(await ctx.services.predictions.create(imageFilter(where), versionId, chunkSizeArgument(chunkSize, ctx)));
  }

  @Authorized<Role>('analyst')
  @Mutation(() => PredictionJob, {
    description:
      "Stores the appearance embedding (the box head's representation of its box) of every garment of the images matching `where` " +
      'under a model version, as chunks of `chunkSize` images (default KFASHION_PREDICTION_CHUNK or 256) that any model server takes; ' +
      'a garment embedded before is embedded again (its box may have been edited). Cancelled with cancelPrediction.',
  })
  async embedGarments(
    @Arg('modelVersionId', () => ID, { description: 'The model version to embed with (a ModelVersion id).' }) modelVersionId: string,
    @Arg('where', () => T.ImageWhere, { nullable: true, description: 'The images whose garments to embed; absent: every image.' })
    where: T.ImageWhere | null,
    @Ctx() ctx: GraphQLContext,
    @Arg('chunkSize', () => Int, CHUNK_SIZE_ARGUMENT)
    chunkSize?: number | null,
  ): Promise<PredictionJob> {
    const versionId = serialKeyOf('modelVersionId', modelVersionId, 'ModelVersion');
    return toPredictionJob(
      await ctx.services.predictions.create(imageFilter(where), versionId, chunkSizeArgument(chunkSize, ctx), 'embed'),
    );
  }

  @Authorized<Role>('analyst')
  @Mutation(() => PredictionJob, {
    description:
      'Stops every chunk of a prediction job: queued ones at once, running ones after their current page (analysts, like predictImages).',
  })
  async cancelPrediction(
    @Arg('id', () => ID, { description: 'The global id of a PredictionJob.' }) id: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PredictionJob> {
    const row = await ctx.services.predictions.cancel(serialKeyOf('id', id, 'PredictionJob'));
    if (!row) throw notFound(`prediction job ${id}`);
    return toPredictionJob(row);
  }

  @Authorized<Role>('viewer')
  @Query(() => PredictionJob, { nullable: true, description: 'A prediction job by its global id; null when it does not exist.' })
  predictionJob(
    @Arg('id', () => ID, { description: 'The global id of a PredictionJob.' }) id: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PredictionJob | null> {
    return ctx.loaders.predictionJob.load(serialKeyOf('id', id, 'PredictionJob'));
  }

  @Authorized<Role>('viewer')
  @Query(() => PredictionJobConnection, { description: 'Prediction jobs, newest first, optionally of one status.' })
  async predictionJobs(
    @Arg('status', () => T.JobStatus, { nullable: true, description: 'Only jobs with this status.' }) status: T.JobStatus | null,
    @Arg('first', () => Int, { nullable: true, description: PAGE_SIZE_DESCRIPTION }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PredictionJobConnection> {
    const page = await ctx.services.predictions.list(status ?? null, newestFirstPage('predictionJob', first, after, ctx.maxPageSize));
    return Object.assign(
      new PredictionJobConnection(),
      connectionOf('predictionJob', page.rows.map(toPredictionJob), page.hasNextPage, (job) => job),
      {
        countMatches: () => ctx.services.predictions.count(status ?? null),
      },
    );
  }

  @Authorized<Role>('viewer')
  @Subscription(() => T.TrainingRun, {
    description: 'The run now and after every step, until it has finished (graphql-ws on /graphql).',
    subscribe: ({ args, context }) => {
      const { services } = context as GraphQLContext;
      // type-graphql checked the argument against its ID! declaration before this runs.
      const { id } = args as { id: string };
      const runId = serialKeyOf('id', id, 'TrainingRun');
      return (async function* () {
        if (!(await services.training.run(runId))) throw notFound(`training run ${id}`);
        for await (const run of services.training.updates(runId)) yield toTrainingRun(run);
      })();
    },
  })
  trainingRunUpdated(
    @Arg('id', () => ID, { description: 'The global id of a TrainingRun.' }) _id: string,
    @Root() run: T.TrainingRun,
  ): T.TrainingRun {
    return run;
  }
}

@Resolver(() => T.TrainingRun)
export class TrainingRunExtrasResolver {
  @FieldResolver(() => String, { description: 'The run log: start, resumes, re-initialised heads, skipped images, evaluation.' })
  async log(@Root() run: T.TrainingRun, @Ctx() ctx: GraphQLContext): Promise<string> {
    return runTextFor(ctx.principal.role, (await ctx.loaders.runLog.load(run.id))?.log ?? '');
  }

  // Full detail for admins only, as the log.
  @FieldResolver(() => String, {
    nullable: true,
    description: 'Why the run failed; null unless it did (details for admins only, as the log).',
  })
  error(@Root() run: T.TrainingRun, @Ctx() ctx: GraphQLContext): string | null {
    return run.error === null ? null : runTextFor(ctx.principal.role, run.error);
  }

  @FieldResolver(() => TrainingRunParams, { description: 'The parameters the run was started with.' })
  params(@Root() run: T.TrainingRun): TrainingRunParams {
    const params = storedParamsAsInput(run.params);
    // The stored initWeights is the server's path of the file: clients see its name, as the run log shows it.
    const initWeights = typeof params.initWeights === 'string' ? path.basename(params.initWeights) : null;
    return Object.assign(new TrainingRunParams(), params, { initWeights });
  }

  @FieldResolver(() => Int, { description: 'How many times a worker took the run (more than 1 after a resume).' })
  async attempts(@Root() run: T.TrainingRun, @Ctx() ctx: GraphQLContext): Promise<number> {
    return (await ctx.loaders.runLog.load(run.id))?.attempt ?? 0;
  }

  @FieldResolver(() => [LossCurve], { description: 'Each recorded metric (losses, lr, images_per_second) as a curve over steps.' })
  lossCurves(@Root() run: T.TrainingRun, @Ctx() ctx: GraphQLContext): Promise<LossCurve[]> {
    return ctx.loaders.lossCurves.load(run.id);
  }
}

@Resolver(() => PredictionJob)
export class PredictionJobResolver {
  @FieldResolver(() => T.ModelVersion, { nullable: true, description: 'The model version the job predicts with.' })
  modelVersion(@Root() job: PredictionJob, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.modelVersion.load(job.modelVersionId);
  }
}

export const TRAINING_RESOLVERS = [TrainingResolver, TrainingRunExtrasResolver, PredictionJobResolver] as const;
