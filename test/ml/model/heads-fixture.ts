/** What the heads fixtures of tools/reference/heads_reference.py and heads_v2_reference.py share. */
import type { ModelConfig } from '../../../src/ml/model/config';
import type { ImageTargets } from '../../../src/ml/model/roi-heads';

export interface FixtureGarment {
  box: number[];
  label: number;
  attributes: Record<string, number | number[] | null>;
}

/** The inputs both fixtures record: the model config, the padded batch, its images and FPN levels, the ground truth. */
export interface HeadsFixtureInputs {
  config: Record<string, unknown>;
  padded: [number, number];
  image_sizes: [number, number][];
  level_sizes: [number, number][];
  garments: FixtureGarment[][];
}

export function toImageTargets(config: ModelConfig, garments: FixtureGarment[]): ImageTargets {
  return {
    boxes: Float32Array.from(garments.flatMap((g) => g.box)),
    labels: Int32Array.from(garments.map((g) => g.label)),
    attributes: Object.fromEntries(config.attributes.map((spec) => [spec.kind, garments.map((g) => g.attributes[spec.kind])])),
  };
}
