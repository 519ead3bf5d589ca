/**
 * The one definition of a training run's parameters: each one's name, kind, bounds, default and
 * description. The GraphQL input and output types (src/graphql/training/params.ts), the flags of
 * `kfashion train` (src/cli/train.ts) and the validation (training-params.ts) are all built from this
 * list, so a parameter added here is reachable from both the API and the CLI. A light module: the CLI
 * reads it for `--help`, so it imports nothing heavy.
 */
import { SuperCategory } from '../kfashion/types';
import { TRAINABLE_ATTRIBUTE_KINDS, TRAINING_LABELS } from '../ml/data/dataset';
import { BACKBONES } from '../ml/model/config';

/** Where a value is stored in training_runs.params: at the top, under `data` (the dataset filter) or `model` (a config key). */
export type ParamGroup = 'run' | 'data' | 'model';

/** The value of each kind (as the API and the CLI take it, and as it is stored). */
export interface ParamKinds {
  integer: number;
  number: number;
  integers: number[];
  strings: string[];
  string: string;
  object: Record<string, unknown>;
}

export interface ParamSpec {
  name: string;
  kind: keyof ParamKinds;
  group: ParamGroup;
  description: string;
  /** Inclusive bounds of a number, of each item of a list of numbers, or of a string's length. */
  min?: number;
  max?: number;
  /** The values a string or each item of a list may take. */
  values?: readonly string[];
  /** The value when absent, given the parameters resolved before it (null: off, or none). */
  fallback: ((resolved: Record<string, unknown>) => unknown) | number | string | null;
  /** How the fallback reads in descriptions ("26", "0.02 × batchSize / 16", "off"). */
  defaultText?: string;
  /** The CLI's flag when it is not `--<name in kebab case>` (with its argument). */
  flag?: string;
}

