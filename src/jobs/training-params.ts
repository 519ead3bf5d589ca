/**
 * The parameters of a training run (training_runs.params): what to train on, the model's shape, and
 * the optimisation recipe. Each parameter is declared once in training-schema.ts (bounds, defaults:
 * torchvision's detection reference, SGD momentum 0.9, weight decay 1e-4, linear warm-up then ×0.1 at
 * milestone epochs); this module validates against that list. Validation errors are typed: their
 * field is the parameter's name as the API and the CLI take it (`model.<key>` for a model config key).
 */
import { LABEL_SPACE_KEYS, resolveConfig, type ModelConfig } from '../ml/model/config';
import { checkStepMemory, type MemoryBudget } from '../ml/train/step-memory';
import type { DatasetFilter, TrainingLabels } from '../ml/data/dataset';
import type { SuperCategory } from '../kfashion/types';
import { CATALOGUE, isWeightsArgument, resolveWeightsArgument } from '../ml/weights/catalogue';
import { WEIGHTS_EXTENSIONS } from '../ml/weights/weights-file';
import { TRAINING_PARAMETERS, type ParamSpec, type TrainingParamsInput } from './training-schema';

export interface TrainingParams {
  name: string | null;
  /** Model config keys (torchvision FasterRCNN kwargs, backbone, sizes); classes and attributes come from the data. */
  model: Record<string, unknown>;
  data: DatasetFilter & { evalMaxImages: number | null };
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  lrMilestones: number[];
  lrGamma: number;
  warmupIterations: number;
  warmupFactor: number;
  checkpointEvery: number;
  /** Rescale gradients whose total L2 norm exceeds this (torch clip_grad_norm_); null = off, as torchvision. */
  clipGradNorm: number | null;
  seed: number;
  /** Weights to start from (safetensors or .pth/.pt; a catalogue name is stored as its fetched file's path); matching tensors are loaded. */
  initWeights: string | null;
}

/** A parameter the caller got wrong: `field` names it as the API and the CLI take it, `problem` says what is wrong. */
export class InvalidTrainingParams extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

type Json = Record<string, unknown>;

function checkNumber(spec: ParamSpec, value: unknown, where = spec.name): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InvalidTrainingParams(where, `expected a number, got ${JSON.stringify(value)}`);
  if (spec.kind.startsWith('integer') && !Number.isInteger(value))
    throw new InvalidTrainingParams(where, `expected an integer, got ${value}`);
  if (value < spec.min! || value > spec.max!)
    throw new InvalidTrainingParams(where, `must be between ${spec.min} and ${spec.max}, got ${value}`);
  return value;
}

function checkString(spec: ParamSpec, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidTrainingParams(spec.name, `expected a string, got ${JSON.stringify(value)}`);
  if (spec.values && !spec.values.includes(value))
    throw new InvalidTrainingParams(spec.name, `expected one of ${spec.values.join(', ')}, got ${JSON.stringify(value)}`);
  if (value.length < (spec.min ?? 0) || value.length > (spec.max ?? Infinity)) {
    throw new InvalidTrainingParams(spec.name, `expected a string of ${spec.min} to ${spec.max} characters`);
  }
  return value;
}

function checkStrings(spec: ParamSpec, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new InvalidTrainingParams(spec.name, `expected a list of strings, got ${JSON.stringify(value)}`);
  }
  const unknown = value.find((v) => !spec.values!.includes(v));
  if (unknown !== undefined) throw new InvalidTrainingParams(spec.name, `unknown value "${unknown}"; known: ${spec.values!.join(', ')}`);
  return [...new Set(value)];
}

function checkIntegers(spec: ParamSpec, value: unknown): number[] {
  if (!Array.isArray(value)) throw new InvalidTrainingParams(spec.name, `expected a list of numbers, got ${JSON.stringify(value)}`);
  return value.map((item, i) => checkNumber(spec, item, `${spec.name}[${i}]`));
}

function checkObject(spec: ParamSpec, value: unknown): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidTrainingParams(spec.name, 'expected an object');
  return value as Json;
}

const CHECK_KIND: Record<ParamSpec['kind'], (spec: ParamSpec, value: unknown) => unknown> = {
  integer: checkNumber,
  number: checkNumber,
  integers: checkIntegers,
  strings: checkStrings,
  string: checkString,
  object: checkObject,
};

