/**
 * The JSON config that sits beside a model's safetensors weights (config.json next to model.safetensors
 * in a model version's folder): together they are everything needed to rebuild the model.
 *
 * Keys are torchvision's `FasterRCNN` keyword-argument names (torchvision 0.14); an absent key takes
 * torchvision's default. On top of those: the backbone depth, the class names, the attribute heads,
 * `trainable_backbone_layers` and `norm_layer` (as torchvision's `fasterrcnn_resnet50_fpn` builder), and two
 * extensions for small models: `representation_size` (TwoMLPHead width, torchvision hard-codes 1024)
 * and `fpn_out_channels` (torchvision hard-codes 256).
 */
import { readRegularFileSync } from '../../util/regular-file';

export const BACKBONES = ['resnet18', 'resnet34', 'resnet50', 'resnet101'] as const;
export type BackboneName = (typeof BACKBONES)[number];

export interface AttributeSpec {
  /** Head name: weights are `roi_heads.box_predictor.<kind>_score.{weight,bias}`. */
  kind: string;
  /** 'single': one value per garment (softmax); 'multi': any subset (sigmoid per value). */
  type: 'single' | 'multi';
  values: string[];
}

export interface ModelConfig {
  backbone: BackboneName;
  num_classes: number;
  class_names: string[];
  attributes: AttributeSpec[];
  /** torchvision accepts one size or a tuple (training picks one at random, eval uses the last). */
  min_size: number | number[];
  max_size: number;
  image_mean: [number, number, number];
  image_std: [number, number, number];
  rpn_pre_nms_top_n_train: number;
  rpn_pre_nms_top_n_test: number;
  rpn_post_nms_top_n_train: number;
  rpn_post_nms_top_n_test: number;
  rpn_nms_thresh: number;
  rpn_fg_iou_thresh: number;
  rpn_bg_iou_thresh: number;
  rpn_batch_size_per_image: number;
  rpn_positive_fraction: number;
  rpn_score_thresh: number;
  box_score_thresh: number;
  box_nms_thresh: number;
  box_detections_per_img: number;
  box_fg_iou_thresh: number;
  box_bg_iou_thresh: number;
  box_batch_size_per_image: number;
  box_positive_fraction: number;
  /** torchvision's `bbox_reg_weights=None` means (10, 10, 5, 5); resolved here. */
  bbox_reg_weights: [number, number, number, number];
  /** 0..5 stages trained, counted from layer4 down to conv1 (torchvision default 3). */
  trainable_backbone_layers: number;
  /** TwoMLPHead width (fc6, fc7). Extension; torchvision uses 1024. */
  representation_size: number;
  /** FPN output channels. Extension; torchvision uses 256. */
  fpn_out_channels: number;
  /**
   * The ResNet body's norm layer, torchvision's `norm_layer`: `frozen_batch_norm` (FrozenBatchNorm2d, for
   * pretrained weights; the default) or `batch_norm` (nn.BatchNorm2d, what torchvision trains a backbone
   * from scratch with).
   */
  norm_layer: NormLayer;
  /**
   * `v1`: torchvision's fasterrcnn_resnet50_fpn (FPN without norm, one-conv RPN head, TwoMLPHead). `v2`:
   * fasterrcnn_resnet50_fpn_v2 (torchvision >= 0.13): FPN convs followed by BatchNorm, a two-conv RPN head,
   * and FastRCNNConvFCHead (four 3×3 conv + BatchNorm + ReLU with fpn_out_channels channels, then one fc of
   * representation_size). torchvision's builder names are accepted for either.
   */
  architecture: Architecture;
}

