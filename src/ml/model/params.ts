/**
 * The model's named parameters: one tf.Variable per torchvision state_dict entry, keyed by the names
 * torchvision >= 0.13 writes (`backbone.body.layer1.0.conv1.weight`, `backbone.fpn.inner_blocks.0.0.weight`,
 * `rpn.head.conv.0.0.weight`, ...). The model modules read their tensors from a ParameterStore;
 * src/ml/weights/state-dict.ts loads and exports it.
 *
 * Layouts (PyTorch layouts exist only at the weights boundary):
 * - 'conv'   torch OIHW  ↔ stored HWIO (tfjs conv2d filter layout), transpose [2, 3, 1, 0].
 * - 'linear' torch [out, in] ↔ stored TRANSPOSED as [in, out], so a linear layer is a plain
 *            `tf.matMul(x, W)` (no transposed-operand matmul in the hot path, and the gradient has the
 *            variable's shape). Use `linear()` below rather than relying on this.
 * - 'plain'  biases and frozen batch-norm buffers, stored as is.
 *
 * Frozen batch-norm buffers and the frozen backbone stages are variables with `trainable = false`:
 * tfjs optimisers and `tf.variableGrads` skip them.
 *
 * Fresh initialisation follows torchvision (see `InitSpec`), drawn from a seeded PRNG so a model built
 * twice with the same seed is identical.
 */
import * as tf from '@tensorflow/tfjs-core';
import { seededRandom } from '../../util/random';

export type Layout = 'conv' | 'linear' | 'plain';

// Module-level bindings: hot loops then touch no globals, which are slow inside vm contexts (jest).
const { sqrt, log, sin, cos, PI } = Math;

/** torchvision's initialisers, as used by the detection model's modules. */
export type InitSpec =
  | { kind: 'constant'; value: number }
  /** torch.nn.init.normal_(std) */
  | { kind: 'normal'; std: number }
  /** torch.nn.init.uniform_(-bound, bound) */
  | { kind: 'uniform'; bound: number }
  /** kaiming_normal_(mode='fan_out', nonlinearity='relu'): ResNet convs. */
  | { kind: 'kaiming_normal_fan_out' }
  /** kaiming_uniform_(a) with fan_in: FPN convs use a = 1. */
  | { kind: 'kaiming_uniform'; a: number }
  /** nn.Linear / nn.Conv2d default weight init: kaiming_uniform_(a=sqrt(5)), i.e. U(±1/sqrt(fan_in)). */
  | { kind: 'torch_default_weight' }
  /** nn.Linear / nn.Conv2d default bias init: U(±1/sqrt(fan_in)), fan_in of the layer's weight. */
  | { kind: 'torch_default_bias'; fanIn: number };

export interface ParameterInfo {
  name: string;
  /** Shape in PyTorch layout (as in the state_dict). */
  torchShape: number[];
  layout: Layout;
}

/**
 * Seeded uniform and normal draws for initialisation: uniforms from the project's one seeded generator
 * (util/random), normals from pairs of them (Box–Muller). Deterministic across platforms: only 32-bit
 * integer arithmetic and IEEE double operations.
 */
export class SeededRandom {
  private readonly uniform: () => number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.uniform = seededRandom(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uniform();
  }

  /** Standard normal. */
  normal(): number {
    if (this.spareNormal !== null) {
      const value = this.spareNormal;
      this.spareNormal = null;
      return value;
    }
    const u = 1 - this.next(); // (0, 1]: log is finite
    const v = this.next();
    const radius = sqrt(-2 * log(u));
    this.spareNormal = radius * sin(2 * PI * v);
    return radius * cos(2 * PI * v);
  }
}

/** torch.nn.init._calculate_fan_in_and_fan_out on a PyTorch-layout shape. */
export function fans(torchShape: readonly number[]): { fanIn: number; fanOut: number } {
  if (torchShape.length < 2) throw new Error(`fan in/out need a weight of rank >= 2, got shape [${torchShape.join(', ')}]`);
  const receptive = torchShape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: torchShape[1] * receptive, fanOut: torchShape[0] * receptive };
}

