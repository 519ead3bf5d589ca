/**
 * Walking a K-Fashion tree. The walk streams directory entries (fs.opendir) so that a tree of a
 * million files never sits in memory as one listing; images are indexed by file name once, so
 * matching an annotation to its photo is a map look-up (the seed globbed the tree per file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Split } from '../entities';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

export function isAnnotationFile(name: string): boolean {
  return path.extname(name).toLowerCase() === '.json';
}

/** A directory entry the walk could not use, and why. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

/**
 * Every regular file under `root`, as paths relative to it with '/' separators, in a stable order.
 * An entry whose name is not valid UTF-8 (Korean zip archives unpacked on Linux: Node cannot name
 * it back) or a subdirectory that cannot be opened is given to `onSkipped` and left out; the walk goes on.
 */
export async function* walkFiles(root: string, relativeDir = '', onSkipped: (entry: SkippedEntry) => void = () => {}): AsyncGenerator<string> {
  let directory: fs.Dir;
  try {
    directory = await fs.promises.opendir(path.join(root, relativeDir));
  } catch (error) {
    if (relativeDir === '') throw error;
    return onSkipped({ path: relativeDir, reason: `directory cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
  }
  const subdirectories: string[] = [];
  for await (const entry of directory) {
    const relative = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
    if (entry.name.includes('\uFFFD')) onSkipped({ path: relative, reason: 'name is not valid UTF-8 (unpack the archive with its encoding, e.g. unzip -O cp949)' });
    else if (entry.isDirectory()) subdirectories.push(relative);
    else if (entry.isFile() || entry.isSymbolicLink()) yield relative;
  }
  // Directories after files, sorted, so two walks of an unchanged tree visit files in the same order.
  subdirectories.sort();
  for (const subdirectory of subdirectories) yield* walkFiles(root, subdirectory, onSkipped);
}

/**
 * Image files of a tree by lower-cased file name. A name found in several folders keeps every
 * path; `find` then prefers the one closest to the annotation (K-Fashion repeats a layout per
 * style folder, so the nearest namesake is the annotation's own photo).
 */
export class ImageIndex {
  private readonly first = new Map<string, string>();
  private readonly more = new Map<string, string[]>();

  add(relativePath: string): void {
    const key = path.posix.basename(relativePath).toLowerCase();
    const existing = this.first.get(key);
    if (existing === undefined) this.first.set(key, relativePath);
    else this.more.set(key, [...(this.more.get(key) ?? [existing]), relativePath]);
  }

  get size(): number {
    return this.first.size;
  }

  find(fileName: string, nearAnnotation: string): string | null {
    const key = fileName.toLowerCase();
    const candidates = this.more.get(key);
    if (!candidates) return this.first.get(key) ?? null;
    let best = candidates[0];
    let bestShared = -1;
    for (const candidate of candidates) {
      const shared = sharedPrefixSegments(candidate, nearAnnotation);
      if (shared > bestShared) [best, bestShared] = [candidate, shared];
    }
    return best;
  }
}

function sharedPrefixSegments(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  let shared = 0;
  while (shared < left.length - 1 && shared < right.length - 1 && left[shared] === right[shared]) shared++;
  return shared;
}

export interface TreeSummary {
  images: ImageIndex;
  annotationFiles: number;
  /** Entries left out of the walk (the second pass leaves out the same ones). */
  skipped: SkippedEntry[];
}

/** First pass: index the images and count the annotation files (for progress and ETA). */
export async function summariseTree(root: string, signal?: AbortSignal): Promise<TreeSummary> {
  const images = new ImageIndex();
  let annotationFiles = 0;
  const skipped: SkippedEntry[] = [];
  for await (const file of walkFiles(root, '', (entry) => skipped.push(entry))) {
    if (isAnnotationFile(file)) annotationFiles++;
    else if (isImageFile(file)) images.add(file);
    signal?.throwIfAborted();
  }
  return { images, annotationFiles, skipped };
}

/** Second pass: the annotation files, streamed. */
export async function* annotationFiles(root: string): AsyncGenerator<string> {
  for await (const file of walkFiles(root)) if (isAnnotationFile(file)) yield file;
}

const SPLIT_BY_SEGMENT: Readonly<Record<string, Split>> = {
  training: 'train',
  train: 'train',
  validation: 'validation',
  val: 'validation',
};

/**
 * Split of a file from the nearest Training/Validation folder on its path. The root's own name
 * counts too, so importing `/data/K-Fashion/Validation` directly still gives `validation`.
 */
export function splitFromPath(rootName: string, relativePath: string): Split | null {
  const segments = [rootName, ...relativePath.split('/').slice(0, -1)];
  for (let i = segments.length - 1; i >= 0; i--) {
    const split = SPLIT_BY_SEGMENT[segments[i].toLowerCase()];
    if (split) return split;
  }
  return null;
}
