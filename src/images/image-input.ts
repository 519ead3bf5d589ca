/**
 * Untrusted image bytes → decoded RGB pixels. The format is recognised from the first bytes (JPEG,
 * PNG, WebP) before anything is handed to a decoder, and the decoder is bounded in pixels, so a
 * request cannot make the server parse arbitrary formats or allocate an unbounded bitmap.
 */
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
export async function decodeImage(bytes: Uint8Array, what = 'image'): Promise<RgbImage & { format: ImageFormat }> {
  const format = sniffImageFormat(bytes);
  if (!format) throw new UnsupportedImageError(`${what}: not a JPEG, PNG or WebP image (unrecognised signature)`);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, format };
  } catch (error) {
    throw new UnsupportedImageError(`${what}: cannot decode the ${format} image: ${(error as Error).message}`);
  }
}

/**
 * sharp on an image file or bytes, bounded in pixels like `decodeImage` (sharp's own default bound is
 * about 268 megapixels): for the image routes (thumbnails, crops) and the checks of uploads.
 */
export function boundedImage(input: string | Buffer, options: { failOn?: 'error' | 'warning' } = {}): Sharp {
  return sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, ...options });
}
