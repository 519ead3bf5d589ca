/**
 * Training and prediction over GraphQL: startTraining / cancelTraining, trainingRun(s) extras (log,
 * loss curves), the trainingRunUpdated subscription, activateModelVersion, analyzeImage (one photo,
 * through the model server's HTTP API) and predictImages (a batch job for the model servers).
 * Resolvers validate and delegate: the work runs in src/model-server, the storage in src/db.
 */
import * as fs from 'node:fs';
import { GraphQLError } from 'graphql';
import type { Role } from '../../auth/roles';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, UseMiddleware } from 'type-graphql';
import { refuseNulArguments } from '../input-guards';
import type { DataSource } from 'typeorm';
import { GARMENT_COLUMNS, IMAGE_COLUMNS } from '../../db/search';
import { changedRows } from '../../db/sql';
import { storePredictions, storeUploadWithPredictions, type StoredDetection } from '../../db/predictions';
import { buildLabelSpace, countDatasetImages } from '../../ml/data/dataset';
import { databaseExampleSource } from '../../db/training-examples';
import { toStoredPixels } from '../../images/stored-pixels';
import { readModelVersion } from '../../db/model-versions';
import { InvalidTrainingParams, normaliseTrainingParams } from '../../jobs/training-params';
import { TRAINING_QUEUE } from '../../jobs/queue';
import { cancelPredictionJob, createPredictionJob, InvalidChunkSize, predictionChunkSize } from '../../db/prediction-jobs';
import { CATALOGUE } from '../../ml/weights/catalogue';
import type { GraphQLContext } from '../context';
import { confinedPath } from '../../util/confined-path';
import { toGarment, toImage, toModelVersion, toTrainingRun, TRAINING_RUN_COLUMNS } from '../loaders';
import * as T from '../types';
import { runUpdates } from './run-updates';
import { badInput, jobQueue, notFound, trainingApiConfig } from './services';
import { ImageAnalysis, LossCurve, PredictionJob, StartTrainingInput } from './types';

function parseId(field: string, id: string): number {
  if (!/^\d{1,9}$/.test(id)) throw badInput(field, `"${id}" is not an id`);
  return Number(id);
}

async function loadRun(dataSource: DataSource, id: number): Promise<T.TrainingRun> {
  const rows = await dataSource.query(`SELECT ${TRAINING_RUN_COLUMNS} FROM training_runs WHERE id = $1`, [id]);
  if (rows.length === 0) throw notFound(`training run ${id}`);
  return toTrainingRun(rows[0]);
}

/** Input field names as the client wrote them (params keep data filters under `data.`). */
function inputField(field: string): string {
  return field.replace(/^data\./, '').replace(/^model\.backbone$/, 'backbone');
}

function toParams(input: StartTrainingInput): Record<string, unknown> {
  const defined = <V>(v: V | null | undefined) => (v === null ? undefined : v);
  return {
    name: defined(input.name),
    model: { ...(input.model ?? {}), ...(input.backbone ? { backbone: input.backbone } : {}) },
    data: {
      superCategories: defined(input.superCategories),
      attributeKinds: defined(input.attributeKinds),
      minValueCount: defined(input.minValueCount),
      maxImages: defined(input.maxImages),
      evalMaxImages: defined(input.evalMaxImages),
    },
    epochs: defined(input.epochs),
    batchSize: defined(input.batchSize),
    lr: defined(input.lr),
    momentum: defined(input.momentum),
    weightDecay: defined(input.weightDecay),
    lrMilestones: defined(input.lrMilestones),
    lrGamma: defined(input.lrGamma),
    warmupIterations: defined(input.warmupIterations),
    checkpointEvery: defined(input.checkpointEvery),
    clipGradNorm: defined(input.clipGradNorm),
    seed: defined(input.seed),
    initWeights: defined(input.initWeights),
  };
}

/**
 * `initWeights` as a catalogue name (its file is in the weights folder once fetched) or an absolute
 * path inside the weights folder; anything outside is the caller's error.
 */