/** Each parameter of `input` checked against its declaration, or its default (given the ones before it). */
function resolveDeclared(input: Json): Json {
  const resolved: Json = {};
  for (const spec of TRAINING_PARAMETERS as readonly ParamSpec[]) {
    const given = input[spec.name];
    if (given !== undefined && given !== null) resolved[spec.name] = CHECK_KIND[spec.kind](spec, given);
    else resolved[spec.name] = typeof spec.fallback === 'function' ? spec.fallback(resolved) : spec.fallback;
  }
  return resolved;
}

function checkMilestones(milestones: number[], epochs: number): void {
  if (milestones.some((m) => m > epochs) || milestones.some((m, i) => i > 0 && m <= milestones[i - 1])) {
    throw new InvalidTrainingParams('lrMilestones', `expected increasing epoch numbers in 1..${epochs}, got ${JSON.stringify(milestones)}`);
  }
}

function checkInitWeights(initWeights: string | null): void {
  if (initWeights !== null && !isWeightsArgument(initWeights)) {
    throw new InvalidTrainingParams(
      'initWeights',
      `expected a catalogue name (${CATALOGUE.map((e) => e.name).join(', ')}) or the path of a ${WEIGHTS_EXTENSIONS.join(', ')} file, got ${JSON.stringify(initWeights)}`,
    );
  }
}

/**
 * torchvision's detection builders train a backbone that starts without weights with nn.BatchNorm2d and
 * every stage trainable (`norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d`, trainable layers
 * 5); with weights, FrozenBatchNorm2d and 3 stages (the config defaults). A run without initWeights gets
 * the former unless its model config says otherwise.
 */
const FROM_SCRATCH_DEFAULTS = { trainable_backbone_layers: 5, norm_layer: 'batch_norm' } as const;

/** Placeholder classes: only the run's own model keys are being checked (the label space comes from the data). */
const PLACEHOLDER_CLASSES = { class_names: ['__background__', 'x'] };
/** Every key a model config may set (those a resolved config has). */
const MODEL_KEYS = new Set(Object.keys(resolveConfig(PLACEHOLDER_CLASSES, 'model')).filter((key) => !LABEL_SPACE_KEYS.includes(key)));

/** resolveConfig on `config`, its refusal typed with `field` (less the message's `prefix: `, which the field already says). */
function resolveAs(config: Json, field: string, prefix: string): ModelConfig {
  try {
    return resolveConfig({ ...config, ...PLACEHOLDER_CLASSES }, 'model');
  } catch (error) {
    const message = (error as Error).message;
    throw new InvalidTrainingParams(field, message.startsWith(`${prefix}: `) ? message.slice(prefix.length + 2) : message);
  }
}

/** The run's model config keys (with the backbone), and the config they resolve to for the memory check. */
function modelConfig(keys: Json, backbone: string, fromScratch: boolean): { keys: Json; resolved: ModelConfig } {
  for (const key of Object.keys(keys)) {
    if (LABEL_SPACE_KEYS.includes(key)) throw new InvalidTrainingParams(`model.${key}`, 'comes from the training data and cannot be set');
    if (!MODEL_KEYS.has(key))
      throw new InvalidTrainingParams(`model.${key}`, `unknown config key "${key}"; known keys: ${[...MODEL_KEYS].join(', ')}`);
    // One key at a time, so that a refusal names the key it is about.
    resolveAs({ [key]: keys[key] }, `model.${key}`, `model: ${key}`);
  }
  const config = { ...(fromScratch ? FROM_SCRATCH_DEFAULTS : {}), ...keys, backbone };
  // Keys that are valid alone may still disagree with each other.
  return { keys: config, resolved: resolveAs(config, 'model', 'model') };
}

/** A backbone given among the model keys (a model config file may hold one) is the backbone parameter, unless that is given too. */
function liftBackbone(input: Json): Json {
  const model = input.model;
  if (typeof model !== 'object' || model === null || !Object.hasOwn(model, 'backbone')) return input;
  const { backbone, ...rest } = model as Json;
  if (input.backbone != null && input.backbone !== backbone) {
    throw new InvalidTrainingParams(
      'model.backbone',
      `disagrees with backbone (${JSON.stringify(input.backbone)}): give the backbone once`,
    );
  }
  return { ...input, backbone, model: rest };
}

