/**
 * Which TensorFlow.js kernels the Attribute R-CNN calls, recorded at the engine while the model runs: on a GPU
 * host the model runs on the native `tensorflow` backend of tfjs-node-gpu, whose engine throws "Kernel 'X' not
 * registered for backend 'tensorflow'" for a kernel that backend lacks (there is no fallback to another
 * backend), so the kernels recorded on any backend must all be among the native backend's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AttributeRCNN, type InputImage, type TrainingSample } from '../model/attribute-rcnn';
import { BACKBONES, resolveConfig, type Architecture, type BackboneName, type NormLayer } from '../model/config';
import { Sgd } from '../train/sgd';

type RunKernel = (kernelName: string, ...rest: unknown[]) => unknown;

/**
 * Runs `work` and returns the names of the kernels it called through the engine. Only the outermost calls
 * count: a kernel built from other kernels (the wasm shims of wasm-kernels.ts) calls them through the engine
 * too, and those are the backend's business, not the model's.
 */
export async function recordKernels(work: () => unknown): Promise<Set<string>> {
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const original = engine.runKernel;
  const kernels = new Set<string>();
  let depth = 0;
  engine.runKernel = function recordingRunKernel(this: unknown, kernelName: string, ...rest: unknown[]) {
    if (depth === 0) kernels.add(kernelName);
    depth++;
    try {
      return original.call(this, kernelName, ...rest);
    } finally {
      depth--;
    }
  };
  try {
    await work();
  } finally {
    engine.runKernel = original;
  }
  return kernels;
}

export interface KernelWorkload {
  /** e.g. "resnet50 v2 training (batch_norm)". */
  name: string;
  backbone: BackboneName;
  phase: 'inference' | 'training';
  run(): Promise<void>;
}

/** Small enough that ResNet-101's training step takes seconds on the wasm backend, big enough for every FPN level. */
const IMAGE_SIZE = 64;

function workloadConfig(backbone: BackboneName, architecture: Architecture, normLayer: NormLayer, trainableLayers: number) {
  return resolveConfig(
    {
      backbone,
      architecture,
      norm_layer: normLayer,
      trainable_backbone_layers: trainableLayers,
      class_names: ['__background__', 'top', 'bottom'],
      attributes: [
        { kind: 'color', type: 'single', values: ['red', 'blue'] },
        { kind: 'print', type: 'multi', values: ['stripe', 'dot'] },
      ],
      min_size: IMAGE_SIZE,
      max_size: IMAGE_SIZE,
      representation_size: 16,
      fpn_out_channels: 16,
      rpn_pre_nms_top_n_train: 100,
      rpn_post_nms_top_n_train: 30,
      rpn_pre_nms_top_n_test: 100,
      rpn_post_nms_top_n_test: 30,
      box_batch_size_per_image: 16,
      // Every proposal reaches the box head's post-processing, so that its kernels run too.
      box_score_thresh: 0,
    },
    'kernel workload config',
  );
}

/** Two images of different sizes (padding in the batch), each with two garments. */
function samples(): TrainingSample[] {
  return [IMAGE_SIZE, IMAGE_SIZE - 12].map((size, i) => {
    const data = new Uint8Array(size * size * 3);
    for (let k = 0; k < data.length; k++) data[k] = (k * 31 + i * 17) % 256;
    return {
      image: { data, width: size, height: size } satisfies InputImage,
      garments: [
        { box: [4, 6, size / 2, size - 8], label: 1, attributes: { color: 0, print: [1] } },
        { box: [size / 2, 2, size - 3, size / 2], label: 2, attributes: { color: 1, print: [0, 1] } },
      ],
    };
  });
}

function inference(backbone: BackboneName, architecture: Architecture): KernelWorkload {
  return {
    name: `${backbone} ${architecture} inference`,
    backbone,
    phase: 'inference',
    run: async () => {
      const model = AttributeRCNN.create(workloadConfig(backbone, architecture, 'frozen_batch_norm', 3), 1);
      try {
        await model.predict(samples().map((s) => s.image));
      } finally {
        model.dispose();
      }
    },
  };
}

/** Two steps: the first creates the momentum buffers, the second updates them. */
function training(backbone: BackboneName, architecture: Architecture, normLayer: NormLayer, trainableLayers: number): KernelWorkload {
  return {
    name: `${backbone} ${architecture} training (${normLayer}, ${trainableLayers} trainable stages, gradient clipping)`,
    backbone,
    phase: 'training',
    run: async () => {
      const model = AttributeRCNN.create(workloadConfig(backbone, architecture, normLayer, trainableLayers), 2);
      const optimizer = new Sgd({ lr: 0.001, momentum: 0.9, weightDecay: 1e-4 });
      try {
        for (let step = 0; step < 2; step++) model.trainStep(samples(), optimizer, { clipGradNorm: 10 });
      } finally {
        optimizer.dispose();
        model.dispose();
      }
    },
  };
}

/**
 * Every path of the model the CLI can take, per backbone: inference on v1 and v2, and a training step on v1
 * with pretrained-style frozen norms (torchvision's default 3 trainable stages), on v1 trained from scratch
 * (batch_norm, every stage trained: the stem's max-pool gradient too) and on v2.
 */
export function kernelWorkloads(backbones: readonly BackboneName[] = BACKBONES): KernelWorkload[] {
  return backbones.flatMap((backbone) => [
    inference(backbone, 'v1'),
    inference(backbone, 'v2'),
    training(backbone, 'v1', 'frozen_batch_norm', 3),
    training(backbone, 'v1', 'batch_norm', 5),
    training(backbone, 'v2', 'batch_norm', 5),
  ]);
}

/** The recorded kernels that `available` lacks, sorted. */
export function missingKernels(used: Iterable<string>, available: Iterable<string>): string[] {
  const have = new Set(available);
  return [...new Set(used)].filter((name) => !have.has(name)).sort();
}
