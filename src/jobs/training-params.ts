/**
 * The parameters of a training run (training_runs.params): what to train on, the model's shape, and
 * the optimisation recipe. Defaults are torchvision's detection reference (SGD momentum 0.9, weight
 * decay 1e-4, linear warm-up then ×0.1 at milestone epochs). Validation errors name the field, so the
 * API can answer BAD_USER_INPUT with it.
 */
import { LABEL_SPACE_KEYS, resolveConfig, type ModelConfig } from '../ml/model/config';
import { checkStepMemory, type MemoryBudget } from '../ml/train/step-memory';
import { TRAINABLE_ATTRIBUTE_KINDS, type DatasetFilter } from '../ml/data/dataset';
import { SuperCategory } from '../kfashion/types';
import { CATALOGUE, isWeightsArgument, resolveWeightsArgument } from '../ml/weights/catalogue';
import { WEIGHTS_EXTENSIONS } from '../ml/weights/weights-file';

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

export class InvalidTrainingParams extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}


type Json = Record<string, unknown>;

function numberIn(input: Json, field: string, fallback: number, min: number, max: number, integer: boolean, prefix = ''): number {
  const value = input[field] ?? fallback;
  const where = prefix + field;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidTrainingParams(where, `expected a number, got ${JSON.stringify(value)}`);
  if (integer && !Number.isInteger(value)) throw new InvalidTrainingParams(where, `expected an integer, got ${value}`);
  if (value < min || value > max) throw new InvalidTrainingParams(where, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function optionalPositiveInt(input: Json, field: string, max: number, prefix: string): number | null {
  if (input[field] === undefined || input[field] === null) return null;
  return numberIn(input, field, 0, 1, max, true, prefix);
}

function stringList(input: Json, field: string, prefix: string): string[] | null {
  const value = input[field];
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new InvalidTrainingParams(prefix + field, `expected a list of strings, got ${JSON.stringify(value)}`);
  }
  return [...new Set(value as string[])];
}

function dataFilter(raw: unknown): TrainingParams['data'] {
  const input = (raw ?? {}) as Json;
  if (typeof input !== 'object' || Array.isArray(input)) throw new InvalidTrainingParams('data', 'expected an object');
  const superCategories = stringList(input, 'superCategories', 'data.');
  for (const slot of superCategories ?? []) {
    if (!(Object.values(SuperCategory) as string[]).includes(slot)) {
      throw new InvalidTrainingParams('data.superCategories', `unknown super-category "${slot}"; known: ${Object.values(SuperCategory).join(', ')}`);
    }
  }
  const attributeKinds = stringList(input, 'attributeKinds', 'data.');
  for (const kind of attributeKinds ?? []) {
    if (!(TRAINABLE_ATTRIBUTE_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidTrainingParams('data.attributeKinds', `unknown attribute kind "${kind}"; trainable kinds: ${TRAINABLE_ATTRIBUTE_KINDS.join(', ')}`);
    }
  }
  return {
    superCategories: superCategories as SuperCategory[] | null,
    attributeKinds,
    minValueCount: numberIn(input, 'minValueCount', 1, 1, 1_000_000, true, 'data.'),
    maxImages: optionalPositiveInt(input, 'maxImages', 100_000_000, 'data.'),
    evalMaxImages: optionalPositiveInt(input, 'evalMaxImages', 100_000_000, 'data.'),
  };
}

/**
 * torchvision's detection builders train a backbone that starts without weights with nn.BatchNorm2d and
 * every stage trainable (`norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d`, trainable layers
 * 5); with weights, FrozenBatchNorm2d and 3 stages (the config defaults). A run without initWeights gets
 * the former unless its model config says otherwise.
 */
const FROM_SCRATCH_DEFAULTS = { trainable_backbone_layers: 5, norm_layer: 'batch_norm' } as const;

/** The run's model config keys, and the config they resolve to (with placeholder classes) for the memory check. */
function modelConfig(raw: unknown, fromScratch: boolean): { keys: Json; resolved: ModelConfig } {
  const input = (raw ?? {}) as Json;
  if (typeof input !== 'object' || Array.isArray(input)) throw new InvalidTrainingParams('model', 'expected an object of model config keys');
  for (const key of Object.keys(input)) {
    if (LABEL_SPACE_KEYS.includes(key)) throw new InvalidTrainingParams(`model.${key}`, 'comes from the training data and cannot be set');
  }
  const config = { backbone: 'resnet18', ...(fromScratch ? FROM_SCRATCH_DEFAULTS : {}), ...input };
  try {
    // Placeholder classes: only the given keys are being checked here.
    return { keys: config, resolved: resolveConfig({ ...config, class_names: ['__background__', 'x'] }, 'model') };
  } catch (error) {
    const message = (error as Error).message;
    const key = /^model: (?:unknown config key "([^"]+)"|([A-Za-z_]+))/.exec(message);
    // "model: <key>: <problem>" → field model.<key>, message "<problem>" (the field already names the key).
    throw new InvalidTrainingParams(key ? `model.${key[1] ?? key[2]}` : 'model', message.replace(/^model: (?:[A-Za-z_]+: )?/, ''));
  }
}

export interface TrainingParamsOptions {
  /**
   * What one training step may use on the backend that will run it (src/ml/train/step-memory): a run whose
   * step does not fit is refused naming batchSize or model.max_size. Absent or null: not checked.
   */
  memoryBudget?: MemoryBudget | null;
}

function checkMemory(model: ModelConfig, batchSize: number, budget: MemoryBudget | null): void {
  const refusal = checkStepMemory(model, batchSize, budget);
  if (refusal) throw new InvalidTrainingParams(refusal.field === 'batchSize' ? 'batchSize' : 'model.max_size', refusal.message);
}

/** Validates and fills defaults; the result is what is stored and what the trainer reads. */
export function normaliseTrainingParams(raw: unknown, options: TrainingParamsOptions = {}): TrainingParams {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidTrainingParams('input', 'expected an object');
  const input = raw as Json;
  const epochs = numberIn(input, 'epochs', 26, 1, 1000, true);
  const batchSize = numberIn(input, 'batchSize', 2, 1, 256, true);
  const milestones = input.lrMilestones ?? [16, 22].filter((m) => m < epochs);
  if (!Array.isArray(milestones) || !milestones.every((m) => Number.isInteger(m) && m >= 1 && m <= epochs)) {
    throw new InvalidTrainingParams('lrMilestones', `expected increasing epoch numbers in 1..${epochs}, got ${JSON.stringify(milestones)}`);
  }
  if (milestones.some((m: number, i: number) => i > 0 && m <= milestones[i - 1])) {
    throw new InvalidTrainingParams('lrMilestones', `must be increasing, got ${JSON.stringify(milestones)}`);
  }
  const initWeights = input.initWeights ?? null;
  if (initWeights !== null && (typeof initWeights !== 'string' || !isWeightsArgument(initWeights))) {
    throw new InvalidTrainingParams('initWeights', `expected a catalogue name (${CATALOGUE.map((e) => e.name).join(', ')}) or the path of a ${WEIGHTS_EXTENSIONS.join(', ')} file, got ${JSON.stringify(initWeights)}`);
  }
  const name = input.name ?? null;
  if (name !== null && (typeof name !== 'string' || name.length === 0 || name.length > 200)) {
    throw new InvalidTrainingParams('name', 'expected a non-empty string of at most 200 characters');
  }
  const model = modelConfig(input.model, initWeights === null);
  const params: TrainingParams = {
    name: name as string | null,
    model: model.keys,
    data: dataFilter(input.data),
    epochs,
    batchSize,
    // torchvision's reference: 0.02 for 16 images per batch, scaled linearly.
    lr: numberIn(input, 'lr', (0.02 * batchSize) / 16, 1e-7, 1, false),
    momentum: numberIn(input, 'momentum', 0.9, 0, 0.999, false),
    weightDecay: numberIn(input, 'weightDecay', 1e-4, 0, 0.1, false),
    lrMilestones: milestones as number[],
    lrGamma: numberIn(input, 'lrGamma', 0.1, 1e-4, 1, false),
    warmupIterations: numberIn(input, 'warmupIterations', 1000, 0, 1_000_000, true),
    warmupFactor: numberIn(input, 'warmupFactor', 1 / 1000, 1e-6, 1, false),
    checkpointEvery: numberIn(input, 'checkpointEvery', 500, 1, 10_000_000, true),
    clipGradNorm: input.clipGradNorm === undefined || input.clipGradNorm === null ? null : numberIn(input, 'clipGradNorm', 0, 1e-3, 1e6, false),
    seed: numberIn(input, 'seed', 0, 0, 2 ** 32 - 1, true),
    initWeights: initWeights === null ? null : resolveWeightsArgument(initWeights as string),
  };
  // Last: every field is valid, only the combination may be too big for the backend.
  checkMemory(model.resolved, batchSize, options.memoryBudget ?? null);
  return params;
}
