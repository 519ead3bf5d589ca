/**
 * Pieces shared by the readers of annotated garments for training (src/ml/data) and evaluation
 * (src/ml/eval): the attribute terms of a garment, and where an image's file is on disk.
 */
import * as path from 'node:path';

/** SQL expression: the garment `g`'s attribute values as a JSON array of {kind, value} (null when none). */
export const GARMENT_TERMS_SQL = `(SELECT json_agg(json_build_object('kind', v.kind, 'value', v.value))
   FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
  WHERE ga.garment_id = g.id)`;

/**
 * Absolute path of an image file: relative to its dataset root, or to `uploadsDir` for images
 * without a dataset; null when the image has no file.
 */
export function imageFilePath(imagePath: string | null, datasetRoot: string | null, uploadsDir?: string): string | null {
  if (imagePath === null) return null;
  return path.resolve(datasetRoot ?? uploadsDir ?? '', imagePath);
}