async function confinedWeights(requested: string | null | undefined): Promise<string | undefined> {
  if (requested == null) return undefined;
  if (CATALOGUE.some((entry) => entry.name === requested)) return requested;
  const { weightsDir } = trainingApiConfig();
  const file = await confinedPath(weightsDir, requested);
  if (!file) throw badInput('initWeights', `name a file in the server's weights folder (KFASHION_WEIGHTS_DIR), relative to it; "${requested}" is outside it`);
  return file;
}

function toPredictionJob(row: Record<string, unknown>): PredictionJob {
  return Object.assign(new PredictionJob(), {
    id: Number(row.id), status: row.status, total: row.total, done: row.done, error: row.error,
    createdAt: row.created_at, startedAt: row.started_at, finishedAt: row.finished_at, modelVersionId: Number(row.model_version_id),
    chunks: row.chunks, chunkSize: row.chunk_size,
  });
}

function chunkSizeArgument(chunkSize: number | null | undefined): number {
  try {
    return predictionChunkSize(chunkSize);
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
    let params;
    try {
      params = normaliseTrainingParams({ ...toParams(input), initWeights: await confinedWeights(input.initWeights) });
    } catch (error) {
      if (error instanceof InvalidTrainingParams) throw badInput(inputField(error.field), error.message.replace(/^[^:]+: /, ''));
      throw error;
    }
    const examples = databaseExampleSource(ctx.dataSource);
    const space = await buildLabelSpace(examples, params.data, 'train');
    if (space.classes.length === 0) {
      throw badInput(params.data.superCategories ? 'superCategories' : 'input', 'the training split has no annotated garment in scope: the dataset is empty');
    }
    if ((await countDatasetImages(examples, params.data, space, 'train')) === 0) throw badInput('input', 'the training split has no image with garments in scope: the dataset is empty');
    const queue = await jobQueue(ctx.dataSource);
    const rows = await ctx.dataSource.query(`INSERT INTO training_runs (params) VALUES ($1::jsonb) RETURNING id`, [JSON.stringify(params)]);
    const id = Number(rows[0].id);
    const jobId = await queue.sendTraining({ runId: id });
    await ctx.dataSource.query(`UPDATE training_runs SET job_id = $2 WHERE id = $1`, [id, jobId]);
    return loadRun(ctx.dataSource, id);
  }

  @Authorized<Role>('admin')
  @Mutation(() => T.TrainingRun, { description: 'A queued run is cancelled at once; a running one stops after its current step.' })
  async cancelTraining(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<T.TrainingRun> {
    const runId = parseId('id', id);
    const rows = await changedRows<{ status: string; job_id: string | null }>(
      ctx.dataSource,
      `UPDATE training_runs SET cancel_requested = true,
              status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
              finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
        WHERE id = $1 RETURNING status, job_id`,
      [runId],
    );
    if (rows.length === 0) throw notFound(`training run ${runId}`);
    if (rows[0].status === 'cancelled' && rows[0].job_id) await (await jobQueue(ctx.dataSource)).cancel(TRAINING_QUEUE, rows[0].job_id).catch(() => undefined);
    return loadRun(ctx.dataSource, runId);
  }

  @Authorized<Role>('admin')
  @Mutation(() => T.ModelVersion, { description: 'Makes this version the one analyzeImage and the model servers use by default.' })
  async activateModelVersion(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<T.ModelVersion> {
    const versionId = parseId('id', id);
    return ctx.dataSource.transaction(async (manager) => {
      const found = await manager.query(`SELECT id FROM model_versions WHERE id = $1 FOR UPDATE`, [versionId]);
      if (found.length === 0) throw notFound(`model version ${versionId}`);
      await manager.query(`UPDATE model_versions SET is_active = false WHERE is_active AND id <> $1`, [versionId]);
      const rows = await changedRows<Record<string, unknown>>(
        manager,
        `UPDATE model_versions SET is_active = true WHERE id = $1
         RETURNING id, name, backbone, config, metrics, is_active AS "isActive", created_at AS "createdAt", training_run_id AS "trainingRunId"`,
        [versionId],
      );
      return toModelVersion(rows[0]);
    });
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
    const versionId = modelVersionId == null ? null : parseId('modelVersionId', modelVersionId);
    const stored = uploadId != null
      ? await analyzeUpload(ctx, uploadId, fileName, versionId)
      : await analyzeStoredImage(ctx, parseId('imageId', imageId!), versionId);
    const garments = stored.garmentIds.length === 0 ? [] : await ctx.dataSource.query(
      `SELECT ${GARMENT_COLUMNS} FROM garments g LEFT JOIN vocabulary c ON c.id = g.category_id WHERE g.id = ANY($1::bigint[]) ORDER BY g.id`,
      [stored.garmentIds],
    );
    const [image] = await ctx.dataSource.query(`SELECT ${IMAGE_COLUMNS} FROM images i WHERE i.id = $1`, [stored.imageId]);
    return Object.assign(new ImageAnalysis(), {
      image: toImage(image),
      garments: garments.map(toGarment),
      modelVersion: await ctx.loaders.modelVersion.load(stored.modelVersionId),
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
    const versionId = parseId('modelVersionId', modelVersionId);
    await readModelVersion(ctx.dataSource, versionId).catch(() => {
      throw notFound(`model version ${versionId}`);
    });
    const size = chunkSizeArgument(chunkSize);
    // Compiles the filter now, so a bad filter is the caller's error and not a failed job.
    await ctx.search.images(where, { first: 1 });
    const row = await createPredictionJob(ctx.dataSource, await jobQueue(ctx.dataSource), ctx.search, { modelVersionId: versionId, filter: where, chunkSize: size });
    return toPredictionJob(row);
  }

  @Authorized<Role>('admin')
  @Mutation(() => PredictionJob, { description: 'Stops every chunk of a prediction job: queued ones at once, running ones after their current page.' })
  async cancelPrediction(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<PredictionJob> {
    const jobId = parseId('id', id);
    const row = await cancelPredictionJob(ctx.dataSource, await jobQueue(ctx.dataSource), jobId);
    if (!row) throw notFound(`prediction job ${jobId}`);
    return toPredictionJob(row);
  }

  @Authorized<Role>('viewer')
  @Query(() => PredictionJob, { nullable: true })
  async predictionJob(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<PredictionJob | null> {
    const rows = await ctx.dataSource.query(`SELECT * FROM prediction_jobs WHERE id = $1`, [parseId('id', id)]);
    return rows.length > 0 ? toPredictionJob(rows[0]) : null;
  }

  @Authorized<Role>('viewer')
  @Subscription(() => T.TrainingRun, {
    description: 'The run now and after every step, until it has finished (graphql-ws on /graphql).',
    subscribe: ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const runId = parseId('id', String(args.id));
      return (async function* () {
        await loadRun(ctx.dataSource, runId);
        const finished = async () => ['succeeded', 'failed', 'cancelled'].includes((await loadRun(ctx.dataSource, runId)).status);
        for await (const _ of runUpdates(ctx.dataSource, runId, finished)) yield await loadRun(ctx.dataSource, runId);
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
    const rows = await ctx.dataSource.query(`SELECT log FROM training_runs WHERE id = $1`, [run.id]);
    return rows[0]?.log ?? '';
  }

  @FieldResolver(() => Int, { description: 'How many times a worker took the run (more than 1 after a resume).' })
  async attempts(@Root() run: T.TrainingRun, @Ctx() ctx: GraphQLContext): Promise<number> {
    const rows = await ctx.dataSource.query(`SELECT attempt FROM training_runs WHERE id = $1`, [run.id]);
    return rows[0]?.attempt ?? 0;
  }

  @FieldResolver(() => [LossCurve], { description: 'Each recorded metric (losses, lr, images_per_second) as a curve over steps.' })
  async lossCurves(@Root() run: T.TrainingRun, @Ctx() ctx: GraphQLContext): Promise<LossCurve[]> {
    const rows: { name: string; steps: number[]; values: number[] }[] = await ctx.dataSource.query(
      `SELECT name, array_agg(step ORDER BY step) AS steps, array_agg(value ORDER BY step) AS values
         FROM training_metrics WHERE training_run_id = $1 GROUP BY name ORDER BY name`,
      [run.id],
    );
    return rows.map((r) => Object.assign(new LossCurve(), r));
  }
}

@Resolver(() => PredictionJob)
export class PredictionJobResolver {
  @FieldResolver(() => T.ModelVersion, { nullable: true })
  modelVersion(@Root() job: PredictionJob, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.modelVersion.load(job.modelVersionId);
  }
}

interface StoredAnalysis {
  imageId: string;
  garmentIds: string[];
  modelVersionId: number;
}

/** An uploaded photo: analysed first, then kept and recorded with its predictions in one step; a failed analysis keeps nothing. */
async function analyzeUpload(ctx: GraphQLContext, uploadId: string, fileName: string | null, versionId: number | null): Promise<StoredAnalysis> {
  const upload = await ctx.uploads.staged(uploadId);
  if (!upload) throw notFound(`upload ${uploadId} (uploads are kept for an hour and analysed once)`);
  let kept: { relativePath: string; created: boolean } | null = null;
  try {
    const prediction = await callModelServer(await fs.promises.readFile(upload.file), versionId);
    const version = await readModelVersion(ctx.dataSource, prediction.modelVersion.id);
    kept = await ctx.uploads.keep(upload);
    const image = { fileName: fileName || kept.relativePath, imagePath: kept.relativePath, width: upload.width, height: upload.height };
    const detections = toStoredPixels(prediction.detections, prediction, upload);
    const stored = await storeUploadWithPredictions(ctx.dataSource, image, version, detections);
    return { ...stored, modelVersionId: version.id };
  } catch (error) {
    if (kept?.created) await ctx.uploads.remove(kept.relativePath);
    throw error;
  } finally {
    await ctx.uploads.discard(uploadId);
  }
}

async function analyzeStoredImage(ctx: GraphQLContext, id: number, versionId: number | null): Promise<StoredAnalysis> {
  const rows = await ctx.dataSource.query(
    `SELECT ${IMAGE_COLUMNS}, d.root_path FROM images i LEFT JOIN datasets d ON d.id = i.dataset_id WHERE i.id = $1`,
    [id],
  );
  if (rows.length === 0) throw notFound(`image ${id}`);
  const row = rows[0];
  if (!row.image_path) throw badInput('imageId', `image ${id} has no file`);
  const root = row.root_path ?? ctx.uploads.dir;
  let bytes: Buffer;
  try {
    const file = await confinedPath(root, row.image_path);
    if (!file) throw new Error(`${row.image_path} resolves outside ${root}`);
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    throw new GraphQLError(`image ${id}: its file cannot be read`, { extensions: { code: 'IMAGE_FILE_MISSING' }, originalError: error as Error });
  }
  const prediction = await callModelServer(bytes, versionId);
  const version = await readModelVersion(ctx.dataSource, prediction.modelVersion.id);
  const garmentIds = await storePredictions(ctx.dataSource, String(id), version, toStoredPixels(prediction.detections, prediction, row));
  return { imageId: String(id), garmentIds, modelVersionId: version.id };
}

interface ModelServerPrediction {
  width: number;
  height: number;
  detections: StoredDetection[];
  modelVersion: { id: number; name: string };
}

async function callModelServer(bytes: Buffer, versionId: number | null): Promise<ModelServerPrediction> {
  const base = trainingApiConfig().modelServerUrl;
  if (!base) throw new GraphQLError('no model server is configured to analyse images with', { extensions: { code: 'MODEL_SERVER_UNAVAILABLE' } });
  const url = new URL('/predict', base);
  if (versionId !== null) url.searchParams.set('modelVersionId', String(versionId));
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  } catch (error) {
    throw new GraphQLError('the model server cannot be reached', { extensions: { code: 'MODEL_SERVER_UNAVAILABLE' }, originalError: error as Error });
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status === 404) throw new GraphQLError(String(body.error ?? 'model version not found'), { extensions: { code: 'NOT_FOUND' } });
  if (response.status === 415 || response.status === 413 || response.status === 400) throw badInput('uploadId', 'the model server cannot decode this photo');
  if (!response.ok) throw new GraphQLError(`the model server failed to analyse the photo (HTTP ${response.status})`, { extensions: { code: 'MODEL_SERVER_ERROR' } });
  return body as unknown as ModelServerPrediction;
}

export const TRAINING_RESOLVERS = [TrainingResolver, TrainingRunExtrasResolver, PredictionJobResolver] as const;
