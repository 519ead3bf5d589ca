/**
 * Read and parse one annotation file: the CPU-heavy, self-contained part of an import, run in
 * the parse workers (parse-worker.ts) or, without them, on the main thread. The result is plain
 * data so it can cross a worker boundary.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAnnotation } from '../../kfashion/parse';
import { openRegularFileSync } from '../../util/regular-file';
import type { AnnotationProblem, ParsedAnnotation, ParsedGarment } from '../../kfashion/types';

/**
 * A parsed garment with its polygon flattened into one Float64Array [x0, y0, x1, y1, …] (null
 * when it has none): a point is no longer an object, which keeps the worker messages and the
 * batches held in memory small. That flat form is also what garments.polygon stores.
 */
export type ImportGarment = Omit<ParsedGarment, 'polygon'> & { polygon: Float64Array | null };
export type ImportAnnotation = Omit<ParsedAnnotation, 'garments'> & { garments: ImportGarment[] };
export type ImportParseResult =
  { ok: true; annotation: ImportAnnotation; problems: AnnotationProblem[] } | { ok: false; problems: AnnotationProblem[] };

export type ParsedFile = { file: string; result: ImportParseResult; contentDigest: string } | { file: string; error: string };

function flattenPolygon(garment: ParsedGarment): ImportGarment {
  const { polygon, ...rest } = garment;
  if (polygon.length === 0) return { ...rest, polygon: null };
  const flat = new Float64Array(polygon.length * 2);
  polygon.forEach((point, i) => {
    flat[2 * i] = point.x;
    flat[2 * i + 1] = point.y;
  });
  return { ...rest, polygon: flat };
}

/** Largest annotation file read by default: real ones are a few kB; a 50 MB one would exhaust a parse worker's heap. */
export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;

export function parseFileAt(root: string, file: string, maxFileBytes = DEFAULT_MAX_FILE_BYTES): ParsedFile {
  let content: Buffer;
  let fd: number | undefined;
  try {
    // Opened as a regular file only (a FIFO would block this thread, and with it the import, forever).
    const opened = openRegularFileSync(path.join(root, file));
    fd = opened.fd;
    // Judged by its size before a byte is read: parsing a huge file could exhaust the worker's heap.
    const { size } = opened.stat;
    if (size > maxFileBytes) return { file, error: `the file is ${size} bytes, more than the limit of ${maxFileBytes} (--max-file-bytes)` };
    // Synchronous on purpose: a label file is a few kB, and readFileSync costs a third of
    // fs.promises.readFile's round trips through the thread pool.
    content = fs.readFileSync(fd);
  } catch (error) {
    return { file, error: `cannot read the file: ${(error as Error).message}` };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  try {
    const parsed = parseAnnotation(content, file);
    const result: ImportParseResult = parsed.ok
      ? { ...parsed, annotation: { ...parsed.annotation, garments: parsed.annotation.garments.map(flattenPolygon) } }
      : parsed;
    return { file, result, contentDigest: createHash('sha1').update(content).digest('hex') };
  } catch (error) {
    return { file, error: `parser failed: ${(error as Error).message}` };
  }
}
