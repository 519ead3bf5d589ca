/**
 * The per-file stage of an import after parsing: find the photo, check it if asked, fingerprint
 * the file. Never throws (every failure becomes a rejection naming the file), so one bad file
 * cannot stop the run.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import {
  decodeWhole,
  ImageErrorCode,
  type ImageHeader,
  inspectImage,
  readImageBytes,
  UnsupportedImageError,
  withDecodedImage,
} from '../../images/image-input';
import type { Split } from '../entities';
import { checkColumns } from './column-check';
import type { ImportAnnotation, ParsedFile } from './parse-file';
import { fileRejection, problemLines, ReportLine } from './report';
import { ImageIndex, IMPORT_IMAGE_FORMATS, splitFromPath } from './scan';

export interface ReadContext {
  /** Absolute root of the tree. */
  root: string;
  images: ImageIndex;
  /** Split forced by the caller; otherwise taken from the path. */
  split?: Split;
  verifyImages: boolean;
  /** Import an annotation whose photo is not in the tree (image_path NULL) instead of rejecting it. */
  allowMissingImages: boolean;
}

/** A file ready to be written: its annotation, its photo and the problems it had on the way. */
export interface ReadyFile {
  ok: true;
  file: string;
  annotation: ImportAnnotation;
  /** Matched photo, relative to the root; null only with allowMissingImages. */
  imagePath: string | null;
  split: Split | null;
  /** Fingerprint of the JSON bytes, the matched photo and the split: equal → nothing to write. */
  hash: string;
  lines: ReportLine[];
  garmentsRejected: number;
  garmentsRepaired: number;
}

export interface RejectedFile {
  ok: false;
  file: string;
  lines: ReportLine[];
}

export type ReadOutcome = ReadyFile | RejectedFile;

function reject(file: string, field: string, reason: string): RejectedFile {
  return { ok: false, file, lines: [fileRejection(file, [{ field, reason }])] };
}

/** Names to look for, in order: the JSON's 이미지 파일명, then the seed's `{이미지 식별자}.jpg` (and kin). */
export function imageCandidates(annotation: Pick<ImportAnnotation, 'fileName' | 'externalId'>): string[] {
  const names = [annotation.fileName, ...['.jpg', '.jpeg', '.png'].map((ext) => `${annotation.externalId}${ext}`)];
  return [...new Set(names.filter((name) => name.length > 0))];
}

/** Content digest + matched photo + split: a newly found photo or a moved file counts as a change. */
export function annotationHash(contentDigest: string, imagePath: string | null, split: Split | null): string {
  return createHash('sha1')
    .update(`${contentDigest}\0${imagePath ?? ''}\0${split ?? ''}`)
    .digest('hex');
}

/** The photo's stored size, and its upright size when its EXIF orientation turns it a quarter. */
function photoSizes(header: ImageHeader): [number, number][] {
  const sizes: [number, number][] = [[header.width, header.height]];
  if (header.orientation >= 5) sizes.push([header.height, header.width]);
  return sizes;
}

/**
 * The photo is a JPEG or PNG by its bytes (an SVG named .jpg is not), its header's size matches the
 * annotation's, and it decodes whole: the header alone let truncated JPEGs through, and their
 * thumbnail, crop and annotated routes then failed.
 */
async function checkImage(root: string, imagePath: string, annotation: ImportAnnotation): Promise<string | null> {
  let header: ImageHeader;
  let bytes: Buffer;
  try {
    bytes = await readImageBytes(path.join(root, imagePath));
    header = await inspectImage(bytes, IMPORT_IMAGE_FORMATS);
  } catch (error) {
    const reason =
      error instanceof UnsupportedImageError ? error.message : `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    return `image unreadable: ${imagePath}: ${reason}`;
  }
  if (!photoSizes(header).some(([width, height]) => width === annotation.width && height === annotation.height)) {
    return (
      `image ${imagePath} is ${header.width}x${header.height}, which does not match the annotation's ` +
      `이미지 너비 x 이미지 높이 ${annotation.width}x${annotation.height}`
    );
  }
  try {
    await withDecodedImage(bytes, decodeWhole, { formats: IMPORT_IMAGE_FORMATS });
    return null;
  } catch (error) {
    if (error instanceof UnsupportedImageError && error.code !== ImageErrorCode.Undecodable)
      return `image unreadable: ${imagePath}: ${error.message}`;
    return `image ${imagePath} is damaged or truncated: it cannot be decoded whole`;
  }
}

function countGarments(lines: ReportLine[], action: ReportLine['action']): number {
  return lines.filter((line) => line.superCategory !== undefined && line.action === action).length;
}

/** Matches a parsed file to its photo, checks it if asked, and fingerprints it. Never throws. */
export async function finishRead(context: ReadContext, parsedFile: ParsedFile): Promise<ReadOutcome> {
  const { file } = parsedFile;
  if ('error' in parsedFile) return reject(file, '', parsedFile.error);
  const parsed = parsedFile.result;
  if (!parsed.ok) return { ok: false, file, lines: [fileRejection(file, parsed.problems)] };
  const columns = checkColumns(parsed.annotation);
  if (columns.fileProblem) return { ok: false, file, lines: [fileRejection(file, [columns.fileProblem])] };
  const annotation = { ...parsed.annotation, garments: columns.garments, createdAt: columns.createdAt };

  const candidates = imageCandidates(annotation);
  const imagePath = candidates.map((name) => context.images.find(name, file)).find((found) => found !== null) ?? null;
  if (!imagePath && !context.allowMissingImages) {
    return reject(file, '이미지 정보.이미지 파일명', `image not found: tried ${candidates.join(', ')}`);
  }
  if (imagePath && context.verifyImages) {
    const mismatch = await checkImage(context.root, imagePath, annotation);
    if (mismatch) return reject(file, '이미지 정보', mismatch);
  }

  const split = context.split ?? splitFromPath(path.basename(context.root), file);
  const lines = problemLines(file, [...parsed.problems, ...columns.problems]);
  return {
    ok: true,
    file,
    annotation,
    imagePath,
    split,
    hash: annotationHash(parsedFile.contentDigest, imagePath, split),
    lines,
    garmentsRejected: countGarments(lines, 'rejected'),
    garmentsRepaired: countGarments(lines, 'repaired'),
  };
}

/**
 * Maps `work` over `source` with at most `limit` calls in flight, yielding results in source
 * order (so "the later file" of two is well defined). `work` must not reject.
 */
export async function* mapInOrder<T, R>(source: AsyncIterable<T>, limit: number, work: (item: T) => Promise<R>): AsyncGenerator<R> {
  const inFlight: Promise<R>[] = [];
  for await (const item of source) {
    inFlight.push(work(item));
    if (inFlight.length >= limit) yield await inFlight.shift()!;
  }
  while (inFlight.length > 0) yield await inFlight.shift()!;
}
