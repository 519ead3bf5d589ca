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
import { environment } from './environment';
import { weightsDir } from '../ml/weights/catalogue';
import {
  describeParameter,
  flagOf,
  parameterOf,
  TRAINING_PARAMETERS,
  type ParamSpec,
  type TrainingParamsInput,
} from '../jobs/training-schema';

/** The parameters' flags (strings, as commander gives them, keyed by the flag in camel case) and the command's own options. */
type TrainOptions = Record<string, string | boolean | undefined> & {
  resume?: string;
  backend?: string;
  json?: boolean;
};

/** The flag's help: the parameter's description, and on a CPU backend the sizes the model config gets. */
function helpOf(spec: ParamSpec): string {
  const help = describeParameter(spec);
  return spec.kind === 'object'
    ? `${help}; on a CPU backend min_size ${CPU_TRAINING_SIZES.min_size} and max_size ${CPU_TRAINING_SIZES.max_size} unless given`
    : help;
}

/** A run another worker held is only taken over when its heartbeat is this old. */
const LEASE_TIMEOUT_SECONDS = 120;

/** commander's key of a flag: `--model-config <file>` → modelConfig. */
const optionKey = (spec: ParamSpec) =>
  flagOf(spec)
    .split(' ')[0]
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function numberOption(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag}: expected a number, got "${value}"`);
  return n;
}

/** A flag's text as the parameter's kind (the model's keys come from a file, read by modelKeys). */
function optionValue(spec: ParamSpec, value: string): unknown {
  const flag = flagOf(spec).split(' ')[0];
  switch (spec.kind) {
    case 'integer':
    case 'number':
      return numberOption(value, flag);
    case 'integers':
      return commaList(value).map((item) => numberOption(item, flag));
    case 'strings':
      return commaList(value);
    default:
      return value;
  }
}

/**
 * Image sizes of a run on a CPU backend (wasm, tfjs-node, cpu) whose model config sets neither. torchvision's
 * 800/1333 need about 13 GiB for a step of 2 images (src/ml/train/step-memory.ts), more than wasm's 4 GiB heap;
 * 320/512 about 2.9 GiB (measured: 2.9 GiB of wasm heap for ResNet-18 from scratch).
 */
export const CPU_TRAINING_SIZES = { min_size: 320, max_size: 512 } as const;

/** Model config keys from --model-config (a JSON file), without the label space (it comes from the data). */
function modelKeys(file: string | undefined): Record<string, unknown> {
  // Object.fromEntries keeps every key as data (an assignment of "__proto__" would set the prototype), so
  // the run's validation sees and refuses it by name; the label space always comes from the data.
  const fromFile = file ? readConfigJson(file, '--model-config') : {};
  return Object.fromEntries(Object.entries(fromFile).filter(([key]) => !LABEL_SPACE_KEYS.includes(key)));
}

/** On a CPU backend, CPU_TRAINING_SIZES unless the model config gives a size. */
function withCpuSizes(model: Record<string, unknown>, backend: Pick<BackendInfo, 'device'>): Record<string, unknown> {
  if (backend.device !== 'cpu' || Object.hasOwn(model, 'min_size') || Object.hasOwn(model, 'max_size')) return model;
  return { ...model, ...CPU_TRAINING_SIZES };
}

/** The run's parameters from the flags, as the API takes them (validated by trainingParamsFromInput). */
export function paramsFromOptions(options: TrainOptions, backend: Pick<BackendInfo, 'device'>): TrainingParamsInput {
  const input: Record<string, unknown> = {};
  for (const spec of TRAINING_PARAMETERS as readonly ParamSpec[]) {
    const value = options[optionKey(spec)] as string | undefined;
    if (spec.kind === 'object') input[spec.name] = withCpuSizes(modelKeys(value), backend);
    else if (value !== undefined) input[spec.name] = optionValue(spec, value);
  }
  return input;
}

/** A refused parameter by its flag (`--batch-size: …`); a model config key by its name (`model.max_size: …`, from --model-config). */
function flagMessage(field: string, problem: string): string {
  const spec = parameterOf(field);
  return spec && field === spec.name ? `${flagOf(spec).split(' ')[0]}: ${problem}` : `${field}: ${problem}`;
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
  const [{ trainingParamsFromInput, InvalidTrainingParams }, { trainingMemoryBudget }] = await Promise.all([
    import('../jobs/training-params'),
    import('../ml/train/step-memory'),
  ]);
  try {
    return trainingParamsFromInput(paramsFromOptions(options, backend), {
      memoryBudget: await trainingMemoryBudget(backend),
      weightsDir: weightsDir(environment()),
    });
  } catch (error) {
    if (error instanceof InvalidTrainingParams) throw new Error(`kfashion train: ${flagMessage(error.field, error.problem)}`);
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
  const bar = json
    ? null
    : new SingleBar(
        { format: '{phase} |{bar}| step {value}/{total} · epoch {epoch} · loss {loss} · {speed} · ETA {eta}' },
        Presets.shades_classic,
      );
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
  const summary =
    outcome.status === 'succeeded'
      ? {
          runId,
          status: outcome.status,
          modelVersionId: outcome.modelVersionId,
          boxMap: outcome.metrics?.box.map ?? null,
          boxAp50: outcome.metrics?.box.ap50 ?? null,
        }
      : { runId, status: outcome.status };
  process.stdout.write(
    json
      ? `${JSON.stringify(summary)}\n`
      : `${Object.entries(summary)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n')}\n`,
  );
}

