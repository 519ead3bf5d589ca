/**
 * Ground truth for `kfashion eval`, in a model's label space, from the database (the annotation
 * garments of one split) or from a K-Fashion folder (its annotation files, parsed as the importer does).
 *
 * A garment's class is the index of its category (Korean, as stored) in the config's class_names; a
 * model whose classes are the four slots (TOP/BOTTOM/OUTER/ONE_PIECE, or 상의/하의/아우터/원피스) gets
 * the slot instead. Garments of no class are left out and counted (`garmentsOutsideLabelSpace`): the
 * model cannot be asked for them. Attribute values are kept as stored, including values the model's
 * vocabulary lacks (those count as wrong, not as unlabelled); a kind with no value is unlabelled (null);
 * multi-label values are sorted (the database and the files list them in different orders).
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { parseAnnotation } from '../../kfashion/parse';
import { KOREAN_BY_SUPER_CATEGORY, type SuperCategory } from '../../kfashion/types';
import { imageCandidates } from '../../db/import/read';
import { annotationFiles, summariseTree } from '../../db/import/scan';
import type { AttributeTruth, Box, EvaluationConfig, GroundTruthGarment } from './types';
import { GARMENT_TERMS_SQL, imageFilePath } from '../../db/garment-rows';

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

interface GarmentRow {
  image_id: string;
  image_path: string | null;
  root_path: string | null;
  width: number;
  height: number;
  super_category: SuperCategory | null;
  category: string | null;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  terms: { kind: string; value: string }[] | null;
}

/**
 * The images of a split (id order, at most `maxImages`) with their annotation garments. Images of the
 * split without garments are included: every detection on them is a false positive.
 */
export async function groundTruthFromDatabase(
  dataSource: DataSource,
  split: 'train' | 'validation',
  config: EvaluationConfig,
  options: { maxImages?: number; uploadsDir?: string } = {},
): Promise<GroundTruthSet> {
  const rows: GarmentRow[] = await dataSource.query(
    `SELECT i.id AS image_id, i.image_path, d.root_path, i.width, i.height,
            g.super_category, c.value AS category, g.x1, g.y1, g.x2, g.y2,
            ${GARMENT_TERMS_SQL} AS terms
       FROM (SELECT * FROM images WHERE split = $1 ORDER BY id LIMIT $2) i
       LEFT JOIN datasets d ON d.id = i.dataset_id
       LEFT JOIN garments g ON g.image_id = i.id AND g.source = 'annotation'
       LEFT JOIN vocabulary c ON c.id = g.category_id
      ORDER BY i.id, g.id`,
    [split, options.maxImages ?? null],
  );
  const images = new Map<string, EvaluationImage>();
  const garments = new Map<string, LabelledGarment[]>();
  for (const row of rows) {
    const id = String(row.image_id);
    if (!images.has(id)) {
      images.set(id, { id, path: imageFilePath(row.image_path, row.root_path, options.uploadsDir), width: row.width, height: row.height, garments: [] });
      garments.set(id, []);
    }
    if (row.super_category === null) continue;
    garments.get(id)?.push({
      superCategory: row.super_category,
      category: row.category,
      box: [row.x1, row.y1, row.x2, row.y2],
      terms: row.terms ?? [],
    });
  }
  let outside = 0;
  for (const image of images.values()) outside += toTruth(config, garments.get(image.id) ?? [], image.garments);
  return { images: [...images.values()], garmentsOutsideLabelSpace: outside, rejectedFiles: [] };
}

/** The annotation files of a K-Fashion folder (walk order, at most `maxImages`) with their photos. */
export async function groundTruthFromDirectory(root: string, config: EvaluationConfig, options: { maxImages?: number } = {}): Promise<GroundTruthSet> {
  const tree = await summariseTree(root);
  const result: GroundTruthSet = { images: [], garmentsOutsideLabelSpace: 0, rejectedFiles: [] };
  for await (const file of annotationFiles(root)) {
    if (options.maxImages !== undefined && result.images.length >= options.maxImages) break;
    const parsed = parseAnnotation(await readFile(path.join(root, file)), file);
    if (!parsed.ok) {
      result.rejectedFiles.push({ file, reason: parsed.problems.map((p) => `${p.field}: ${p.reason}`).join('; ') });
      continue;
    }
    const { annotation } = parsed;
    const image = imageCandidates(annotation).map((name) => tree.images.find(name, file)).find((found) => found !== null);
    if (!image) {
      result.rejectedFiles.push({ file, reason: `image not found (${imageCandidates(annotation).join(', ')})` });
      continue;
    }
    const garments: GroundTruthGarment[] = [];
    result.garmentsOutsideLabelSpace += toTruth(
      config,
      annotation.garments.map((g) => ({ superCategory: g.superCategory, category: g.category, box: [g.box.x1, g.box.y1, g.box.x2, g.box.y2], terms: g.attributes })),
      garments,
    );
    result.images.push({ id: file, path: path.join(root, image), width: annotation.width, height: annotation.height, garments });
  }
  return result;
}
