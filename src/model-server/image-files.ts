/**
 * Stored images → decoded pixels for the model: the file of an images row is under its dataset's root
 * (image_path relative), or under the uploads folder for images without a dataset (analyzeImage).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { decodeImage, type RgbImage } from '../images/image-input';

export interface StoredImage {
  id: string;
  file: string | null;
  width: number;
  height: number;
}

export async function storedImages(dataSource: DataSource, ids: string[], uploadsDir: string): Promise<StoredImage[]> {
  const rows: { id: string; image_path: string | null; root_path: string | null; width: number; height: number }[] = await dataSource.query(
    `SELECT i.id, i.image_path, d.root_path, i.width, i.height
       FROM images i LEFT JOIN datasets d ON d.id = i.dataset_id
      WHERE i.id IN (SELECT json_array_elements_text($1::json)::bigint) ORDER BY i.id`,
    [JSON.stringify(ids)],
  );
  return rows.map((row) => ({
    id: String(row.id),
    file: row.image_path === null ? null : path.resolve(row.root_path ?? uploadsDir, row.image_path),
    width: row.width,
    height: row.height,
  }));
}

/** Reads and decodes a stored image (format checked from its bytes first). */
export async function readStoredImage(image: StoredImage): Promise<RgbImage> {
  if (!image.file) throw new Error(`image ${image.id} has no file`);
  return decodeImage(await fs.readFile(image.file), image.file);
}
