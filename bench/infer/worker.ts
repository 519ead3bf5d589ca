/**
 * One bench:infer measuring thread: its own TensorFlow.js backend instance (initBackend in this thread),
 * its own Attribute R-CNN loaded from the bench's safetensors, one image per call. Engine `onnx`: the model runs
 * on ONNX Runtime (src/ml/onnx) with `onnxThreads` intra-op threads, the tfjs backend only doing the transform (resize, normalise, pad).
 *
 * Protocol (run.ts): workerData = WorkerTask → after load and warm-up it posts {type:'ready'}, waits for
 * 'go', runs `runs` calls, posts {type:'done', wall, cpu, output}. CPU seconds are process.cpuUsage()
 * deltas: that counts every thread of the process, which is this worker alone when it runs by itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/ml/backend';
import { AttributeRCNN, type InputImage, type TrainingSample } from '../../src/ml/model/attribute-rcnn';
import { readConfigFile } from '../../src/ml/model/config';
import { OnnxAttributeRCNN, type Predictor } from '../../src/ml/onnx/engine';
import { Sgd } from '../../src/ml/train/sgd';

export interface WorkerTask {
  backend: 'wasm' | 'cpu';
  /** Default tfjs. onnx: inference only. */
  engine?: 'tfjs' | 'onnx';
  onnxThreads?: number;
  mode: 'infer' | 'train';
  directory: string;
  runs: number;
  warmup: number;
}

export interface WorkerDone {
  type: 'done';
  backendDetail: string;
  wall: number[];
  cpu: number[];
  output: Record<string, unknown>;
  numTensors: number;
}

interface InputSpec {
  height: number;
  width: number;
  boxes?: number[][];
  labels?: number[];
  lr?: number;
  momentum?: number;
  weight_decay?: number;
}

function readInput(directory: string, mode: string): { spec: InputSpec; image: InputImage } {
  const spec = JSON.parse(readFileSync(`${directory}/${mode}.json`, 'utf8'));
  const data = new Uint8Array(readFileSync(`${directory}/${mode}.rgb`));
  return { spec, image: { data, width: spec.width, height: spec.height } };
}

/** The call measured: predict (infer) or one SGD step with torch's settings (train). */
function measuredCall(model: Predictor, task: WorkerTask): () => Promise<Record<string, unknown>> {
  const { spec, image } = readInput(task.directory, task.mode);
  if (task.mode === 'infer' || !(model instanceof AttributeRCNN)) {
    return async () => {
      const found = (await model.predict([image]))[0];
      return { detections: found.length, top: found.slice(0, 3).map((d) => [...d.box, d.score, d.label]) };
    };
  }
  const sample: TrainingSample = {
    image,
    garments: (spec.boxes ?? []).map((box, i) => ({ box: box as [number, number, number, number], label: (spec.labels ?? [])[i] })),
  };
  const optimizer = new Sgd({ lr: spec.lr ?? 0, momentum: spec.momentum, weightDecay: spec.weight_decay });
  return async () => ({ losses: model.trainStep([sample], optimizer) });
}

async function main(): Promise<void> {
  const task = workerData as WorkerTask;
  const port = parentPort;
  if (!port) throw new Error('bench/infer/worker.ts must run in a worker thread');
  const info = await initBackend(task.backend, { log: () => undefined });
  const weights = `${task.directory}/weights.safetensors`;
  const configPath = `${task.directory}/${task.mode}.config.json`;
  const model: Predictor =
    task.engine === 'onnx'
      ? await OnnxAttributeRCNN.create(readConfigFile(configPath), weights, { threads: task.onnxThreads, log: () => undefined })
      : await AttributeRCNN.load(weights, configPath);
  const call = measuredCall(model, task);
  for (let i = 0; i < task.warmup; i++) await call();
  const go = new Promise<void>((resolve) => port.once('message', () => resolve()));
  port.postMessage({ type: 'ready' });
  await go;
  const wall: number[] = [];
  const cpu: number[] = [];
  let output: Record<string, unknown> = {};
  for (let i = 0; i < task.runs; i++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    output = await call();
    const used = process.cpuUsage(cpuStart);
    wall.push(Number(process.hrtime.bigint() - start) / 1e9);
    cpu.push((used.user + used.system) / 1e6);
  }
  const engine =
    model instanceof OnnxAttributeRCNN
      ? `ONNX Runtime on ${model.provider.provider}, ${task.onnxThreads ?? 'default'} intra-op threads; the transform on `
      : '';
  const done: WorkerDone = {
    type: 'done',
    backendDetail: `${engine}${info.name}: ${info.detail}`,
    wall,
    cpu,
    output,
    numTensors: tf.memory().numTensors,
  };
  port.postMessage(done);
  model.dispose();
}

main().catch((error) => {
  parentPort?.postMessage({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
});
