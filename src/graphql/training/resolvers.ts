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
import { integerKey, parseId } from '../ids';
import { toGarment, toImage, toModelVersion, toTrainingRun } from '../loaders';
import * as T from '../types';
import { ImageAnalysis, LossCurve, PredictionJob } from './types';
import { StartTrainingInput, TrainingRunParams } from './params';
import { runTextFor } from './run-log-view';

/**
 * The key of a row with a serial (integer) id, or NOT_FOUND: a well-formed id above the integer
 * range cannot name a row.
 */
function serialId(field: string, text: string, what: string): number {
  const key = integerKey(parseId(field, text));
  if (key === null) throw notFound(`${what} ${text}`);
  return key;
}

/** The run's parameters, validated; a refusal (InvalidTrainingParams) reaches the client as BAD_USER_INPUT with its field (errors.ts). */
async function trainingParams(input: StartTrainingInput, ctx: GraphQLContext): Promise<TrainingParams> {
  const initWeights = await ctx.services.training.initWeights(input.initWeights);
  return trainingParamsFromInput({ ...input, initWeights }, { memoryBudget: await ctx.services.training.memoryBudget() });
}

function toPredictionJob(row: Record<string, unknown>): PredictionJob {
  return Object.assign(new PredictionJob(), {
    id: Number(row.id), status: row.status, total: row.total, done: row.done, error: row.error,
    createdAt: row.created_at, startedAt: row.started_at, finishedAt: row.finished_at, modelVersionId: Number(row.model_version_id),
    chunks: row.chunks, chunkSize: row.chunk_size,
  });
}

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
  async startTraining(@Arg('input', () => StartTrainingInput) input: StartTrainingInput, @Ctx() ctx: GraphQLContext): Promise<T.TrainingRun> {
    return toTrainingRun(await ctx.services.training.start(await trainingParams(input, ctx)));
  }

  @Authorized<Role>('admin')
  @Mutation(() => T.TrainingRun, { description: 'A queued run is cancelled at once; a running one stops after its current step.' })
  async cancelTraining(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<T.TrainingRun> {
    const run = await ctx.services.training.cancel(serialId('id', id, 'training run'));
    if (!run) throw notFound(`training run ${id}`);
    return toTrainingRun(run);
  }

  @Authorized<Role>('admin')
  @Mutation(() => T.ModelVersion, { description: 'Makes this version the one analyzeImage and the model servers use by default.' })
  async activateModelVersion(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<T.ModelVersion> {
    const version = await ctx.services.training.activate(serialId('id', id, 'model version'));
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
    @Arg('uploadId', () => ID, { nullable: true }) uploadId: string | null,
    @Arg('imageId', () => ID, { nullable: true }) imageId: string | null,
    @Arg('fileName', () => String, { nullable: true, description: 'Name to record for an uploaded photo (default: its stored file name).' }) fileName: string | null,
    @Arg('modelVersionId', () => ID, { nullable: true }) modelVersionId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ImageAnalysis> {
    if ((uploadId == null) === (imageId == null)) throw badInput('uploadId', 'give exactly one of uploadId and imageId');
    const versionId = modelVersionId == null ? null : serialId('modelVersionId', modelVersionId, 'model version');
    const subject = uploadId != null ? { uploadId, fileName } : { imageId: parseId('imageId', imageId!) };
    const analysis = await ctx.services.analysis.analyze(subject, versionId);
    return Object.assign(new ImageAnalysis(), {
      image: toImage(analysis.image),
      garments: analysis.garments.map(toGarment),
      modelVersion: await ctx.loaders.modelVersion.load(analysis.modelVersionId),
    });
  }

  @Authorized<Role>('analyst')
  @Mutation(() => PredictionJob, {
    description: 'Predicts every image matching `where` with a model version, as chunks of `chunkSize` images (default KFASHION_PREDICTION_CHUNK or 256) that any model server takes.',
  })
  async predictImages(
    @Arg('where', () => T.ImageWhere, { nullable: true }) where: T.ImageWhere | null,
    @Arg('modelVersionId', () => ID) modelVersionId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('chunkSize', () => Int, { nullable: true }) chunkSize?: number | null,
  ): Promise<PredictionJob> {
    const versionId = serialId('modelVersionId', modelVersionId, 'model version');
    return toPredictionJob(await ctx.services.predictions.create(where, versionId, chunkSizeArgument(chunkSize, ctx)));
  }

  @Authorized<Role>('analyst')
  @Mutation(() => PredictionJob, {
    description: 'Stops every chunk of a prediction job: queued ones at once, running ones after their current page (analysts, like predictImages).',
  })
  async cancelPrediction(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<PredictionJob> {
    const row = await ctx.services.predictions.cancel(serialId('id', id, 'prediction job'));
    if (!row) throw notFound(`prediction job ${id}`);
    return toPredictionJob(row);
  }

  @Authorized<Role>('viewer')
  @Query(() => PredictionJob, { nullable: true })
  async predictionJob(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<PredictionJob | null> {
    const key = integerKey(parseId('id', id));
    const row = key === null ? null : await ctx.services.predictions.job(key);
    return row ? toPredictionJob(row) : null;
  }

  @Authorized<Role>('viewer')
  @Subscription(() => T.TrainingRun, {
    description: 'The run now and after every step, until it has finished (graphql-ws on /graphql).',
    subscribe: ({ args, context }) => {
      const { services } = context as GraphQLContext;
      const runId = serialId('id', String(args.id), 'training run');
      return (async function* () {
        if (!(await services.training.run(runId))) throw notFound(`training run ${runId}`);
        for await (const run of services.training.updates(runId)) yield toTrainingRun(run);
      })();
    },
  })
  trainingRunUpdated(@Arg('id', () => ID) _id: string, @Root() run: T.TrainingRun): T.TrainingRun {
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
  @FieldResolver(() => String, { nullable: true })
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
  @FieldResolver(() => T.ModelVersion, { nullable: true })
  modelVersion(@Root() job: PredictionJob, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.modelVersion.load(job.modelVersionId);
  }
}

export const TRAINING_RESOLVERS = [TrainingResolver, TrainingRunExtrasResolver, PredictionJobResolver] as const;