export const ARCHITECTURES = ['v1', 'v2'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
const BUILDER_ARCHITECTURES: Readonly<Record<string, Architecture>> = { fasterrcnn_resnet50_fpn: 'v1', fasterrcnn_resnet50_fpn_v2: 'v2' };

export const NORM_LAYERS = ['frozen_batch_norm', 'batch_norm'] as const;
export type NormLayer = (typeof NORM_LAYERS)[number];

/** torchvision 0.14 defaults (FasterRCNN.__init__ and fasterrcnn_resnet50_fpn). */
export const TORCHVISION_DEFAULTS = {
  backbone: 'resnet50',
  attributes: [],
  min_size: 800,
  max_size: 1333,
  image_mean: [0.485, 0.456, 0.406],
  image_std: [0.229, 0.224, 0.225],
  rpn_pre_nms_top_n_train: 2000,
  rpn_pre_nms_top_n_test: 1000,
  rpn_post_nms_top_n_train: 2000,
  rpn_post_nms_top_n_test: 1000,
  rpn_nms_thresh: 0.7,
  rpn_fg_iou_thresh: 0.7,
  rpn_bg_iou_thresh: 0.3,
  rpn_batch_size_per_image: 256,
  rpn_positive_fraction: 0.5,
  rpn_score_thresh: 0.0,
  box_score_thresh: 0.05,
  box_nms_thresh: 0.5,
  box_detections_per_img: 100,
  box_fg_iou_thresh: 0.5,
  box_bg_iou_thresh: 0.5,
  box_batch_size_per_image: 512,
  box_positive_fraction: 0.25,
  bbox_reg_weights: [10.0, 10.0, 5.0, 5.0],
  trainable_backbone_layers: 3,
  representation_size: 1024,
  fpn_out_channels: 256,
  norm_layer: 'frozen_batch_norm',
  architecture: 'v1',
} as const satisfies Partial<ModelConfig>;

type Check = (value: unknown, where: string) => unknown;

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

/** An integer in [min, max]. */
function intIn(min: number, max: number): Check {
  return (v, where) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? v
      : fail(where, `expected an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
}

/**
 * Bounds of the integer settings. Far above anything torchvision's recipes use (its defaults in
 * brackets) and below what one process can hold: `rpn_pre_nms_top_n_train: 2147483647` made the RPN
 * sort every anchor and the wasm heap abort; `fpn_out_channels: 1000000` asked for gigabytes of weights.
 */
export const INTEGER_BOUNDS = {
  /** Shorter image side after resizing [800]; `max_size` the longer one's cap [1333]. */
  min_size: [32, 2048],
  max_size: [32, 4096],
  /** Proposals kept per FPN level before NMS, and in all after it [2000 / 1000]. */
  rpn_pre_nms_top_n_train: [1, 20_000],
  rpn_pre_nms_top_n_test: [1, 20_000],
  rpn_post_nms_top_n_train: [1, 20_000],
  rpn_post_nms_top_n_test: [1, 20_000],
  /** Anchors [256] and proposals [512] sampled per image for the losses; more than there are means all (torchvision's reference fixtures use 100000). */
  rpn_batch_size_per_image: [1, 100_000],
  box_batch_size_per_image: [1, 100_000],
  /** Detections kept per image [100]. */
  box_detections_per_img: [1, 1000],
  /** Box head width [1024] and FPN channels [256]. */
  representation_size: [1, 4096],
  fpn_out_channels: [1, 1024],
  trainable_backbone_layers: [0, 5],
} as const satisfies Partial<Record<keyof ModelConfig, readonly [number, number]>>;

function bounded(key: keyof typeof INTEGER_BOUNDS): Check {
  const [min, max] = INTEGER_BOUNDS[key];
  return intIn(min, max);
}
const fraction: Check = (v, where) =>
  typeof v === 'number' && v >= 0 && v <= 1 ? v : fail(where, `expected a number in [0, 1], got ${JSON.stringify(v)}`);

function numberTuple(length: number, positive: boolean): Check {
  return (v, where) => {
    if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      fail(where, `expected an array of ${length} numbers, got ${JSON.stringify(v)}`);
    }
    if (positive && !v.every((x: number) => x > 0)) fail(where, `expected positive numbers, got ${JSON.stringify(v)}`);
    return [...(v as number[])];
  };
}

const minSize: Check = (v, where) => {
  if (Array.isArray(v)) {
    if (v.length === 0) fail(where, 'expected a positive integer or a non-empty array of them');
    return v.map((x, i) => bounded('min_size')(x, `${where}[${i}]`));
  }
  return bounded('min_size')(v, where);
};

function uniqueNames(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) {
    fail(where, `expected an array of non-empty strings, got ${JSON.stringify(v)}`);
  }
  const seen = new Set<string>();
  for (const name of v as string[]) {
    if (seen.has(name)) fail(where, `duplicate name ${JSON.stringify(name)}`);
    seen.add(name);
  }
  return [...(v as string[])];
}

const KIND_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

const attributes: Check = (v, where) => {
  if (!Array.isArray(v)) fail(where, `expected an array of {kind, type, values}, got ${JSON.stringify(v)}`);
  const kinds = new Set<string>();
  return v.map((entry, i): AttributeSpec => {
    const at = `${where}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(at, 'expected an object {kind, type, values}');
    const { kind, type, values, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) fail(`${at}.${extra[0]}`, 'unknown key');
    if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
      fail(`${at}.kind`, `expected an identifier (letters, digits, _), got ${JSON.stringify(kind)}`);
    }
    if (kinds.has(kind)) fail(`${at}.kind`, `duplicate attribute kind ${JSON.stringify(kind)}`);
    kinds.add(kind);
    if (type !== 'single' && type !== 'multi') fail(`${at}.type`, `expected "single" or "multi", got ${JSON.stringify(type)}`);
    const names = uniqueNames(values, `${at}.values`);
    if (names.length === 0) fail(`${at}.values`, 'expected at least one value');
    return { kind, type, values: names };
  });
};

