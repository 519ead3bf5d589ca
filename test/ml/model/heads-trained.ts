/**
 * The trained fixture model of tools/reference/heads_reference.py (heads_trained.json + .safetensors):
 * the ResNet-18 body follows the formula of heads-formula.ts, the FPN and heads are stored trained.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { InputImage, TrainingSample } from '../../../src/ml/model/attribute-rcnn';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../../src/ml/weights/safetensors';
import { formulaValues } from './heads-formula';

const FIXTURES = path.join(__dirname, '../fixtures');

interface TrainedFixture {
  config: Record<string, unknown>;
  formula_tensors: [string, number[]][];
  images: { width: number; height: number; rgb_base64: string; garments: TrainingSample['garments'] }[];
  detections: { boxes: number[]; scores: number[]; labels: number[]; attributes: Record<string, number[]> }[];
}

export const trainedFixture: TrainedFixture = JSON.parse(readFileSync(path.join(FIXTURES, 'heads_trained.json'), 'utf8'));

/** Writes the fixture model (formula body + trained tensors) as weights + config files in `dir`. */
export function writeTrainedModel(dir: string): { weights: string; config: string } {
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, shape] of trainedFixture.formula_tensors) tensors.set(name, { shape, data: formulaValues(name, shape) });
  for (const [name, entry] of readSafetensors(path.join(FIXTURES, 'heads_trained.safetensors')).tensors) tensors.set(name, entry);
  const weights = path.join(dir, 'shapes.safetensors');
  const config = path.join(dir, 'shapes.json');
  writeSafetensors(weights, tensors);
  writeFileSync(config, JSON.stringify(trainedFixture.config));
  return { weights, config };
}

export function fixtureImages(): InputImage[] {
  return trainedFixture.images.map((image) => ({
    data: new Uint8Array(Buffer.from(image.rgb_base64, 'base64')),
    width: image.width,
    height: image.height,
  }));
}
