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
import { buildLabelSpace, labelSpaceConfig, loadDatasetImages, type DatasetImage, type LabelSpace } from '../../ml/data/dataset';
import { batchesPerEpoch, epochBatches, type SizeRule, type SkippedImage } from '../../ml/data/loader';
import { evaluate, evaluationConfigOf, type EvaluationReport, type GroundTruthGarment, type DetectedGarment } from '../../ml/eval';
import { appendRunLog, LeaseLost, type Lease } from '../leases';
import { TRAINING_CHANNEL } from '../../jobs/channels';
import { checkpointDir, readLatestCheckpoint, restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { loadMatchingWeights } from './init-weights';
import { normaliseTrainingParams, type TrainingParams } from '../../jobs/training-params';


export interface TrainingProgress {
  phase: 'loading' | 'training' | 'evaluating' | 'saving' | 'done';
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

function uploadsDir(dataDir: string): string {
  return path.join(dataDir, 'uploads');
}

function sizeRule(config: ModelConfig): SizeRule {
  return { minSize: evalMinSize(config), maxSize: config.max_size };
}

class RunRecorder {
  private readonly started = Date.now();
  private stepsTimed = 0;
  private imagesTimed = 0;
  private timedSince = Date.now();

  constructor(private readonly options: TrainerOptions, readonly progress: TrainingProgress) {}

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
  async publish(metrics: { step: number; epoch: number; name: string; value: number }[]): Promise<boolean> {
    const { dataSource, lease } = this.options;
    const rows: { cancel_requested: boolean }[] = await dataSource.query(
      `WITH run AS (
         UPDATE training_runs SET progress = $3::jsonb, heartbeat_at = now()
          WHERE id = $1 AND worker = $2 AND status = 'running'
          RETURNING id, cancel_requested),
       written AS (
         INSERT INTO training_metrics (training_run_id, step, epoch, name, value)
         SELECT run.id, m.step, m.epoch, m.name, m.value
           FROM run, json_to_recordset($4::json) AS m(step integer, epoch integer, name text, value double precision)
         ON CONFLICT (training_run_id, step, name)
           DO UPDATE SET value = EXCLUDED.value, epoch = EXCLUDED.epoch, recorded_at = now())
       SELECT run.cancel_requested, pg_notify('${TRAINING_CHANNEL}', run.id::text) FROM run`,
      [lease.id, lease.worker, JSON.stringify(this.progress), JSON.stringify(metrics)],
    );
    if (rows.length === 0) throw new LeaseLost(`training run ${lease.id} is no longer leased to ${lease.worker}`);
    this.options.onProgress?.({ ...this.progress });
    return rows[0].cancel_requested;
  }

  elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }
}

async function readParams(dataSource: DataSource, runId: number): Promise<TrainingParams> {
  const rows: { params: unknown }[] = await dataSource.query(`SELECT params FROM training_runs WHERE id = $1`, [runId]);
  if (rows.length === 0) throw new Error(`training run ${runId} does not exist`);
  return normaliseTrainingParams(rows[0].params);
}

function buildConfig(params: TrainingParams, space: LabelSpace): ModelConfig {
  return resolveConfig({ ...params.model, ...labelSpaceConfig(space) }, `training run model config`);
}

/** Runs (or resumes) the run leased by `options.lease`. Throws on failure; the caller records it. */
export async function runTraining(options: TrainerOptions): Promise<TrainingOutcome> {
  const { dataSource, lease, dataDir } = options;
  const params = await readParams(dataSource, lease.id);
  const dir = checkpointDir(dataDir, lease.id);
  const checkpoint = readLatestCheckpoint(dir);
  const progress: TrainingProgress = {
    phase: 'loading', epoch: 0, epochs: params.epochs, step: 0, totalSteps: 0, losses: {}, lr: 0,
    imagesPerSecond: null, etaSeconds: null, trainImages: 0, skippedImages: 0, resumedFromStep: checkpoint?.state.step ?? null,
  };
  const recorder = new RunRecorder(options, progress);

  const space = checkpoint ? checkpoint.state.labelSpace : await buildLabelSpace(dataSource, params.data, 'train');
  if (space.classes.length === 0) throw new Error('the training split has no annotated garment with a category in scope (empty dataset)');
  const config = checkpoint ? resolveConfig(checkpoint.state.config, `${checkpoint.path}/state.json config`) : buildConfig(params, space);
  const images = await loadDatasetImages(dataSource, params.data, space, 'train', uploadsDir(dataDir));
  if (images.length === 0) throw new Error('the training split has no image with garments in scope (empty dataset)');
  const perEpoch = batchesPerEpoch(images.length, params.batchSize);
  progress.totalSteps = perEpoch * params.epochs;
  progress.trainImages = images.length;

  const model = AttributeRCNN.create(config, params.seed);
  const optimizer = new Sgd({ lr: params.lr, momentum: params.momentum, weightDecay: params.weightDecay });
  try {
    const skipped = new Map<string, SkippedImage>((checkpoint?.state.skipped ?? []).map((s) => [s.imageId, s]));
    let epoch = 0;
    let nextBatch = 0;
    if (checkpoint) {
      restoreCheckpoint(checkpoint.path, model, optimizer);
      ({ epoch, nextBatch } = checkpoint.state);
      progress.step = checkpoint.state.step;
      await recorder.log(`resumed from the checkpoint at step ${checkpoint.state.step} (${checkpoint.path}) by ${lease.worker}`);
    } else {
      await recorder.log(
        `started by ${lease.worker}: ${images.length} training images, ${space.classes.length} classes, ` +
          `attributes ${space.attributes.map((a) => `${a.kind}(${a.values.length})`).join(', ') || 'none'}, backbone ${config.backbone}`,
      );
      if (params.initWeights) await initialiseFrom(params.initWeights, model, recorder, lease.worker);
    }
    const checkpointState = (step: number, atEpoch: number, batch: number) => ({
      step, epoch: atEpoch, nextBatch: batch, labelSpace: space, config, skipped: [...skipped.values()], savedAt: new Date().toISOString(),
    });
    const schedule = {
      baseLr: params.lr, iterationsPerEpoch: perEpoch, milestones: params.lrMilestones, gamma: params.lrGamma,
      warmupFactor: params.warmupFactor, maxWarmupIterations: params.warmupIterations,
    };
    progress.phase = 'training';
    for (; epoch < params.epochs; epoch++, nextBatch = 0) {
      progress.epoch = epoch;
      const batches = epochBatches(images, { batchSize: params.batchSize, seed: params.seed, flip: true, shuffle: true, size: sizeRule(config) }, epoch, nextBatch);
      for await (const batch of batches) {
        for (const s of batch.skipped) {
          if (skipped.has(s.imageId)) continue;
          skipped.set(s.imageId, s);
          await recorder.log(`skipped image ${s.imageId} (${s.path ?? 'no file'}): ${s.reason}`);
        }
        progress.skippedImages = skipped.size;
        const lr = detectionLearningRate(schedule, epoch, batch.index);
        optimizer.lr = lr;
        let losses: Record<string, number> = {};
        if (batch.samples.length > 0) {
          losses = model.trainStep(batch.samples, optimizer, params.clipGradNorm === null ? {} : { clipGradNorm: params.clipGradNorm });
          const total = Object.values(losses).reduce((a, b) => a + b, 0);
          if (!Number.isFinite(total)) throw new Error(`the loss is not finite at step ${progress.step + 1} (${JSON.stringify(losses)}); lower lr`);
          losses = { loss: total, ...losses };
        }
        progress.step++;
        progress.losses = losses;
        progress.lr = lr;
        recorder.countStep(batch.samples.length);
        const metrics = Object.entries({ ...losses, lr, ...(progress.imagesPerSecond ? { images_per_second: progress.imagesPerSecond } : {}) })
          .map(([name, value]) => ({ step: progress.step, epoch, name, value }));
        const cancel = await recorder.publish(metrics);
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
    return await finishRun(options, recorder, params, model, config, space);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

async function initialiseFrom(file: string, model: AttributeRCNN, recorder: RunRecorder, worker: string): Promise<void> {
  if (!fs.existsSync(file)) throw new Error(`initWeights: ${file} does not exist on ${worker}`);
  const report = loadMatchingWeights(model.store, file);
  await recorder.log(`initialised from ${file}: ${report.loaded} tensors loaded, ${report.unused.length} unused`);
  if (report.reinitialised.length > 0) {
    await recorder.log(`re-initialised (label space or architecture differs): ${report.reinitialised.join('; ')}`);
  }
}

async function finishRun(
  options: TrainerOptions,
  recorder: RunRecorder,
  params: TrainingParams,
  model: AttributeRCNN,
  config: ModelConfig,
  space: LabelSpace,
): Promise<TrainingOutcome> {
  const { dataSource, lease, dataDir } = options;
  const progress = recorder.progress;
  progress.phase = 'evaluating';
  await recorder.publish([]);
  const evalImages = await loadDatasetImages(dataSource, { ...params.data, maxImages: params.data.evalMaxImages }, space, 'validation', uploadsDir(dataDir));
  const metrics = evalImages.length > 0 ? await evaluateModel(model, config, evalImages, params.batchSize) : null;
  await recorder.log(
    metrics
      ? `evaluated on ${metrics.images} validation images: box mAP ${fmt(metrics.box.map)}, AP50 ${fmt(metrics.box.ap50)}`
      : 'no validation images in scope: the model version has no evaluation',
  );
  progress.phase = 'saving';
  const folder = path.join(dataDir, 'models', `run-${lease.id}`);
  fs.mkdirSync(folder, { recursive: true });
  const weightsPath = path.join(folder, 'model.safetensors');
  saveSafetensors(model.store, weightsPath);
  fs.writeFileSync(path.join(folder, 'config.json'), configToJson(config));
  const name = params.name ?? `run-${lease.id}`;
  const modelVersionId = await dataSource.transaction(async (manager) => {
    const owned = await manager.query(`SELECT id FROM training_runs WHERE id = $1 AND worker = $2 AND status = 'running' FOR UPDATE`, [lease.id, lease.worker]);
    if (owned.length === 0) throw new LeaseLost(`training run ${lease.id} is no longer leased to ${lease.worker}`);
    const inserted: { id: number }[] = await manager.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path, metrics, training_run_id, label_space)
       VALUES ($1, $2, $3::jsonb, $4, $5::jsonb, $6, $7::jsonb) RETURNING id`,
      [name, config.backbone, JSON.stringify(config), weightsPath, metrics ? JSON.stringify(metrics) : null, lease.id,
        JSON.stringify({ classes: space.classes.map((c) => ({ name: c.name, superCategory: c.superCategory })) })],
    );
    const id = Number(inserted[0].id);
    progress.phase = 'done';
    await manager.query(
      `UPDATE training_runs SET status = 'succeeded', model_version_id = $2, progress = $3::jsonb, finished_at = now(), heartbeat_at = now()
        WHERE id = $1`,
      [lease.id, id, JSON.stringify(progress)],
    );
    await manager.query(`SELECT pg_notify('${TRAINING_CHANNEL}', $1)`, [String(lease.id)]);
    return id;
  });
  await recorder.log(`model version ${modelVersionId} saved to ${weightsPath}`);
  options.onProgress?.({ ...progress });
  return { status: 'succeeded', modelVersionId, metrics };
}

function fmt(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(3);
}

/** Predicts the images (no flip) and evaluates against their annotations, boxes in stored pixels. */
export async function evaluateModel(model: AttributeRCNN, config: ModelConfig, images: DatasetImage[], batchSize: number): Promise<EvaluationReport> {
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
      detected.push(predictions[i].map((d: Detection) => ({
        box: [d.box[0] / sx, d.box[1] / sy, d.box[2] / sx, d.box[3] / sy],
        label: d.label,
        score: d.score,
        attributes: d.attributes,
      })));
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