const CHECKS: Record<keyof ModelConfig, Check> = {
  backbone: (v, where) =>
    BACKBONES.includes(v as BackboneName) ? v : fail(where, `expected one of ${BACKBONES.join(', ')}, got ${JSON.stringify(v)}`),
  num_classes: (v, where) =>
    Number.isInteger(v) && (v as number) >= 2 ? v : fail(where, `expected an integer >= 2 (background included), got ${JSON.stringify(v)}`),
  class_names: uniqueNames,
  attributes,
  min_size: minSize,
  max_size: bounded('max_size'),
  image_mean: numberTuple(3, false),
  image_std: numberTuple(3, true),
  rpn_pre_nms_top_n_train: bounded('rpn_pre_nms_top_n_train'),
  rpn_pre_nms_top_n_test: bounded('rpn_pre_nms_top_n_test'),
  rpn_post_nms_top_n_train: bounded('rpn_post_nms_top_n_train'),
  rpn_post_nms_top_n_test: bounded('rpn_post_nms_top_n_test'),
  rpn_nms_thresh: fraction,
  rpn_fg_iou_thresh: fraction,
  rpn_bg_iou_thresh: fraction,
  rpn_batch_size_per_image: bounded('rpn_batch_size_per_image'),
  rpn_positive_fraction: fraction,
  rpn_score_thresh: fraction,
  box_score_thresh: fraction,
  box_nms_thresh: fraction,
  box_detections_per_img: bounded('box_detections_per_img'),
  box_fg_iou_thresh: fraction,
  box_bg_iou_thresh: fraction,
  box_batch_size_per_image: bounded('box_batch_size_per_image'),
  box_positive_fraction: fraction,
  bbox_reg_weights: (v, where) => (v === null ? [...TORCHVISION_DEFAULTS.bbox_reg_weights] : numberTuple(4, true)(v, where)),
  trainable_backbone_layers: bounded('trainable_backbone_layers'),
  representation_size: bounded('representation_size'),
  fpn_out_channels: bounded('fpn_out_channels'),
  norm_layer: (v, where) =>
    NORM_LAYERS.includes(v as NormLayer) ? v : fail(where, `expected one of ${NORM_LAYERS.join(', ')}, got ${JSON.stringify(v)}`),
  architecture: (v, where) =>
    ARCHITECTURES.includes(v as Architecture)
      ? v
      : typeof v === 'string' && Object.hasOwn(BUILDER_ARCHITECTURES, v)
        ? BUILDER_ARCHITECTURES[v]
        : fail(where, `expected one of ${[...ARCHITECTURES, ...Object.keys(BUILDER_ARCHITECTURES)].join(', ')}, got ${JSON.stringify(v)}`),
};

