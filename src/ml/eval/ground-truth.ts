/**
 * Ground truth for `kfashion eval`, in a model's label space, from annotated images as the readers
 * give them (a database split: src/db/training-examples.ts; a K-Fashion folder:
 * src/db/annotation-folder.ts).
 *
 * A garment's class is the index of its category (Korean, as stored) in the config's class_names; a
 * model whose classes are the four slots (TOP/BOTTOM/OUTER/ONE_PIECE, or 상의/하의/아우터/원피스) gets
 * the slot instead. Garments of no class are left out and counted (`garmentsOutsideLabelSpace`): the
 * model cannot be asked for them. Attribute values are kept as stored, including values the model's
 * vocabulary lacks (those count as wrong, not as unlabelled); a kind with no value is unlabelled (null);
 * multi-label values are sorted (the database and the files list them in different orders).
 */
import { KOREAN_BY_SUPER_CATEGORY, type SuperCategory } from '../../kfashion/types';
import type { AttributeTruth, Box, EvaluationConfig, GroundTruthGarment } from './types';

export interface EvaluationImage {
  /** database id, or the annotation file relative to the folder */
  id: string;
  /** absolute image path, null when the image has no file */
  path: string | null;
  width: number;
  height: number;
  garments: GroundTruthGarment[];
}

export interface GroundTruthSet {
  images: EvaluationImage[];
  garmentsOutsideLabelSpace: number;
  /** annotation files that could not be used (folder mode), with the reason */
  rejectedFiles: { file: string; reason: string }[];
}

export interface LabelledGarment {
  superCategory: SuperCategory;
  category: string | null;
  box: Box;
  terms: { kind: string; value: string }[];
}

/** An image with its annotation garments, as stored (before the label space is applied). */
export interface AnnotatedImage {
  /** database id, or the annotation file relative to the folder */
  id: string;
  /** absolute image path, null when the image has no file */
  path: string | null;
  width: number;
  height: number;
  garments: LabelledGarment[];
}

/** The class label of a garment in the config's label space, or undefined. */
export function classLabel(classNames: string[], category: string | null, superCategory: SuperCategory): number | undefined {
  for (const name of [category, superCategory, KOREAN_BY_SUPER_CATEGORY[superCategory]]) {
    const index = name === null ? -1 : classNames.indexOf(name);
    if (index >= 1) return index;
  }
  return undefined;
}

function truthAttributes(config: EvaluationConfig, terms: { kind: string; value: string }[]): Record<string, AttributeTruth> {
  return Object.fromEntries(
    config.attributes.map((spec) => {
      const values = [...new Set(terms.filter((t) => t.kind === spec.kind).map((t) => t.value))];
      if (values.length === 0) return [spec.kind, null];
      return [spec.kind, spec.type === 'single' ? values[0] : values.sort()];
    }),
  );
}

/** Garments in the label space; returns how many were outside it. */
function toTruth(config: EvaluationConfig, garments: LabelledGarment[], into: GroundTruthGarment[]): number {
  let outside = 0;
  for (const g of garments) {
    const label = classLabel(config.classNames, g.category, g.superCategory);
    if (label === undefined) outside++;
    else into.push({ box: g.box, label, attributes: truthAttributes(config, g.terms) });
  }
  return outside;
}

/** The images' garments in the label space; garments of no class are left out and counted. */
export function groundTruthOf(
  images: AnnotatedImage[],
  config: EvaluationConfig,
  rejectedFiles: GroundTruthSet['rejectedFiles'] = [],
): GroundTruthSet {
  let outside = 0;
  const truth = images.map((image): EvaluationImage => {
    const garments: GroundTruthGarment[] = [];
    outside += toTruth(config, image.garments, garments);
    return { id: image.id, path: image.path, width: image.width, height: image.height, garments };
  });
  return { images: truth, garmentsOutsideLabelSpace: outside, rejectedFiles };
}
