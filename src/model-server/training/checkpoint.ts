/**
 * Training checkpoints: everything a run needs to continue exactly where it stopped, in
 * <KFASHION_DATA_DIR>/checkpoints/run-<id>/step-<n>/:
 *   weights.safetensors    the model (torchvision state_dict names, as every model file)
 *   optimizer.safetensors  SGD momentum buffers, by parameter name (tfjs layout)
 *   state.json             step, epoch, next batch, the frozen label space and config, skipped images
 * A checkpoint is written to a temporary folder and renamed into place, then `latest` is replaced the
 * same way, so a process killed mid-write leaves the previous checkpoint intact. Older ones are pruned.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { AttributeRCNN } from '../../ml/model/attribute-rcnn';
import type { ModelConfig } from '../../ml/model/config';
import type { LabelSpace } from '../../ml/data/dataset';
import type { SkippedImage } from '../../ml/data/loader';
import type { Sgd } from '../../ml/train/sgd';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../ml/weights/safetensors';
import { loadSafetensorsInto, saveSafetensors } from '../../ml/weights/state-dict';

export interface CheckpointState {
  /** optimisation steps done */
  step: number;
  /** where to continue: this epoch, this batch within it */
  epoch: number;
  nextBatch: number;
  labelSpace: LabelSpace;
  config: ModelConfig;
  skipped: SkippedImage[];
  savedAt: string;
}

/** How many checkpoints stay on disk (the newest). */
const KEEP = 2;

export function checkpointDir(dataDir: string, runId: number): string {
  return path.join(dataDir, 'checkpoints', `run-${runId}`);
}

function writeAtomically(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

export function saveCheckpoint(dir: string, model: AttributeRCNN, optimizer: Sgd, state: CheckpointState): string {
  fs.mkdirSync(dir, { recursive: true });
  const name = `step-${state.step}`;
  const tmp = path.join(dir, `.${name}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  saveSafetensors(model.store, path.join(tmp, 'weights.safetensors'));
  const buffers = new Map<string, TensorToWrite>();
  for (const [param, buffer] of optimizer.state()) {
    buffers.set(param, { shape: buffer.shape, data: Float32Array.from(buffer.dataSync() as Float32Array) });
  }
  writeSafetensors(path.join(tmp, 'optimizer.safetensors'), buffers);
  fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(state));
  const final = path.join(dir, name);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  writeAtomically(path.join(dir, 'latest'), name);
  prune(dir, name);
  return final;
}

function prune(dir: string, latest: string): void {
  const steps = fs
    .readdirSync(dir)
    .filter((entry) => /^step-\d+$/.test(entry) && entry !== latest)
    .sort((a, b) => Number(b.slice(5)) - Number(a.slice(5)));
  for (const old of steps.slice(KEEP - 1)) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
}

/** The newest complete checkpoint's state, or null when the run has none. */
export function readLatestCheckpoint(dir: string): { path: string; state: CheckpointState } | null {
  const pointer = path.join(dir, 'latest');
  if (!fs.existsSync(pointer)) return null;
  const folder = path.join(dir, fs.readFileSync(pointer, 'utf8').trim());
  const state = JSON.parse(fs.readFileSync(path.join(folder, 'state.json'), 'utf8')) as CheckpointState;
  return { path: folder, state };
}

/** Loads a checkpoint's weights and momentum buffers into a model built from its config. */
export function restoreCheckpoint(folder: string, model: AttributeRCNN, optimizer: Sgd): void {
  loadSafetensorsInto(model.store, path.join(folder, 'weights.safetensors'));
  const file = readSafetensors(path.join(folder, 'optimizer.safetensors'));
  const trainable = model.store.trainable();
  const buffers = new Map<string, tf.Tensor>();
  try {
    for (const [param, entry] of file.tensors) {
      const variable = trainable.get(param);
      if (!variable) throw new Error(`${folder}: optimizer state for "${param}", which is not a trainable parameter`);
      if (variable.shape.join() !== entry.shape.join()) {
        throw new Error(`${folder}: optimizer state for "${param}" has shape [${entry.shape}] but the parameter has [${variable.shape}]`);
      }
      buffers.set(param, tf.tensor(entry.data, entry.shape, 'float32'));
    }
    optimizer.loadState(buffers);
  } finally {
    tf.dispose([...buffers.values()]);
  }
}