export interface TrainingParamsOptions {
  /**
   * What one training step may use on the backend that will run it (src/ml/train/step-memory): a run whose
   * step does not fit is refused naming batchSize or model.max_size. Absent or null: not checked.
   */
  memoryBudget?: MemoryBudget | null;
  /** The weights folder a catalogue name of initWeights is resolved in (KFASHION_WEIGHTS_DIR as the CLI read it; default `.kfashion/weights`). */
  weightsDir?: string;
}

function checkMemory(model: ModelConfig, batchSize: number, budget: MemoryBudget | null): void {
  const refusal = checkStepMemory(model, batchSize, budget);
  if (refusal) throw new InvalidTrainingParams(refusal.field === 'batchSize' ? 'batchSize' : 'model.max_size', refusal.message);
}

/**
 * Validates the parameters as the API and the CLI take them (flat, each optional) and fills defaults;
 * the result is what is stored and what the trainer reads.
 */
export function trainingParamsFromInput(input: TrainingParamsInput | Json, options: TrainingParamsOptions = {}): TrainingParams {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InvalidTrainingParams('input', 'expected an object');
  const p = resolveDeclared(liftBackbone(input));
  checkMilestones(p.lrMilestones as number[], p.epochs as number);
  const initWeights = p.initWeights as string | null;
  checkInitWeights(initWeights);
  const model = modelConfig((p.model as Json | null) ?? {}, p.backbone as string, initWeights === null);
  const params: TrainingParams = {
    name: p.name as string | null,
    model: model.keys,
    data: {
      superCategories: p.superCategories as SuperCategory[] | null,
      attributeKinds: p.attributeKinds as string[] | null,
      minValueCount: p.minValueCount as number,
      maxImages: p.maxImages as number | null,
      labels: p.labels as TrainingLabels,
      evalMaxImages: p.evalMaxImages as number | null,
    },
    epochs: p.epochs as number,
    batchSize: p.batchSize as number,
    lr: p.lr as number,
    momentum: p.momentum as number,
    weightDecay: p.weightDecay as number,
    lrMilestones: p.lrMilestones as number[],
    lrGamma: p.lrGamma as number,
    warmupIterations: p.warmupIterations as number,
    warmupFactor: p.warmupFactor as number,
    checkpointEvery: p.checkpointEvery as number,
    clipGradNorm: p.clipGradNorm as number | null,
    seed: p.seed as number,
    initWeights: initWeights === null ? null : resolveWeightsArgument(initWeights, { KFASHION_WEIGHTS_DIR: options.weightsDir }),
  };
  // Last: every field is valid, only the combination may be too big for the backend.
  checkMemory(model.resolved, params.batchSize, options.memoryBudget ?? null);
  return params;
}

/**
 * Stored params (training_runs.params, nested: `data` holds the dataset filter, `model` the config keys
 * with the backbone) as the flat input they came from; absent values stay absent. The API's
 * TrainingRun.params shows this.
 */
export function storedParamsAsInput(stored: unknown): Json {
  const root = (typeof stored === 'object' && stored !== null && !Array.isArray(stored) ? stored : {}) as Json;
  const group = (name: string) =>
    (typeof root[name] === 'object' && root[name] !== null && !Array.isArray(root[name]) ? root[name] : {}) as Json;
  const { backbone, ...modelKeys } = group('model');
  const input: Json = {};
  for (const spec of TRAINING_PARAMETERS as readonly ParamSpec[]) {
    if (spec.name === 'backbone') input.backbone = backbone;
    else if (spec.name === 'model') input.model = Object.keys(modelKeys).length > 0 ? modelKeys : undefined;
    else input[spec.name] = spec.group === 'data' ? group('data')[spec.name] : root[spec.name];
  }
  return input;
}

/** Re-validates stored params (as the trainer does before it starts or resumes a run). */
export function normaliseTrainingParams(stored: unknown, options: TrainingParamsOptions = {}): TrainingParams {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored))
    throw new InvalidTrainingParams('input', 'expected an object');
  return trainingParamsFromInput(storedParamsAsInput(stored), options);
}