export const TRAINING_PARAMETERS = [
  {
    name: 'name',
    kind: 'string',
    group: 'run',
    min: 1,
    max: 200,
    fallback: null,
    description: 'Name of the model version the run ends with',
  },
  { name: 'backbone', kind: 'string', group: 'model', values: BACKBONES, fallback: 'resnet18', description: 'ResNet backbone' },
  {
    name: 'model',
    kind: 'object',
    group: 'model',
    fallback: null,
    flag: '--model-config <file>',
    description:
      'Further model config keys (torchvision FasterRCNN kwargs: min_size, max_size, rpn_*, box_*, ...; classes and attributes come from the data); the CLI reads them from a JSON file',
  },
  {
    name: 'superCategories',
    kind: 'strings',
    group: 'data',
    values: Object.values(SuperCategory),
    fallback: null,
    defaultText: 'all',
    description: 'Train on garments of these slots only',
  },
  {
    name: 'attributeKinds',
    kind: 'strings',
    group: 'data',
    values: TRAINABLE_ATTRIBUTE_KINDS,
    fallback: null,
    defaultText: 'every garment kind with values',
    description: 'Attribute heads',
  },
  {
    name: 'minValueCount',
    kind: 'integer',
    group: 'data',
    min: 1,
    max: 1_000_000,
    fallback: 1,
    description: 'A category or value needs this many training garments',
  },
  {
    name: 'maxImages',
    kind: 'integer',
    group: 'data',
    min: 1,
    max: 100_000_000,
    fallback: null,
    defaultText: 'all',
    description: 'Use at most this many training images',
  },
  {
    name: 'labels',
    kind: 'string',
    group: 'data',
    values: TRAINING_LABELS,
    fallback: 'ANNOTATIONS',
    description:
      'Whose labels to learn from, in this order: the annotations of the training images nobody reviewed, only the images a person marked reviewed (with their corrections; a reviewed upload too), or both',
  },
  {
    name: 'evalMaxImages',
    kind: 'integer',
    group: 'data',
    min: 1,
    max: 100_000_000,
    fallback: null,
    defaultText: 'all',
    description: 'Evaluate on at most this many validation images',
  },
  {
    name: 'epochs',
    kind: 'integer',
    group: 'run',
    min: 1,
    max: 1000,
    fallback: 26,
    defaultText: "26, torchvision's detection recipe",
    description: 'Passes over the training images',
  },
  { name: 'batchSize', kind: 'integer', group: 'run', min: 1, max: 256, fallback: 2, description: 'Images per step' },
  // torchvision's reference: 0.02 for 16 images per batch, scaled linearly.
  {
    name: 'lr',
    kind: 'number',
    group: 'run',
    min: 1e-7,
    max: 1,
    fallback: (p) => (0.02 * (p.batchSize as number)) / 16,
    defaultText: '0.02 × batchSize / 16',
    description: 'Base learning rate (SGD)',
  },
  { name: 'momentum', kind: 'number', group: 'run', min: 0, max: 0.999, fallback: 0.9, description: 'SGD momentum' },
  { name: 'weightDecay', kind: 'number', group: 'run', min: 0, max: 0.1, fallback: 1e-4, description: 'L2 weight decay' },
  {
    name: 'lrMilestones',
    kind: 'integers',
    group: 'run',
    min: 1,
    max: 1000,
    fallback: (p) => [16, 22].filter((m) => m < (p.epochs as number)),
    defaultText: '16,22, those before the last epoch',
    description: 'Increasing epochs at which the learning rate is multiplied by lrGamma',
  },
  {
    name: 'lrGamma',
    kind: 'number',
    group: 'run',
    min: 1e-4,
    max: 1,
    fallback: 0.1,
    description: 'Factor of the learning rate at each milestone',
  },
  {
    name: 'warmupIterations',
    kind: 'integer',
    group: 'run',
    min: 0,
    max: 1_000_000,
    fallback: 1000,
    description: 'Linear warm-up length in steps (capped by an epoch)',
  },
  {
    name: 'warmupFactor',
    kind: 'number',
    group: 'run',
    min: 1e-6,
    max: 1,
    fallback: 1 / 1000,
    description: 'Learning-rate factor at the first warm-up step',
  },
  {
    name: 'checkpointEvery',
    kind: 'integer',
    group: 'run',
    min: 1,
    max: 10_000_000,
    fallback: 500,
    description: 'Steps between checkpoints',
  },
  {
    name: 'clipGradNorm',
    kind: 'number',
    group: 'run',
    min: 1e-3,
    max: 1e6,
    fallback: null,
    defaultText: 'off, as torchvision',
    description: 'Rescale gradients whose total L2 norm exceeds this',
  },
  {
    name: 'seed',
    kind: 'integer',
    group: 'run',
    min: 0,
    max: 2 ** 32 - 1,
    fallback: 0,
    description: 'Seed of initialisation, order, flips and sampling',
  },
  {
    name: 'initWeights',
    kind: 'string',
    group: 'run',
    fallback: null,
    flag: '--init-weights <file>',
    description:
      'Weights to start from: a catalogue name (`kfashion weights list`) or a .safetensors/.pth/.pt file (for the API, in the weights folder, KFASHION_WEIGHTS_DIR); tensors whose name and shape match are loaded',
  },
] as const satisfies readonly ParamSpec[];

export type TrainingParameterName = (typeof TRAINING_PARAMETERS)[number]['name'];

/** A run's parameters as the API and the CLI take them: each optional (absent or null means its default). */
export type TrainingParamsInput = {
  [P in (typeof TRAINING_PARAMETERS)[number] as P['name']]?: ParamKinds[P['kind']] | null;
};

/** How a parameter's default reads: its defaultText, or its fallback value. */
export function defaultOf(spec: ParamSpec): string | null {
  if (spec.defaultText !== undefined) return spec.defaultText;
  return typeof spec.fallback === 'number' || typeof spec.fallback === 'string' ? String(spec.fallback) : null;
}

/** The description with its default, as the API's schema and `kfashion train --help` show it. */
export function describeParameter(spec: ParamSpec): string {
  const fallback = defaultOf(spec);
  const what = spec.kind === 'string' && spec.values ? `${spec.description}: ${spec.values.join(', ')}` : spec.description;
  return fallback === null ? what : `${what} (default ${fallback})`;
}

/** The parameter's flag of `kfashion train`, with its argument. */
export function flagOf(spec: ParamSpec): string {
  if (spec.flag) return spec.flag;
  const argument = { integer: '<n>', number: '<x>', integers: '<list>', strings: '<list>', string: '<name>', object: '<json>' }[spec.kind];
  return `--${spec.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${argument}`;
}

/** The parameter named by a validation error's field (`model.max_size` belongs to `model`). */
export function parameterOf(field: string): ParamSpec | undefined {
  return (TRAINING_PARAMETERS as readonly ParamSpec[]).find((spec) => spec.name === field.split('.')[0]);
}
