/**
 * The one way images are decoded, for untrusted uploads and for files on disk alike: the format is
 * recognised from the first bytes (JPEG, PNG, WebP; a caller may accept fewer) before anything is
 * handed to a decoder, the header's size and sample depth are checked against a memory budget before a
 * pixel is decoded, the decoder is bounded in pixels and in time, and at most maxConcurrentDecodes()
 * run at once. So no input can make a process parse arbitrary formats (an SVG named .jpg), allocate
 * an unbounded bitmap, or fill libuv's four threads (every file and DNS call of the process waits on them).
 */
import { maxConcurrentDecodes } from './decode-concurrency';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { NotRegularFileError, openRegularFile, type OpenRegularFile } from '../util/regular-file';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export const ALL_IMAGE_FORMATS: ReadonlySet<ImageFormat> = new Set(['jpeg', 'png', 'webp']);

/**
 * Largest image decoded, in 8-bit samples per channel: 40 megapixels at 8 bits, 20 at 16 bits
 * (a 16-bit sample takes twice the memory and about twice the time).
 */
export const MAX_INPUT_PIXELS = 40_000_000;
/** Largest image file read: a photo is a few MB (uploads: 20 MB); a bigger file would be read whole by every route. */
export const MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024;
/** A decode still running after this long is abandoned by libvips. */
export const DECODE_TIMEOUT_SECONDS = 20;
export { maxConcurrentDecodes } from './decode-concurrency';

/** Why an image was refused: stable codes that HTTP answers and reports carry. */
export enum ImageErrorCode {
  UnsupportedFormat = 'UNSUPPORTED_IMAGE_FORMAT',
  TooLarge = 'IMAGE_TOO_LARGE',
  Undecodable = 'UNDECODABLE_IMAGE',
  TimedOut = 'IMAGE_DECODE_TIMEOUT',
  NotRegularFile = 'NOT_REGULAR_FILE',
}

/** An image refused or not decodable; the message says why without a path or a library's words beyond the reason. */
export class UnsupportedImageError extends Error {
  constructor(
    message: string,
    readonly code: ImageErrorCode = ImageErrorCode.Undecodable,
  ) {
    super(message);
  }
}

/** Decoded pixels as the model takes them (AttributeRCNN's InputImage): RGB, row-major, 3 bytes per pixel. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** What to do after decoding: resize to exactly this size (aspect not kept), then mirror horizontally. */
export interface DecodeOptions {
  resize?: { width: number; height: number };
  flip?: boolean;
}

/** What the header says, checked against the budget. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** EXIF orientation (1 = upright). */
  orientation: number;
}

/** Recognises JPEG, PNG and WebP by their signatures; null for anything else. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

const BYTES_PER_SAMPLE: Readonly<Record<string, number>> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

function formatNames(formats: ReadonlySet<ImageFormat>): string {
  const names = [...formats].map((format) => (format === 'webp' ? 'WebP' : format.toUpperCase()));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names.join('');
}

/** The format of `bytes` (their first 12 are enough) by signature; UNSUPPORTED_IMAGE_FORMAT unless it is one of `formats`. */
export function requireFormat(bytes: Uint8Array, formats: ReadonlySet<ImageFormat> = ALL_IMAGE_FORMATS): ImageFormat {
  const format = sniffImageFormat(bytes);
  if (format && formats.has(format)) return format;
  throw new UnsupportedImageError(`not a ${formatNames(formats)} image (unrecognised signature)`, ImageErrorCode.UnsupportedFormat);
}

/**
 * The format by signature and the size by header, refused when the format is not in `formats` or
 * the pixels times their sample size exceed MAX_INPUT_PIXELS. Reads the header only.
 */
export async function inspectImage(bytes: Buffer, formats: ReadonlySet<ImageFormat> = ALL_IMAGE_FORMATS): Promise<ImageHeader> {
  const format = requireFormat(bytes, formats);
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch {
    throw new UnsupportedImageError(`cannot decode the ${format} image: its header cannot be read`);
  }
  const { width, height } = metadata;
  if (!width || !height) throw new UnsupportedImageError(`cannot decode the ${format} image: it has no size`);
  const sampleBytes = BYTES_PER_SAMPLE[metadata.depth ?? 'uchar'] ?? 1;
  if (width * height * sampleBytes > MAX_INPUT_PIXELS) {
    const depth = sampleBytes > 1 ? ` at ${sampleBytes * 8} bits per sample` : '';
    throw new UnsupportedImageError(
      `the image has ${width}×${height} pixels${depth}, more than ${MAX_INPUT_PIXELS / 1e6} megapixels at 8 bits`,
      ImageErrorCode.TooLarge,
    );
  }
  return { format, width, height, orientation: metadata.orientation ?? 1 };
}

