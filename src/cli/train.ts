/**
 * `kfashion train`: trains an Attribute R-CNN in the foreground with the same code the model server
 * runs for a queued run (src/model-server/training): the run is recorded in training_runs (progress,
 * metrics, log, checkpoints, model version) and this process holds its lease (no job queue and no
 * model server involved). `--resume <run>` continues a run that was
 * interrupted, from its last checkpoint.
 */
import * as os from 'node:os';
import { Command } from 'commander';
import { dataDir as resolveDataDir } from '../util/data-dir';
import type { BackendInfo } from '../ml/backend';
import { readConfigJson, LABEL_SPACE_KEYS } from '../ml/model/config';
import type { DataSource } from 'typeorm';
import type { Lease } from '../db/leases';
import type { TrainingParams } from '../jobs/training-params';
import type { TrainingOutcome, TrainingProgress } from '../model-server/training/trainer';
import { parsePositiveId } from '../util/ids';
import { commaList } from './options';

interface TrainOptions {
  backbone?: string;
  modelConfig?: string;
  superCategories?: string;
  attributeKinds?: string;
  minValueCount?: string;
  maxImages?: string;
  evalMaxImages?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  lrMilestones?: string;
  warmupIterations?: string;
  checkpointEvery?: string;
  clipGradNorm?: string;
  seed?: string;
  initWeights?: string;
  name?: string;
  resume?: string;
  backend?: string;
  json?: boolean;
}

/** A run another worker held is only taken over when its heartbeat is this old. */
const LEASE_TIMEOUT_SECONDS = 120;

const list = (value: string | undefined) => (value === undefined ? undefined : commaList(value));