/**
 * Validates a parsed config object and fills torchvision's defaults. `source` (a file name or a
 * description) prefixes every error together with the offending key.
 */
export function resolveConfig(partial: unknown, source: string): ModelConfig {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new Error(`${source}: model config must be a JSON object`);
  }
  const given = partial as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    // Own keys only: `in` would accept `constructor` or `__proto__` (Object.prototype's).
    if (!Object.hasOwn(CHECKS, key))
      throw new Error(`${source}: unknown config key "${key}"; known keys: ${Object.keys(CHECKS).join(', ')}`);
  }
  const resolved: Record<string, unknown> = {};
  const defaults = TORCHVISION_DEFAULTS as Record<string, unknown>;
  for (const key of Object.keys(CHECKS) as (keyof ModelConfig)[]) {
    if (key === 'num_classes' || key === 'class_names') continue;
    const value = given[key] !== undefined ? given[key] : defaults[key];
    resolved[key] = CHECKS[key](value, `${source}: ${key}`);
  }
  resolveClasses(given, source, resolved);
  return resolved as unknown as ModelConfig;
}

/** num_classes and class_names must agree; either one alone is enough (names default to class_<i>). */
function resolveClasses(given: Record<string, unknown>, source: string, into: Record<string, unknown>): void {
  const names = given.class_names === undefined ? undefined : uniqueNames(given.class_names, `${source}: class_names`);
  let count: number;
  if (given.num_classes !== undefined) count = CHECKS.num_classes(given.num_classes, `${source}: num_classes`) as number;
  else if (names !== undefined) count = CHECKS.num_classes(names.length, `${source}: class_names (length)`) as number;
  else throw new Error(`${source}: num_classes: missing (give num_classes or class_names)`);
  if (names !== undefined && names.length !== count) {
    throw new Error(`${source}: class_names: has ${names.length} names but num_classes is ${count}`);
  }
  into.num_classes = count;
  into.class_names = names ?? Array.from({ length: count }, (_, i) => (i === 0 ? '__background__' : `class_${i}`));
}

/** The keys of the label space: a training run takes them from its data, never from the caller. */
export const LABEL_SPACE_KEYS: readonly string[] = ['num_classes', 'class_names', 'attributes'];

/** A config JSON file's object, unchecked; errors name the file (`what` says where it was given, e.g. a flag). */
export function readConfigJson(path: string, what?: string): Record<string, unknown> {
  const where = what ? `${what} ${path}` : path;
  let text: string;
  try {
    text = readRegularFileSync(path).toString('utf8');
  } catch (error) {
    throw new Error(`${where}: cannot read model config: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new Error(`${where}: model config is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${where}: model config must be a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Reads and resolves a config JSON file; errors name the file (and the key). */
export function readConfigFile(path: string): ModelConfig {
  return resolveConfig(readConfigJson(path), path);
}

/** The config as JSON text (all keys explicit, so a reader need not know torchvision's defaults). */
export function configToJson(config: ModelConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The evaluation-time min size (torchvision uses the last of a tuple at test time). */
export function evalMinSize(config: Pick<ModelConfig, 'min_size'>): number {
  return Array.isArray(config.min_size) ? config.min_size[config.min_size.length - 1] : config.min_size;
}
