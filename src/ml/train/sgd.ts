/**
 * SGD with momentum and weight decay exactly as torch.optim.SGD (dampening 0, nesterov false):
 *   d = grad + weight_decay · p
 *   buf = d                      (first step)
 *   buf = momentum · buf + d     (later steps)
 *   p  -= lr · buf
 * and the learning-rate schedule of torchvision's detection reference (references/detection/train.py):
 * a LinearLR warm-up from 1/1000 over min(1000, iterations per epoch − 1) iterations of the first
 * epoch, times MultiStepLR's gamma per milestone epoch reached.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

export class Sgd {
  readonly momentum: number;
  readonly weightDecay: number;
  lr: number;
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(options: SgdOptions) {
    if (!(options.lr >= 0)) throw new Error(`SGD: lr must be a non-negative number, got ${options.lr}`);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    if (this.momentum < 0) throw new Error(`SGD: momentum must be >= 0, got ${this.momentum}`);
    if (this.weightDecay < 0) throw new Error(`SGD: weightDecay must be >= 0, got ${this.weightDecay}`);
  }

  /** One update of every named variable that has a gradient (gradients are not disposed). */
  step(variables: Map<string, tf.Variable>, gradients: Map<string, tf.Tensor>): void {
    for (const [name, variable] of variables) {
      const grad = gradients.get(name);
      if (!grad) continue;
      tf.tidy(() => {
        let d = this.weightDecay !== 0 ? tf.add(grad, tf.mul(variable, this.weightDecay)) : grad;
        if (this.momentum !== 0) {
          const buffer = this.buffers.get(name);
          if (!buffer) {
            this.buffers.set(name, tf.variable(tf.clone(d), false));
          } else {
            buffer.assign(tf.add(tf.mul(buffer, this.momentum), d));
          }
          d = this.buffers.get(name) as tf.Variable;
        }
        variable.assign(tf.sub(variable, tf.mul(d, this.lr)));
      });
    }
  }

  /** Momentum buffers by parameter name, for checkpoints (the variables themselves, not copies). */
  state(): ReadonlyMap<string, tf.Variable> {
    return this.buffers;
  }

  /** Restores momentum buffers (values copied) from a checkpoint; replaces any existing buffer. */
  loadState(buffers: ReadonlyMap<string, tf.Tensor>): void {
    for (const [name, value] of buffers) {
      this.buffers.get(name)?.dispose();
      this.buffers.set(name, tf.variable(tf.clone(value), false));
    }
  }

  dispose(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }
}

export interface ScheduleOptions {
  baseLr: number;
  iterationsPerEpoch: number;
  /** Epochs at which the LR is multiplied by gamma (torchvision reference default [16, 22]). */
  milestones?: number[];
  gamma?: number;
  warmupFactor?: number;
  /** Warm-up length cap (the reference uses min(1000, iterations per epoch − 1)). */
  maxWarmupIterations?: number;
}

/** Learning rate for (epoch, iteration within the epoch), both from 0. */
export function detectionLearningRate(options: ScheduleOptions, epoch: number, iteration: number): number {
  const gamma = options.gamma ?? 0.1;
  const milestones = options.milestones ?? [16, 22];
  const decay = gamma ** milestones.filter((m) => m <= epoch).length;
  let warmup = 1;
  const warmupIterations = Math.min(options.maxWarmupIterations ?? 1000, options.iterationsPerEpoch - 1);
  if (epoch === 0 && warmupIterations > 0) {
    const start = options.warmupFactor ?? 1 / 1000;
    warmup = start + ((1 - start) * Math.min(iteration, warmupIterations)) / warmupIterations;
  }
  return options.baseLr * warmup * decay;
}
