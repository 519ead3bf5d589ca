/**
 * One training run, start to finish: the model server runs it for a pg-boss job, `kfashion train`
 * runs the same function in the foreground.
 *
 * 1. Label space and model config: from the newest checkpoint when resuming (frozen), else from the
 *    training split's annotations after the run's filters.
 * 2. Model: fresh (seeded), or the checkpoint's weights and momentum buffers, or the matching tensors
 *    of `initWeights` (heads re-initialised when the label space differs; said in the run log).
 * 3. Steps: SGD with torchvision's detection schedule (linear warm-up in epoch 0, ×gamma at each
 *    milestone epoch). After every step the losses, learning rate and images/s are upserted into
 *    training_metrics and the progress into training_runs in one fenced statement that also publishes
 *    a notification (channel `kfashion_training_run`) and reads the cancel flag; a checkpoint every
 *    `checkpointEvery` steps.
 * 4. The final weights become a model version, with the evaluation on the validation split as metrics.
 *
 * A resumed run repeats the steps after its last checkpoint with the same batches (loader.ts); their
 * metrics overwrite the first attempt's rows (primary key run/step/name), so there are no duplicates.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { AttributeRCNN, type Detection } from '../../ml/model/attribute-rcnn';
import { configToJson, evalMinSize, resolveConfig, type ModelConfig } from '../../ml/model/config';
import { Sgd, detectionLearningRate } from '../../ml/train/sgd';
import { saveSafetensors } from '../../ml/weights/state-dict';
import {
  buildLabelSpace,
  labelCountsOf,
  labelSpaceConfig,
  loadDatasetImages,
  type DatasetImage,
  type LabelSpace,
  type TrainingExampleSource,
} from '../../ml/data/dataset';
import { batchesPerEpoch, epochBatches, type Batch, type SizeRule, type SkippedImage } from '../../ml/data/loader';
import { evaluate, evaluationConfigOf, type EvaluationReport, type GroundTruthGarment, type DetectedGarment } from '../../ml/eval';
import type { Lease } from '../../db/leases';
import {
  appendRunLog,
  RUN_LOG_DETAIL,
  publishTrainingStep,
  recordRunLabelCounts,
  readTrainingRunParams,
  recordTrainedModelVersion,
  type StepMetric,
  type TrainingPhaseName,
} from '../../db/training-progress';
import { databaseExampleSource } from '../../db/training-examples';
import { checkpointDir, readLatestCheckpoint, restoreCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint';
import { loadMatchingWeights } from './init-weights';
import { normaliseTrainingParams, type TrainingParams } from '../../jobs/training-params';
import { uploadsDir } from '../../util/data-dir';
import { afterBackendError, currentBackend } from '../../ml/backend';
import { trainingMemoryBudget } from '../../ml/train/step-memory';

export interface TrainingProgress {
  phase: TrainingPhaseName;
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  losses: Record<string, number>;
  lr: number;
  imagesPerSecond: number | null;
  etaSeconds: number | null;
  trainImages: number;
  skippedImages: number;
  resumedFromStep: number | null;
}

export interface TrainerOptions {
  dataSource: DataSource;
  lease: Lease;
  dataDir: string;
  /** Aborted when the process shuts down: the run stops after its step and keeps its last checkpoint. */
  signal?: AbortSignal;
  onProgress?: (progress: TrainingProgress) => void;
  log?: (line: string) => void;
}

export type TrainingOutcome = { status: 'succeeded'; modelVersionId: number; metrics: EvaluationReport | null } | { status: 'cancelled' };

export class TrainingInterrupted extends Error {}

function sizeRule(config: ModelConfig): SizeRule {
  return { minSize: evalMinSize(config), maxSize: config.max_size };
}

class RunRecorder {
  private readonly started = Date.now();
  private stepsTimed = 0;
  private imagesTimed = 0;
  private timedSince = Date.now();

  constructor(
    private readonly options: TrainerOptions,
    readonly progress: TrainingProgress,
  ) {}

  async log(line: string): Promise<void> {
    (this.options.log ?? (() => undefined))(line);
    await appendRunLog(this.options.dataSource, this.options.lease.id, line);
  }

  /** Images/s over the steps of this process (a resumed run restarts the clock). */
  countStep(images: number): void {
    this.stepsTimed++;
    this.imagesTimed += images;
    const seconds = (Date.now() - this.timedSince) / 1000;
    const perSecond = seconds > 0 ? this.imagesTimed / seconds : null;
    this.progress.imagesPerSecond = perSecond;
    const stepsPerSecond = seconds > 0 ? this.stepsTimed / seconds : 0;
    this.progress.etaSeconds = stepsPerSecond > 0 ? (this.progress.totalSteps - this.progress.step) / stepsPerSecond : null;
  }

