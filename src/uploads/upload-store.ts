/**
 * Photos uploaded for analysis, on disk under `<data dir>/uploads/`.
 *
 * An upload is first *staged* (`uploads/.staging/<upload id>.<ext>`): streamed to disk within the
 * byte bound, recognised by its first bytes, fully decoded (a truncated file fails here, not later in
 * a thumbnail), turned upright by its EXIF orientation (phone photos are stored sideways with an
 * orientation tag), and bounded in pixels. Only when an analysis of it succeeds is it *kept*, renamed
 * to `uploads/<sha256>.<ext>` (content-addressed: the same photo twice is one file) in the same step
 * that records its image row; a refused or failed analysis discards it. Staged files nobody analysed
 * are swept after an hour, so abandoned uploads leave nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { uploadsDir } from '../util/data-dir';
import { readRegularFile } from '../util/regular-file';
import {
  decodeWhole,
  ImageErrorCode,
  inspectImage,
  sniffImageFormat,
  UnsupportedImageError,
  withDecodedImage,
  type ImageFormat,
} from '../images/image-input';

export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
const STAGED_LIFETIME_MS = 60 * 60 * 1000;
const UPLOAD_ID = /^[0-9a-f]{32}$/;

/** Whether `text` has the form of the ids `stage` gives uploads (32 hex digits). */
export function isUploadId(text: string): boolean {
  return UPLOAD_ID.test(text);
}
const EXTENSION: Record<ImageFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp' };

/** Why an upload was refused; `status` is the HTTP answer (413 too large, 415 not an image, 400 undecodable, 422 too slow to decode). */
export class UploadRejected extends Error {
  constructor(
    readonly status: 400 | 413 | 415 | 422,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StagedUpload {
  uploadId: string;
  format: ImageFormat;
  /** Upright size (after the EXIF orientation). */
  width: number;
  height: number;
  file: string;
}

/** Counts bytes through the stream and fails past the bound; checks the signature of the first bytes. */
function guard(maxBytes: number, onFormat: (format: ImageFormat) => void): Transform {
  let size = 0;
  let head = Buffer.alloc(0);
  let sniffed = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > maxBytes) return callback(new UploadRejected(413, 'UPLOAD_TOO_LARGE', `the photo is larger than ${maxBytes} bytes`));
      if (!sniffed) {
        head = Buffer.concat([head, chunk]);
        if (head.length >= 12) {
          sniffed = true;
          const format = sniffImageFormat(head);
          if (!format) return callback(new UploadRejected(415, 'UNSUPPORTED_MEDIA_TYPE', 'not a JPEG, PNG or WebP image'));
          onFormat(format);
        }
      }
      callback(null, chunk);
    },
    flush(callback) {
      if (!sniffed) return callback(new UploadRejected(415, 'UNSUPPORTED_MEDIA_TYPE', 'not a JPEG, PNG or WebP image (too short)'));
      callback();
    },
  });
}

/** The upload's answer to an image refused by the decoder (the upload codes predate ImageErrorCode and clients rely on them). */
function uploadRejection(error: UnsupportedImageError, format: ImageFormat): UploadRejected {
  switch (error.code) {
    case ImageErrorCode.TooLarge:
      return new UploadRejected(413, 'UPLOAD_TOO_LARGE', error.message);
    case ImageErrorCode.UnsupportedFormat:
      return new UploadRejected(415, 'UNSUPPORTED_MEDIA_TYPE', 'not a JPEG, PNG or WebP image');
    case ImageErrorCode.TimedOut:
      return new UploadRejected(422, error.code, error.message);
    default:
      return new UploadRejected(400, 'UNDECODABLE_IMAGE', `the ${format} image is damaged or truncated`);
  }
}

export class UploadStore {
  readonly dir: string;
  private readonly stagingDir: string;

  constructor(dataDir: string) {
    this.dir = uploadsDir(path.resolve(dataDir));
    this.stagingDir = path.join(this.dir, '.staging');
  }

