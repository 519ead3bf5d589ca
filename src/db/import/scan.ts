/**
 * Walking a K-Fashion tree. The walk streams directory entries (fs.opendir) so that a tree of a
 * million files never sits in memory as one listing; images are indexed by file name once, so
 * matching an annotation to its photo is a map look-up (the seed globbed the tree per file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImageFormat } from '../../images/image-input';
import { isInside } from '../../util/confined-path';
import { fileKind } from '../../util/regular-file';
import type { Split } from '../entities';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);
/** What a photo with one of IMAGE_EXTENSIONS must be by its bytes (--verify-images and the image routes sniff it). */
export const IMPORT_IMAGE_FORMATS: ReadonlySet<ImageFormat> = new Set(['jpeg', 'png']);

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
 * Why a symbolic link is not followed, or null when it leads to a regular file inside the tree
 * (realRoot). A link leading out of it, to a folder (a walk could loop) or to nothing is skipped. The
 * reason never quotes the link's target: the report must not show files outside the tree.
 */
async function symbolicLinkProblem(realRoot: string, fullPath: string): Promise<string | null> {
  const target = await fs.promises.realpath(fullPath).catch(() => null);
  if (target === null) return 'symbolic link to nothing; skipped';
  if (!isInside(realRoot, target)) return 'symbolic link leading outside the dataset folder; not followed';
  const stat = await fs.promises.stat(target).catch(() => null);
  if (!stat) return 'symbolic link whose target cannot be examined; skipped';
  return stat.isFile() ? null : `symbolic link to ${fileKind(stat)}, not a regular file; not followed`;
}

/** A folder to walk, a file to yield, or why the entry is skipped (a FIFO, socket or device, a link symbolicLinkProblem refuses). */
async function classifyEntry(realRoot: string, fullPath: string, entry: fs.Dirent): Promise<'directory' | 'file' | { skipped: string }> {
  if (entry.isDirectory()) return 'directory';
  if (entry.isFile()) return 'file';
  // Some file systems give no entry types: lstat tells.
  const stat = entry.isSymbolicLink() ? entry : await fs.promises.lstat(fullPath).catch(() => null);
  if (!stat) return { skipped: 'entry cannot be examined; skipped' };
  if (stat.isDirectory()) return 'directory';
  if (stat.isFile()) return 'file';
  if (!stat.isSymbolicLink()) return { skipped: `${fileKind(stat)}, not a regular file; skipped` };
  const problem = await symbolicLinkProblem(realRoot, fullPath);
  return problem === null ? 'file' : { skipped: problem };
}

/**
 * Every regular file under `root` (and every symbolic link to one inside it), as paths relative to
 * it with '/' separators, in a stable order. An entry whose name is not valid UTF-8 (Korean zip
 * archives unpacked on Linux: Node cannot name it back), a subdirectory that cannot be opened, and
 * every entry classifyEntry skips are given to `onSkipped` and left out; the walk goes on.
 */
export async function* walkFiles(
  root: string,
  relativeDir = '',
  onSkipped: (entry: SkippedEntry) => void = () => {},
  realRoot?: string,
): AsyncGenerator<string> {
  let directory: fs.Dir;
  try {
    directory = await fs.promises.opendir(path.join(root, relativeDir));
  } catch (error) {
    if (relativeDir === '') throw error;
    return onSkipped({ path: relativeDir, reason: `directory cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
  }
  realRoot ??= await fs.promises.realpath(root);
  const subdirectories: string[] = [];
  for await (const entry of directory) {
    const relative = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
    if (entry.name.includes('\uFFFD')) {
      onSkipped({ path: relative, reason: 'name is not valid UTF-8 (unpack the archive with its encoding, e.g. unzip -O cp949)' });
      continue;
    }
    const kind = await classifyEntry(realRoot, path.join(root, relative), entry);
    if (kind === 'directory') subdirectories.push(relative);
    else if (kind === 'file') yield relative;
    else onSkipped({ path: relative, reason: kind.skipped });
  }
  // Directories after files, sorted, so two walks of an unchanged tree visit files in the same order.
  subdirectories.sort();
  for (const subdirectory of subdirectories) yield* walkFiles(root, subdirectory, onSkipped, realRoot);
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