/** FIFO of waiters for the decode slots. */
class DecodeSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** Read at each decode: the CLI sets the process's thread pool size once, before the first. */
  constructor(private readonly limit: () => number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit()) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next) next();
      else this.running--;
    }
  }
}

const slots = new DecodeSlots(maxConcurrentDecodes);

/** How sharp fails past its timeout (libvips' message "timeout: N% complete"). */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && /timeout/i.test(error.message);
}

/**
 * Checks the header (inspectImage), then runs `work` on a sharp instance of the bytes in a decode
 * slot, bounded in pixels and time. `failOn: 'error'` refuses truncated files instead of decoding
 * their grey remainder. Failures are UnsupportedImageErrors with a code.
 */
export async function withDecodedImage<T>(
  bytes: Buffer,
  work: (image: Sharp, header: ImageHeader) => Promise<T>,
  {
    formats = ALL_IMAGE_FORMATS,
    timeoutSeconds = DECODE_TIMEOUT_SECONDS,
  }: { formats?: ReadonlySet<ImageFormat>; timeoutSeconds?: number } = {},
): Promise<T> {
  const header = await inspectImage(bytes, formats);
  return slots.run(async () => {
    const image = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).timeout({ seconds: timeoutSeconds });
    try {
      return await work(image, header);
    } catch (error) {
      if (error instanceof UnsupportedImageError) throw error;
      if (isTimeout(error))
        throw new UnsupportedImageError(`decoding the ${header.format} image took over ${timeoutSeconds} s`, ImageErrorCode.TimedOut);
      throw new UnsupportedImageError(`cannot decode the ${header.format} image: it is damaged or truncated`);
    }
  });
}

/**
 * Decodes every pixel, so a truncated file is found now rather than in a later thumbnail. sharp's
 * stats() answers no channels, not an error, when libvips gives up on its input (seen for a JPEG cut
 * in half, once in a few runs, while other files were being decoded): that counts as undecodable too.
 */
export async function decodeWhole(image: Sharp): Promise<void> {
  const { channels } = await image.stats();
  if (channels.length === 0) throw new Error('no pixels decoded');
}

/** An image file opened as a regular file only (a FIFO would block a thread for ever): NOT_REGULAR_FILE otherwise. The caller closes it. */
export async function openImageFile(file: string): Promise<OpenRegularFile> {
  try {
    return await openRegularFile(file);
  } catch (error) {
    if (error instanceof NotRegularFileError)
      throw new UnsupportedImageError(`the image is ${error.message}`, ImageErrorCode.NotRegularFile);
    throw error;
  }
}

/**
 * The bytes of an image file (openImageFile) of at most MAX_IMAGE_FILE_BYTES, judged by its size
 * before a byte is read: every route reads a photo whole.
 */
export async function readImageBytes(file: string): Promise<Buffer> {
  const { handle, stat } = await openImageFile(file);
  try {
    if (stat.size > MAX_IMAGE_FILE_BYTES)
      throw new UnsupportedImageError(`the image file has ${stat.size} bytes, more than ${MAX_IMAGE_FILE_BYTES}`, ImageErrorCode.TooLarge);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Decodes to RGB (alpha dropped, grey expanded), pixels as stored; errors say what was wrong, prefixed by `what`. */
export async function decodeImage(
  bytes: Uint8Array,
  what = 'image',
  options: DecodeOptions = {},
): Promise<RgbImage & { format: ImageFormat }> {
  try {
    return await decodeRgb(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), options);
  } catch (error) {
    if (!(error instanceof UnsupportedImageError)) throw error;
    throw new UnsupportedImageError(`${what}: ${error.message}`, error.code);
  }
}

/** Reads and decodes an image file as decodeImage does; errors name the file. */
export async function readImageFile(file: string, options: DecodeOptions = {}): Promise<RgbImage & { format: ImageFormat }> {
  try {
    return await decodeRgb(await readImageBytes(file), options);
  } catch (error) {
    const code = error instanceof UnsupportedImageError ? error.code : ImageErrorCode.Undecodable;
    throw new UnsupportedImageError(`${file}: cannot read image: ${(error as Error).message}`, code);
  }
}

function decodeRgb(bytes: Buffer, options: DecodeOptions): Promise<RgbImage & { format: ImageFormat }> {
  return withDecodedImage(bytes, async (image, { format }) => {
    let pipeline = image.removeAlpha().toColourspace('srgb');
    if (options.resize) pipeline = pipeline.resize(options.resize.width, options.resize.height, { fit: 'fill' });
    if (options.flip) pipeline = pipeline.flop();
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new UnsupportedImageError(`expected 3 channels after conversion, got ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, format };
  });
}