/** Claims the run, trains it in this process and records how it ended (an interrupted run is handed back for --resume). */
async function trainInForeground(
  options: TrainOptions,
  params: TrainingParams | null,
  backend: { name: string; device: string },
): Promise<void> {
  const [{ openDatabase }, { claim }, { runTraining, TrainingInterrupted }, { runLeased }] = await Promise.all([
    import('../db/data-source'),
    import('../db/leases'),
    import('../model-server/training/trainer'),
    import('../model-server/lease-end'),
  ]);
  const dataDir = resolveDataDir(environment());
  const dataSource = await openDatabase({ env: environment() });
  const bar = await progressBar(options.json);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  try {
    const runId = await trainingRunId(dataSource, options, params);
    const lease: Lease = { table: 'training_runs', id: runId, worker: `cli:${os.hostname()}:${process.pid}` };
    // A run still heartbeating elsewhere within the lease timeout is not taken over.
    const claimed = await claim(dataSource, lease, `cli-${process.pid}`, LEASE_TIMEOUT_SECONDS);
    if (!claimed) throw new Error(`training run ${runId} cannot be resumed: it is finished, cancelled, or running elsewhere`);
    if (!options.json) console.error(`training run ${runId} on ${backend.name} (${backend.device})`);
    let outcome: TrainingOutcome | null = null;
    const end = await runLeased(
      dataSource,
      lease,
      async () => (outcome = await runTraining({ dataSource, lease, dataDir, signal: stop.signal, onProgress: bar.onProgress })).status,
      {
        handBack: (error) => error instanceof TrainingInterrupted,
      },
    );
    bar.stop();
    if (end.kind === 'finished') printOutcome(runId, outcome!, options.json);
    else if (end.kind === 'handed back') {
      console.error(`interrupted; resume with: kfashion train --resume ${runId}`);
      process.exitCode = 130;
    } else throw end.kind === 'failed' ? end.error : new Error(end.reason);
  } finally {
    bar.stop();
    await dataSource.destroy();
  }
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('train an Attribute R-CNN on the imported data in the foreground (recorded as a training run)');
  for (const spec of TRAINING_PARAMETERS as readonly ParamSpec[]) command.option(flagOf(spec), helpOf(spec));
  command
    .option('--resume <run>', 'continue the interrupted training run with this id from its last checkpoint')
    .option('--backend <name>', 'TensorFlow.js backend: tensorflow, wasm or cpu')
    .option('--json', 'print the outcome as one JSON object (no progress bar)')
    .action(async (options: TrainOptions) => {
      const { initBackend } = await import('../ml/backend');
      const backend = await initBackend(options.backend, { env: environment() });
      const params = await newRunParams(options, backend);
      await trainInForeground(options, params, backend);
    });
}
