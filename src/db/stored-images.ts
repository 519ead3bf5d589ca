/**
 * Where the files of stored images are: under their dataset's root (image_path relative), or under the
 * uploads folder for images without a dataset (analyzeImage).
 */
import * as path from 'node:path';
import type { DataSource } from 'typeorm';

export interface StoredImage {
  id: string;
  /** Absolute path of the file, null when the row has none. */
  file: string | null;
  width: number;
  height: number;
}

/**
 * Absolute path of an image file: relative to its dataset root, or to `uploadsDir` for images
 * without a dataset; null when the image has no file.
 */
export function imageFilePath(imagePath: string | null, datasetRoot: string | null, uploadsDir?: string): string | null {
  if (imagePath === null) return null;
  return path.resolve(datasetRoot ?? uploadsDir ?? '', imagePath);
}

/** The images with these ids (id order; unknown ids are left out). */
export async function storedImages(dataSource: DataSource, ids: string[], uploadsDir: string): Promise<StoredImage[]> {
  const rows: { id: string; image_path: string | null; root_path: string | null; width: number; height: number }[] = await dataSource.query(
    `SELECT i.id, i.image_path, d.root_path, i.width, i.height
       FROM images i LEFT JOIN datasets d ON d.id = i.dataset_id
      WHERE i.id IN (SELECT json_array_elements_text($1::json)::bigint) ORDER BY i.id`,
    [JSON.stringify(ids)],
  );
  return rows.map((row) => ({
    id: String(row.id),
    file: imageFilePath(row.image_path, row.root_path, uploadsDir),
    width: row.width,
    height: row.height,
  }));
}