/** Values (PyTorch layout, row-major) of a freshly initialised tensor. */
export function initialValues(torchShape: readonly number[], init: InitSpec, random: SeededRandom): Float32Array {
  const size = torchShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  const uniform = (bound: number) => {
    for (let i = 0; i < size; i++) out[i] = (2 * random.next() - 1) * bound;
  };
  const normal = (std: number) => {
    for (let i = 0; i < size; i++) out[i] = random.normal() * std;
  };
  switch (init.kind) {
    case 'constant':
      out.fill(init.value);
      break;
    case 'normal':
      normal(init.std);
      break;
    case 'uniform':
      uniform(init.bound);
      break;
    case 'kaiming_normal_fan_out':
      normal(Math.sqrt(2) / Math.sqrt(fans(torchShape).fanOut));
      break;
    case 'kaiming_uniform': {
      const gain = Math.sqrt(2 / (1 + init.a * init.a));
      uniform(gain * Math.sqrt(3 / fans(torchShape).fanIn));
      break;
    }
    case 'torch_default_weight':
      uniform(1 / Math.sqrt(fans(torchShape).fanIn));
      break;
    case 'torch_default_bias':
      uniform(init.fanIn > 0 ? 1 / Math.sqrt(init.fanIn) : 0);
      break;
  }
  return out;
}

/** The tfjs-layout shape of a tensor whose PyTorch shape is given. */
export function tfShape(torchShape: readonly number[], layout: Layout): number[] {
  if (layout === 'conv') return [torchShape[2], torchShape[3], torchShape[1], torchShape[0]];
  if (layout === 'linear') return [torchShape[1], torchShape[0]];
  return [...torchShape];
}

function checkRank(info: ParameterInfo): void {
  const rank = info.layout === 'conv' ? 4 : info.layout === 'linear' ? 2 : -1;
  if (rank > 0 && info.torchShape.length !== rank) {
    throw new Error(
      `parameter "${info.name}": ${info.layout} layout needs a rank-${rank} PyTorch shape, got [${info.torchShape.join(', ')}]`,
    );
  }
}

/**
 * Reorders a 4-D row-major array: OIHW → HWIO (`toHwio`) or back. Plain loops: faster than a backend
 * transpose on the cpu backend and no tensor round trip.
 */
function permuteConv(data: Float32Array, torchShape: readonly number[], toHwio: boolean): Float32Array {
  const [o, i, h, w] = torchShape;
  const out = new Float32Array(data.length);
  let torchIndex = 0;
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++, torchIndex++) {
          const tfIndex = ((y * w + x) * i + b) * o + a;
          if (toHwio) out[tfIndex] = data[torchIndex];
          else out[torchIndex] = data[tfIndex];
        }
      }
    }
  }
  return out;
}

/** 2-D row-major transpose of a [rows, cols] array. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** PyTorch-layout values → tfjs-layout values (row-major). */
export function torchToTfValues(data: Float32Array, torchShape: readonly number[], layout: Layout): Float32Array {
  if (layout === 'conv') return permuteConv(data, torchShape, true);
  if (layout === 'linear') return transpose2d(data, torchShape[0], torchShape[1]);
  return data;
}

/** tfjs-layout values → PyTorch-layout values (row-major). */
export function tfToTorchValues(data: Float32Array, torchShape: readonly number[], layout: Layout): Float32Array {
  if (layout === 'conv') return permuteConv(data, torchShape, false);
  if (layout === 'linear') return transpose2d(data, torchShape[1], torchShape[0]);
  return Float32Array.from(data);
}

/** PyTorch-layout values → tfjs-layout tensor. */
export function fromTorchLayout(data: Float32Array, torchShape: readonly number[], layout: Layout): tf.Tensor {
  return tf.tensor(torchToTfValues(data, torchShape, layout), tfShape(torchShape, layout), 'float32');
}

/** tfjs-layout tensor → PyTorch-layout values. */
export function toTorchLayout(value: tf.Tensor, torchShape: readonly number[], layout: Layout): Float32Array {
  return tfToTorchValues(value.dataSync() as Float32Array, torchShape, layout);
}

export interface CreateOptions {
  layout: Layout;
  init: InitSpec;
  trainable: boolean;
}

/** A parameter to create: its state_dict name, PyTorch shape, layout, fresh init and trainability. */
export interface ParameterSpec extends CreateOptions {
  name: string;
  torchShape: number[];
}