function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${flag}: expected a number, got "${value}"`);
  return n;
}

/**
 * Image sizes of a run on a CPU backend (wasm, tfjs-node, cpu) whose model config sets neither. torchvision's
 * 800/1333 need about 13 GiB for a step of 2 images (src/ml/train/step-memory.ts), more than wasm's 4 GiB heap;
 * 320/512 about 2.9 GiB (measured: 2.9 GiB of wasm heap for ResNet-18 from scratch).
 */
export const CPU_TRAINING_SIZES = { min_size: 320, max_size: 512 } as const;

/** Model config keys from --model-config (a JSON file), without the label space (it comes from the data). */
function modelKeys(options: TrainOptions): Record<string, unknown> {
  // Object.fromEntries keeps every key as data (an assignment of "__proto__" would set the prototype), so
  // the run's validation sees and refuses it by name; the label space always comes from the data.
  const fromFile = options.modelConfig ? readConfigJson(options.modelConfig, '--model-config') : {};
  const keys = Object.fromEntries(Object.entries(fromFile).filter(([key]) => !LABEL_SPACE_KEYS.includes(key)));
  return options.backbone ? { ...keys, backbone: options.backbone } : keys;
}

/** On a CPU backend, CPU_TRAINING_SIZES unless the model config gives a size. */
function withCpuSizes(model: Record<string, unknown>, backend: Pick<BackendInfo, 'device'>): Record<string, unknown> {
  if (backend.device !== 'cpu' || Object.hasOwn(model, 'min_size') || Object.hasOwn(model, 'max_size')) return model;
  return { ...model, ...CPU_TRAINING_SIZES };
}

export function paramsFromOptions(options: TrainOptions, backend: Pick<BackendInfo, 'device'>): Record<string, unknown> {
  return {
    name: options.name,
    model: withCpuSizes(modelKeys(options), backend),
    data: {
      superCategories: list(options.superCategories),
      attributeKinds: list(options.attributeKinds),
      minValueCount: numberOption(options.minValueCount, '--min-value-count'),
      maxImages: numberOption(options.maxImages, '--max-images'),
      evalMaxImages: numberOption(options.evalMaxImages, '--eval-max-images'),
    },
    epochs: numberOption(options.epochs, '--epochs'),
    batchSize: numberOption(options.batchSize, '--batch-size'),
    lr: numberOption(options.lr, '--lr'),
    lrMilestones: list(options.lrMilestones)?.map((m) => numberOption(m, '--lr-milestones')),
    warmupIterations: numberOption(options.warmupIterations, '--warmup-iterations'),
    checkpointEvery: numberOption(options.checkpointEvery, '--checkpoint-every'),
    clipGradNorm: numberOption(options.clipGradNorm, '--clip-grad-norm'),
    seed: numberOption(options.seed, '--seed'),
    initWeights: options.initWeights,
  };
}

function progressLine(p: TrainingProgress): Record<string, string> {
  const loss = p.losses.loss;
  return {
    phase: p.phase,
    epoch: `${Math.min(p.epoch + 1, p.epochs)}/${p.epochs}`,
    loss: loss === undefined ? '-' : loss.toFixed(4),
    speed: p.imagesPerSecond === null ? '-' : `${p.imagesPerSecond.toFixed(2)} img/s`,
    eta: p.etaSeconds === null ? '-' : `${Math.round(p.etaSeconds)} s`,
  };
}

/** The params of a new run, checked (also against what one step may use on `backend`); null when resuming (the run's stored params apply). */
async function newRunParams(options: TrainOptions, backend: BackendInfo): Promise<TrainingParams | null> {
  if (options.resume) return null;
  const [{ normaliseTrainingParams, InvalidTrainingParams }, { trainingMemoryBudget }] = await Promise.all([import('../jobs/training-params'), import('../ml/train/step-memory')]);
  try {
    return normaliseTrainingParams(paramsFromOptions(options, backend), { memoryBudget: await trainingMemoryBudget(backend) });
  } catch (error) {
    if (error instanceof InvalidTrainingParams) throw new Error(`kfashion train: ${error.message}`);
    throw error;
  }
}

/** The run to work on: the one named by --resume, or a new one recorded with `params`. */
async function trainingRunId(dataSource: DataSource, options: TrainOptions, params: TrainingParams | null): Promise<number> {
  if (params === null) {
    const id = parsePositiveId(options.resume ?? '');
    if (id === null) throw new Error(`--resume: "${options.resume}" is not a run id`);
    return id;
  }
  const { insertQueuedRun } = await import('../db/training-runs');
  return insertQueuedRun(dataSource, params);
}

/** The progress bar, started at the first progress report (when the number of steps is known). */
async function progressBar(json: boolean | undefined): Promise<{ onProgress: (p: TrainingProgress) => void; stop(): void }> {
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = json ? null : new SingleBar({ format: '{phase} |{bar}| step {value}/{total} · epoch {epoch} · loss {loss} · {speed} · ETA {eta}' }, Presets.shades_classic);
  let started = false;
  return {
    onProgress: (p) => {
      if (!bar) return;
      if (!started) {
        bar.start(p.totalSteps, p.step, progressLine(p));
        started = true;
      }
      bar.update(p.step, progressLine(p));
    },
    stop: () => bar?.stop(),
  };
}

function printOutcome(runId: number, outcome: TrainingOutcome, json: boolean | undefined): void {
  const summary = outcome.status === 'succeeded'
    ? { runId, status: outcome.status, modelVersionId: outcome.modelVersionId, boxMap: outcome.metrics?.box.map ?? null, boxAp50: outcome.metrics?.box.ap50 ?? null }
    : { runId, status: outcome.status };
  process.stdout.write(json ? `${JSON.stringify(summary)}\n` : `${Object.entries(summary).map(([k, v]) => `${k}: ${v}`).join('\n')}\n`);
}

/** Claims the run, trains it in this process and records how it ended (an interrupted run is handed back for --resume). */
async function trainInForeground(options: TrainOptions, params: TrainingParams | null, backend: { name: string; device: string }): Promise<void> {
  const [{ openDatabase }, { claim, finish, LeaseLost, release }, { runTraining, TrainingInterrupted }] = await Promise.all([
    import('../db/data-source'),
    import('../db/leases'),
    import('../model-server/training/trainer'),
  ]);
  const dataDir = resolveDataDir(process.env);
  const dataSource = await openDatabase();
  const bar = await progressBar(options.json);
  let lease: Lease | null = null;
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  try {
    const runId = await trainingRunId(dataSource, options, params);
    lease = { table: 'training_runs', id: runId, worker: `cli:${os.hostname()}:${process.pid}` };
    // A run still heartbeating elsewhere within the lease timeout is not taken over.
    const claimed = await claim(dataSource, lease, `cli-${process.pid}`, LEASE_TIMEOUT_SECONDS);
    if (!claimed) throw new Error(`training run ${runId} cannot be resumed: it is finished, cancelled, or running elsewhere`);
    if (!options.json) console.error(`training run ${runId} on ${backend.name} (${backend.device})`);
    const outcome = await runTraining({ dataSource, lease, dataDir, signal: stop.signal, onProgress: bar.onProgress });
    bar.stop();
    if (outcome.status === 'cancelled') await finish(dataSource, lease, 'cancelled');
    printOutcome(runId, outcome, options.json);
  } catch (error) {
    bar.stop();
    if (lease && error instanceof TrainingInterrupted) {
      await release(dataSource, lease);
      console.error(`interrupted; resume with: kfashion train --resume ${lease.id}`);
      process.exitCode = 130;
    } else {
      if (lease && !(error instanceof LeaseLost)) await finish(dataSource, lease, 'failed', (error as Error).message).catch(() => undefined);
      throw error;
    }
  } finally {
    await dataSource.destroy();
  }
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train an Attribute R-CNN on the imported data in the foreground (recorded as a training run)')
    .option('--backbone <name>', 'resnet18 (default), resnet34, resnet50 or resnet101')
    .option('--model-config <file>', `JSON with further model config keys (min_size, max_size, rpn_*, box_*, ...; on a CPU backend min_size ${CPU_TRAINING_SIZES.min_size} and max_size ${CPU_TRAINING_SIZES.max_size} unless given)`)
    .option('--super-categories <list>', 'train on these slots only (TOP,BOTTOM,OUTER,ONE_PIECE)')
    .option('--attribute-kinds <list>', 'attribute heads (default: every garment kind with values)')
    .option('--min-value-count <n>', 'a category or value needs this many training garments')
    .option('--max-images <n>', 'use at most this many training images')
    .option('--eval-max-images <n>', 'evaluate on at most this many validation images')
    .option('--epochs <n>', 'epochs (default 26, torchvision detection recipe)')
    .option('--batch-size <n>', 'images per step (default 2)')
    .option('--lr <x>', 'base learning rate (default 0.02 × batch size / 16)')
    .option('--lr-milestones <list>', 'epochs at which the learning rate drops ×0.1 (default 16,22)')
    .option('--warmup-iterations <n>', 'linear warm-up length in steps (default 1000, capped by an epoch)')
    .option('--checkpoint-every <n>', 'steps between checkpoints (default 500)')
    .option('--clip-grad-norm <x>', 'rescale gradients above this total L2 norm (default off)')
    .option('--seed <n>', 'seed of initialisation, order, flips and sampling (default 0)')
    .option('--init-weights <file>', 'start from weights: a catalogue name (kfashion weights list), a .pth/.pt or a .safetensors file (torchvision, ImageNet ResNet or Attribute R-CNN)')
    .option('--name <name>', 'name of the model version')
    .option('--resume <run>', 'continue the interrupted training run with this id from its last checkpoint')
    .option('--backend <name>', 'TensorFlow.js backend: tensorflow, wasm or cpu')
    .option('--json', 'print the outcome as one JSON object (no progress bar)')
    .action(async (options: TrainOptions) => {
      const { initBackend } = await import('../ml/backend');
      const backend = await initBackend(options.backend);
      const params = await newRunParams(options, backend);
      await trainInForeground(options, params, backend);
    });
}