  /** Streams a photo to the staging folder, checks and decodes it, applies its orientation. */
  async stage(body: Readable, maxBytes = MAX_UPLOAD_BYTES): Promise<StagedUpload> {
    await fs.promises.mkdir(this.stagingDir, { recursive: true });
    void this.sweep();
    const uploadId = randomBytes(16).toString('hex');
    const received = path.join(this.stagingDir, `${uploadId}.received`);
    let format: ImageFormat | null = null;
    try {
      await pipeline(
        body,
        guard(maxBytes, (found) => (format = found)),
        fs.createWriteStream(received, { mode: 0o600 }),
      );
      const file = path.join(this.stagingDir, `${uploadId}.${EXTENSION[format!]}`);
      const size = await this.upright(received, file, format!);
      return { uploadId, format: format!, file, ...size };
    } catch (error) {
      await this.discard(uploadId);
      throw error;
    } finally {
      await fs.promises.rm(received, { force: true });
    }
  }

  /**
   * Decodes the whole image (so truncation is found now) and writes it upright. The header is checked
   * first (signature, pixels × sample depth), so an oversized photo is refused before it is decoded.
   */
  private async upright(received: string, file: string, format: ImageFormat): Promise<{ width: number; height: number }> {
    const bytes = await readRegularFile(received);
    try {
      return await withDecodedImage(bytes, async (image, header) => {
        if (header.orientation <= 1) {
          await decodeWhole(image);
          await fs.promises.rename(received, file);
          return { width: header.width, height: header.height };
        }
        // Re-encoded upright at high quality; the orientation tag is not carried over (it is applied).
        const info = await image
          .rotate()
          .toFormat(format, format === 'png' ? {} : { quality: 92 })
          .toFile(file);
        return { width: info.width, height: info.height };
      });
    } catch (error) {
      if (!(error instanceof UnsupportedImageError)) throw error;
      throw uploadRejection(error, format);
    }
  }

  /** The staged upload of this id; null when unknown or swept. */
  async staged(uploadId: string): Promise<StagedUpload | null> {
    if (!UPLOAD_ID.test(uploadId)) return null;
    for (const [format, extension] of Object.entries(EXTENSION) as [ImageFormat, string][]) {
      const file = path.join(this.stagingDir, `${uploadId}.${extension}`);
      const header = await readRegularFile(file)
        .then((bytes) => inspectImage(bytes, new Set([format])))
        .catch(() => null);
      if (header) return { uploadId, format, width: header.width, height: header.height, file };
    }
    return null;
  }

  /**
   * Moves a staged upload to its content-addressed place; returns its path relative to `dir` and
   * whether the file is new there (a caller whose row write fails removes a new file again).
   */
  async keep(upload: StagedUpload): Promise<{ relativePath: string; created: boolean }> {
    const digest = createHash('sha256')
      .update(await readRegularFile(upload.file))
      .digest('hex');
    const relativePath = `${digest}.${EXTENSION[upload.format]}`;
    const target = path.join(this.dir, relativePath);
    const created = !fs.existsSync(target);
    if (created) await fs.promises.rename(upload.file, target);
    else await fs.promises.rm(upload.file, { force: true });
    return { relativePath, created };
  }

  async remove(relativePath: string): Promise<void> {
    await fs.promises.rm(path.join(this.dir, path.basename(relativePath)), { force: true });
  }

  async discard(uploadId: string): Promise<void> {
    if (!UPLOAD_ID.test(uploadId)) return;
    const names = await fs.promises.readdir(this.stagingDir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((name) => name.startsWith(`${uploadId}.`))
        .map((name) => fs.promises.rm(path.join(this.stagingDir, name), { force: true })),
    );
  }

  /** Removes staged files older than their lifetime. */
  async sweep(now = Date.now()): Promise<void> {
    const names = await fs.promises.readdir(this.stagingDir).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(this.stagingDir, name);
      const stat = await fs.promises.stat(file).catch(() => null);
      if (stat && now - stat.mtimeMs > STAGED_LIFETIME_MS) await fs.promises.rm(file, { force: true });
    }
  }
}