/** Creates the given parameters in order (random draws in that order, so a seed fixes every value). */
export function defineParameters(store: ParameterStore, specs: readonly ParameterSpec[], random: SeededRandom): void {
  for (const spec of specs) store.create(spec.name, spec.torchShape, spec, random);
}

export class ParameterStore {
  private readonly entries = new Map<string, { info: ParameterInfo; variable: tf.Variable }>();

  /**
   * `drawInitialValues: false`: parameters start as zeros instead of their fresh init, for a model whose every
   * weight is about to be loaded (drawing a ResNet-50's init takes seconds of CPU for values thrown away).
   */
  constructor(private readonly options: { drawInitialValues?: boolean } = {}) {}

  /** Creates and registers a freshly initialised parameter (values drawn from `random`, unless switched off). */
  create(name: string, torchShape: readonly number[], options: CreateOptions, random: SeededRandom): tf.Variable {
    const values =
      this.options.drawInitialValues === false
        ? new Float32Array(torchShape.reduce((a, b) => a * b, 1))
        : initialValues(torchShape, options.init, random);
    return this.add(name, torchShape, options.layout, values, options.trainable);
  }

  /** Registers a parameter with given PyTorch-layout values. */
  add(name: string, torchShape: readonly number[], layout: Layout, torchValues: Float32Array, trainable: boolean): tf.Variable {
    if (this.entries.has(name)) throw new Error(`parameter "${name}" is already defined`);
    const info: ParameterInfo = { name, torchShape: [...torchShape], layout };
    checkRank(info);
    const value = fromTorchLayout(torchValues, torchShape, layout);
    // No variable name: tfjs names are global, and several models may coexist (tests, model server).
    const variable = tf.variable(value, trainable);
    value.dispose();
    this.entries.set(name, { info, variable });
    return variable;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): tf.Variable {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`model parameter "${name}" is not defined`);
    return entry.variable;
  }

  info(name: string): ParameterInfo {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`model parameter "${name}" is not defined`);
    return entry.info;
  }

  /** Names in definition order (the model's module order, as torchvision's state_dict). */
  names(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** Replaces a parameter's value from PyTorch-layout data (shape must match). */
  assignFromTorch(name: string, torchValues: Float32Array): void {
    const { info, variable } = this.entries.get(name) ?? { info: undefined, variable: undefined };
    if (!info || !variable) throw new Error(`model parameter "${name}" is not defined`);
    const value = fromTorchLayout(torchValues, info.torchShape, info.layout);
    variable.assign(value);
    value.dispose();
  }

  /** The parameter's values in PyTorch layout. */
  torchValues(name: string): Float32Array {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`model parameter "${name}" is not defined`);
    return toTorchLayout(entry.variable, entry.info.torchShape, entry.info.layout);
  }

  setTrainable(name: string, trainable: boolean): void {
    this.get(name).trainable = trainable;
  }

  /** Trainable variables by name (what an optimiser updates). */
  trainable(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, { variable }] of this.entries) if (variable.trainable) out.set(name, variable);
    return out;
  }

  dispose(): void {
    for (const { variable } of this.entries.values()) variable.dispose();
    this.entries.clear();
  }
}

/**
 * nn.Linear: y = x·Wᵀ + b with W stored as [in, out] (see the layout note above).
 * `prefix` is the module name, e.g. `roi_heads.box_head.fc6`.
 */
export function linear(store: ParameterStore, prefix: string, x: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.matMul(x, store.get(`${prefix}.weight`) as tf.Tensor2D), store.get(`${prefix}.bias`));
}

/**
 * nn.Conv2d (with its bias, `<prefix>.bias`) with symmetric explicit padding, as PyTorch pads (tfjs 'same' pads
 * asymmetrically for stride 2). Bias-free convs are followed by a norm: resnet.ts's applyConvBn.
 */
export function conv2d(store: ParameterStore, prefix: string, x: tf.Tensor4D, stride: number, padding: number): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: store.get(`${prefix}.weight`) as tf.Tensor4D,
    strides: stride,
    pad: padding,
    dimRoundingMode: 'floor',
    bias: store.get(`${prefix}.bias`),
  });
}
