/**
 * The annotated images of a K-Fashion folder, read as the importer reads them (its walk, its parser,
 * its rules for finding an annotation's photo), without touching the database: `kfashion eval` judges a
 * model on a folder that was never imported.
 */
import { readRegularFile } from '../util/regular-file';
import * as path from 'node:path';
import { parseAnnotation } from '../kfashion/parse';
import { imageCandidates } from './import/read';
import { annotationFiles, summariseTree } from './import/scan';
import type { AnnotatedImage } from '../ml/eval/ground-truth';

export interface AnnotatedFolder {
  images: AnnotatedImage[];
  /** annotation files that could not be used, with the reason */
  rejectedFiles: { file: string; reason: string }[];
}

/** The annotation files of the folder (walk order, at most `maxImages`) with their photos. */
export async function annotatedFolderImages(root: string, options: { maxImages?: number } = {}): Promise<AnnotatedFolder> {
  const tree = await summariseTree(root);
  const result: AnnotatedFolder = { images: [], rejectedFiles: [] };
  for await (const file of annotationFiles(root)) {
    if (options.maxImages !== undefined && result.images.length >= options.maxImages) break;
    const parsed = parseAnnotation(await readRegularFile(path.join(root, file)), file);
    if (!parsed.ok) {
      result.rejectedFiles.push({ file, reason: parsed.problems.map((p) => `${p.field}: ${p.reason}`).join('; ') });
      continue;
    }
    const { annotation } = parsed;
    const image = imageCandidates(annotation)
      .map((name) => tree.images.find(name, file))
      .find((found) => found !== null);
    if (!image) {
      result.rejectedFiles.push({ file, reason: `image not found (${imageCandidates(annotation).join(', ')})` });
      continue;
    }
    result.images.push({
      id: file,
      path: path.join(root, image),
      width: annotation.width,
      height: annotation.height,
      garments: annotation.garments.map((g) => ({
        superCategory: g.superCategory,
        category: g.category,
        box: [g.box.x1, g.box.y1, g.box.x2, g.box.y2],
        terms: g.attributes,
      })),
    });
  }
  return result;
}
