/**
 * Read and parse one annotation file: the CPU-heavy, self-contained part of an import, run in
 * the parse workers (parse-worker.ts) or, without them, on the main thread. The result is plain
 * data so it can cross a worker boundary.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAnnotation } from '../../kfashion/parse';
import type { ParseResult } from '../../kfashion/types';

export type ParsedFile =
  | { file: string; result: ParseResult; contentDigest: string }
  | { file: string; error: string };

export function parseFileAt(root: string, file: string): ParsedFile {
  let content: Buffer;
  try {
    // Synchronous on purpose: a label file is a few kB, and readFileSync costs a third of
    // fs.promises.readFile's round trips through the thread pool.
    content = fs.readFileSync(path.join(root, file));
  } catch (error) {
    return { file, error: `cannot read the file: ${(error as Error).message}` };
  }
  try {
    const result = parseAnnotation(content, file);
    return { file, result, contentDigest: createHash('sha1').update(content).digest('hex') };
  } catch (error) {
    return { file, error: `parser failed: ${(error as Error).message}` };
  }
}
