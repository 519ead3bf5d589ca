/**
 * The one way images are decoded, for untrusted uploads and for files on disk alike: the format is
 * recognised from the first bytes (JPEG, PNG, WebP) before anything is handed to a decoder, and the
 * decoder is bounded in pixels, so no input can make a process parse arbitrary formats or allocate an
 * unbounded bitmap.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** Largest decoded image accepted (pixels): 40 megapixels. */
export const MAX_INPUT_PIXELS = 40_000_000;

export class UnsupportedImageError extends Error {}

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

/** Recognises JPEG, PNG and WebP by their signatures; null for anything else. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

/** Decodes to RGB (alpha dropped, grey expanded), pixels as stored; errors say what was wrong. */
export async function decodeImage(bytes: Uint8Array, what = 'image', options: DecodeOptions = {}): Promise<RgbImage & { format: ImageFormat }> {
  try {
    return await decodeBounded(bytes, options);
  } catch (error) {
    throw new UnsupportedImageError(`${what}: ${(error as Error).message}`);
  }
}

/** Reads and decodes an image file as decodeImage does; errors name the file. */
export async function readImageFile(file: string, options: DecodeOptions = {}): Promise<RgbImage & { format: ImageFormat }> {
  try {
    return await decodeBounded(await readFile(file), options);
  } catch (error) {
    throw new UnsupportedImageError(`${file}: cannot read image: ${(error as Error).message}`);
  }
}

async function decodeBounded(bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage & { format: ImageFormat }> {
  const format = sniffImageFormat(bytes);
  if (!format) throw new Error('not a JPEG, PNG or WebP image (unrecognised signature)');
  try {
    let pipeline = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).removeAlpha().toColourspace('srgb');
    if (options.resize) pipeline = pipeline.resize(options.resize.width, options.resize.height, { fit: 'fill' });
    if (options.flip) pipeline = pipeline.flop();
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, format };
  } catch (error) {
    throw new Error(`cannot decode the ${format} image: ${(error as Error).message}`);
  }
}

/**
 * sharp on an image file or bytes, bounded in pixels like `decodeImage` (sharp's own default bound is
 * about 268 megapixels): for the image routes (thumbnails, crops) and the checks of uploads.
 */
export function boundedImage(input: string | Buffer, options: { failOn?: 'error' | 'warning' } = {}): Sharp {
  return sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, ...options });
}