  /** Upserts the step's metrics and the progress, fenced on the lease; returns whether cancel was asked. */
  async publish(metrics: StepMetric[]): Promise<boolean> {
    const cancel = await publishTrainingStep(this.options.dataSource, this.options.lease, this.progress, metrics);
    this.options.onProgress?.({ ...this.progress });
    return cancel;
  }

  elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }
}

function buildConfig(params: TrainingParams, space: LabelSpace): ModelConfig {
  return resolveConfig({ ...params.model, ...labelSpaceConfig(space) }, `training run model config`);
}

/** What a run trains on, fixed before the first step. */
interface RunSetup {
  params: TrainingParams;
  examples: TrainingExampleSource;
  checkpoint: { path: string; state: CheckpointState } | null;
  space: LabelSpace;
  config: ModelConfig;
  images: DatasetImage[];
  perEpoch: number;
}

/** Where a run's loop starts: the first batch of the first epoch, or after the checkpoint's step. */
interface LoopPosition {
  epoch: number;
  nextBatch: number;
}

/** Runs (or resumes) the run leased by `options.lease`. Throws on failure; the caller records it. */
export async function runTraining(options: TrainerOptions): Promise<TrainingOutcome> {
  const setup = await prepareRun(options);
  await recordRunLabelCounts(options.dataSource, options.lease, labelCountsOf(setup.images));
  const recorder = new RunRecorder(options, initialProgress(setup));
  const model = AttributeRCNN.create(setup.config, setup.params.seed);
  const optimizer = new Sgd({ lr: setup.params.lr, momentum: setup.params.momentum, weightDecay: setup.params.weightDecay });
  try {
    const start = await startOrResume(setup, recorder, model, optimizer, options.lease.worker);
    const outcome = await trainEpochs(options, setup, recorder, model, optimizer, start);
    return outcome ?? (await finishRun(options, recorder, setup, model));
  } catch (error) {
    // Before the disposal below: a trapped wasm module must be replaced first (disposing into it aborts again).
    throw await afterBackendError(error);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** Params, label space, config and training images: from the newest checkpoint when resuming (frozen), else from the data. */
async function prepareRun(options: TrainerOptions): Promise<RunSetup> {
  const { dataSource, lease, dataDir } = options;
  const backend = currentBackend();
  const memoryBudget = backend ? await trainingMemoryBudget(backend) : null;
  const params = normaliseTrainingParams(await readTrainingRunParams(dataSource, lease.id), { memoryBudget });
  const examples = databaseExampleSource(dataSource, uploadsDir(dataDir));
  const checkpoint = readLatestCheckpoint(checkpointDir(dataDir, lease.id));
  const space = checkpoint ? checkpoint.state.labelSpace : await buildLabelSpace(examples, params.data, 'train');
  if (space.classes.length === 0) throw new Error('the training split has no annotated garment with a category in scope (empty dataset)');
  const config = checkpoint ? resolveConfig(checkpoint.state.config, `${checkpoint.path}/state.json config`) : buildConfig(params, space);
  const images = await loadDatasetImages(examples, params.data, space, 'train');
  if (images.length === 0) throw new Error('the training split has no image with garments in scope (empty dataset)');
  return { params, examples, checkpoint, space, config, images, perEpoch: batchesPerEpoch(images.length, params.batchSize) };
}

function initialProgress(setup: RunSetup): TrainingProgress {
  return {
    phase: 'loading',
    epoch: 0,
    epochs: setup.params.epochs,
    step: 0,
    totalSteps: setup.perEpoch * setup.params.epochs,
    losses: {},
    lr: 0,
    imagesPerSecond: null,
    etaSeconds: null,
    trainImages: setup.images.length,
    skippedImages: 0,
    resumedFromStep: setup.checkpoint?.state.step ?? null,
  };
}

/** Restores the checkpoint (weights, momentum, position), or logs the start and loads `initWeights`. */
async function startOrResume(
  setup: RunSetup,
  recorder: RunRecorder,
  model: AttributeRCNN,
  optimizer: Sgd,
  worker: string,
): Promise<LoopPosition> {
  const { checkpoint, images, space, config, params } = setup;
  if (checkpoint) {
    restoreCheckpoint(checkpoint.path, model, optimizer);
    recorder.progress.step = checkpoint.state.step;
    await recorder.log(`resumed from the checkpoint at step ${checkpoint.state.step} (${checkpoint.path}) by ${worker}`);
    return { epoch: checkpoint.state.epoch, nextBatch: checkpoint.state.nextBatch };
  }
  await recorder.log(
    `started by ${worker}: ${images.length} training images, ${space.classes.length} classes, ` +
      `attributes ${space.attributes.map((a) => `${a.kind}(${a.values.length})`).join(', ') || 'none'}, backbone ${config.backbone}`,
  );
  if (params.initWeights) await initialiseFrom(params.initWeights, model, recorder, worker);
  return { epoch: 0, nextBatch: 0 };
}

/** The training steps from `start` to the last epoch; returns an outcome only when the run was cancelled. */
async function trainEpochs(
  options: TrainerOptions,
  setup: RunSetup,
  recorder: RunRecorder,
  model: AttributeRCNN,
  optimizer: Sgd,
  start: LoopPosition,
): Promise<TrainingOutcome | null> {
  const { params, config, images, perEpoch } = setup;
  const progress = recorder.progress;
  const dir = checkpointDir(options.dataDir, options.lease.id);
  const skipped = new Map<string, SkippedImage>((setup.checkpoint?.state.skipped ?? []).map((s) => [s.imageId, s]));
  const checkpointState = (step: number, atEpoch: number, batch: number) => ({
    step,
    epoch: atEpoch,
    nextBatch: batch,
    labelSpace: setup.space,
    config,
    skipped: [...skipped.values()],
    savedAt: new Date().toISOString(),
  });
  progress.phase = 'training';
  for (let epoch = start.epoch, nextBatch = start.nextBatch; epoch < params.epochs; epoch++, nextBatch = 0) {
    progress.epoch = epoch;
    const batches = epochBatches(
      images,
      { batchSize: params.batchSize, seed: params.seed, flip: true, shuffle: true, size: sizeRule(config) },
      epoch,
      nextBatch,
    );
    for await (const batch of batches) {
      await logSkipped(batch, skipped, recorder);
      const cancel = await trainStep(setup, recorder, model, optimizer, batch);
      if (cancel) {
        await recorder.log(`cancelled at step ${progress.step}`);
        return { status: 'cancelled' };
      }
      // The last step is checkpointed too: a worker lost while evaluating resumes without repeating steps.
      if (progress.step % params.checkpointEvery === 0 || progress.step === progress.totalSteps) {
        const after = batch.index + 1 < perEpoch ? [epoch, batch.index + 1] : [epoch + 1, 0];
        saveCheckpoint(dir, model, optimizer, checkpointState(progress.step, after[0], after[1]));
      }
      if (options.signal?.aborted) throw new TrainingInterrupted(`stopped at step ${progress.step}: the worker is shutting down`);
      // Let timers (lease heartbeats) and I/O run between synchronous training steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return null;
}

/** Names each image the loader could not use, once per run. */
async function logSkipped(batch: Batch, skipped: Map<string, SkippedImage>, recorder: RunRecorder): Promise<void> {
  for (const s of batch.skipped) {
    if (skipped.has(s.imageId)) continue;
    skipped.set(s.imageId, s);
    await recorder.log(`skipped image ${s.imageId}: it cannot be used${RUN_LOG_DETAIL}${s.path ?? 'no file'}: ${s.reason}`);
  }
  recorder.progress.skippedImages = skipped.size;
}

/** One SGD step on the batch (none when every image of it was skipped), then its metrics; returns whether cancel was asked. */
async function trainStep(setup: RunSetup, recorder: RunRecorder, model: AttributeRCNN, optimizer: Sgd, batch: Batch): Promise<boolean> {
  const { params, perEpoch } = setup;
  const progress = recorder.progress;
  const schedule = {
    baseLr: params.lr,
    iterationsPerEpoch: perEpoch,
    milestones: params.lrMilestones,
    gamma: params.lrGamma,
    warmupFactor: params.warmupFactor,
    maxWarmupIterations: params.warmupIterations,
  };
  const lr = detectionLearningRate(schedule, batch.epoch, batch.index);
  optimizer.lr = lr;
  let losses: Record<string, number> = {};
  if (batch.samples.length > 0) {
    losses = model.trainStep(batch.samples, optimizer, params.clipGradNorm === null ? {} : { clipGradNorm: params.clipGradNorm });
    const total = Object.values(losses).reduce((a, b) => a + b, 0);
    if (!Number.isFinite(total))
      throw new Error(`the loss is not finite at step ${progress.step + 1} (${JSON.stringify(losses)}); lower lr`);
    losses = { loss: total, ...losses };
  }
  progress.step++;
  progress.losses = losses;
  progress.lr = lr;
  recorder.countStep(batch.samples.length);
  const metrics = Object.entries({
    ...losses,
    lr,
    ...(progress.imagesPerSecond ? { images_per_second: progress.imagesPerSecond } : {}),
  }).map(([name, value]) => ({ step: progress.step, epoch: batch.epoch, name, value }));
  return recorder.publish(metrics);
}

async function initialiseFrom(file: string, model: AttributeRCNN, recorder: RunRecorder, worker: string): Promise<void> {
  if (!fs.existsSync(file)) throw new Error(`initWeights: ${file} does not exist on ${worker}`);
  let report: ReturnType<typeof loadMatchingWeights>;
  try {
    report = loadMatchingWeights(model.store, file);
  } catch (error) {
    throw new Error(`initWeights: ${(error as Error).message}`);
  }
  await recorder.log(`initialised from ${file}: ${report.loaded} tensors loaded, ${report.unused.length} unused`);
  if (report.reinitialised.length > 0) {
    await recorder.log(`re-initialised (label space or architecture differs): ${report.reinitialised.join('; ')}`);
  }
}

async function finishRun(options: TrainerOptions, recorder: RunRecorder, setup: RunSetup, model: AttributeRCNN): Promise<TrainingOutcome> {
  const { lease, dataDir } = options;
  const { params, config, space } = setup;
  const progress = recorder.progress;
  progress.phase = 'evaluating';
  await recorder.publish([]);
  const evalImages = await loadDatasetImages(setup.examples, { ...params.data, maxImages: params.data.evalMaxImages }, space, 'validation');
  const metrics = evalImages.length > 0 ? await evaluateModel(model, config, evalImages, params.batchSize) : null;
  await recorder.log(
    metrics
      ? `evaluated on ${metrics.images} validation images: box mAP ${fmt(metrics.box.map)}, AP50 ${fmt(metrics.box.ap50)}`
      : 'no validation images in scope: the model version has no evaluation',
  );
  progress.phase = 'saving';
  const weightsPath = saveModelFiles(path.join(dataDir, 'models', `run-${lease.id}`), model, config);
  const modelVersionId = await recordTrainedModelVersion(
    options.dataSource,
    lease,
    {
      name: params.name ?? `run-${lease.id}`,
      backbone: config.backbone,
      config,
      weightsPath,
      metrics,
      labelSpace: { classes: space.classes.map((c) => ({ name: c.name, superCategory: c.superCategory })) },
    },
    { ...progress, phase: 'done' },
  );
  progress.phase = 'done';
  await recorder.log(`model version ${modelVersionId} saved to ${weightsPath}`);
  options.onProgress?.({ ...progress });
  return { status: 'succeeded', modelVersionId, metrics };
}

/** Writes the weights and config of a model version into `folder`; returns the weights' path. */
function saveModelFiles(folder: string, model: AttributeRCNN, config: ModelConfig): string {
  fs.mkdirSync(folder, { recursive: true });
  const weightsPath = path.join(folder, 'model.safetensors');
  saveSafetensors(model.store, weightsPath);
  fs.writeFileSync(path.join(folder, 'config.json'), configToJson(config));
  return weightsPath;
}

function fmt(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(3);
}

/** Predicts the images (no flip) and evaluates against their annotations, boxes in stored pixels. */
export async function evaluateModel(
  model: AttributeRCNN,
  config: ModelConfig,
  images: DatasetImage[],
  batchSize: number,
): Promise<EvaluationReport> {
  const truth: GroundTruthGarment[][] = [];
  const detected: DetectedGarment[][] = [];
  const batches = epochBatches(images, { batchSize, seed: 0, flip: false, shuffle: false, size: sizeRule(config) }, 0);
  for await (const batch of batches) {
    if (batch.samples.length === 0) continue;
    const predictions = await model.predict(batch.samples.map((s) => s.image));
    batch.samples.forEach((sample, i) => {
      const sx = sample.image.width / sample.source.width;
      const sy = sample.image.height / sample.source.height;
      truth.push(sample.source.garments.map((g) => ({ box: g.box, label: g.label, attributes: truthAttributes(config, g.attributes) })));
      detected.push(
        predictions[i].map((d: Detection) => ({
          box: [d.box[0] / sx, d.box[1] / sy, d.box[2] / sx, d.box[3] / sy],
          label: d.label,
          score: d.score,
          attributes: d.attributes,
        })),
      );
    });
  }
  return evaluate(truth, detected, evaluationConfigOf(config));
}

function truthAttributes(config: ModelConfig, targets: Record<string, number | number[] | null>): Record<string, string | string[] | null> {
  const out: Record<string, string | string[] | null> = {};
  for (const spec of config.attributes) {
    const t = targets[spec.kind];
    out[spec.kind] = t === null || t === undefined ? null : Array.isArray(t) ? t.map((i) => spec.values[i]) : spec.values[t];
  }
  return out;
}
