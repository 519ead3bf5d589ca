/** Untrusted image bytes: recognised by signature before decoding, decoded to RGB, bad input named. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  decodeImage,
  ImageErrorCode,
  inspectImage,
  maxConcurrentDecodes,
  MAX_IMAGE_FILE_BYTES,
  readImageBytes,
  readImageFile,
  sniffImageFormat,
  UnsupportedImageError,
  withDecodedImage,
} from '../../src/images/image-input';
import { samplePath } from '../support/samples';

const SAMPLE = samplePath('100026.jpg');

it('recognises JPEG, PNG and WebP by their first bytes and nothing else', async () => {
  const jpeg = fs.readFileSync(SAMPLE);
  const png = await sharp(jpeg).resize(20, 30).png().toBuffer();
  const webp = await sharp(jpeg).resize(20, 30).webp().toBuffer();
  const gif = await sharp(jpeg).resize(20, 30).gif().toBuffer();
  expect(sniffImageFormat(jpeg)).toBe('jpeg');
  expect(sniffImageFormat(png)).toBe('png');
  expect(sniffImageFormat(webp)).toBe('webp');
  expect(sniffImageFormat(gif)).toBeNull();
  expect(sniffImageFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
  expect(sniffImageFormat(Buffer.alloc(0))).toBeNull();
});

it('decodes to RGB pixels of the stored size (alpha dropped)', async () => {
  const meta = await sharp(SAMPLE).metadata();
  const decoded = await decodeImage(fs.readFileSync(SAMPLE));
  expect([decoded.width, decoded.height, decoded.format]).toEqual([meta.width, meta.height, 'jpeg']);
  expect(decoded.data.length).toBe(meta.width * meta.height * 3);
  const rgba = await sharp({ create: { width: 4, height: 2, channels: 4, background: { r: 200, g: 10, b: 30, alpha: 0.5 } } })
    .png()
    .toBuffer();
  const png = await decodeImage(rgba);
  expect(png.data.length).toBe(4 * 2 * 3);
  expect([png.data[0], png.data[1], png.data[2]]).toEqual([200, 10, 30]);
});

it('refuses other formats before decoding and truncated files when decoding, naming the input', async () => {
  const gif = await sharp(SAMPLE).resize(10, 10).gif().toBuffer();
  await expect(decodeImage(gif, 'upload.gif')).rejects.toThrow(UnsupportedImageError);
  await expect(decodeImage(gif, 'upload.gif')).rejects.toThrow(/upload.gif: not a JPEG, PNG or WebP/);
  const truncated = fs.readFileSync(SAMPLE).subarray(0, 2000);
  await expect(decodeImage(truncated, 'cut.jpg')).rejects.toThrow(/cut.jpg: cannot decode the jpeg image/);
});

describe('bounded decoding (security issue, item 14)', () => {
  /** A 6000 × 6000 16-bit grey PNG of one colour: about 80 KB on disk, 72 MB of samples. */
  const deepPng = () =>
    sharp(Buffer.alloc(6000 * 6000), { raw: { width: 6000, height: 6000, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();

  it('refuses an image by its header when its pixels times its sample depth pass the budget, before decoding it', async () => {
    const png = await deepPng();
    expect(png.length).toBeLessThan(1_000_000);
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const started = Date.now();
    await expect(inspectImage(png)).rejects.toMatchObject({
      code: ImageErrorCode.TooLarge,
      message: expect.stringMatching(/6000×6000 pixels at 16 bits per sample/),
    });
    await expect(decodeImage(png, 'deep.png')).rejects.toMatchObject({ code: ImageErrorCode.TooLarge });
    // Decoding it took 4.3 s; the header takes milliseconds.
    expect(Date.now() - started).toBeLessThan(1_000);
    // The same size at 8 bits is within the budget (36 of 40 megapixels).
    expect(await inspectImage(await sharp(png).toColourspace('b-w').png().toBuffer())).toMatchObject({ width: 6000, height: 6000 });
  });

  it('decodes only the formats asked for: an SVG is never handed to a decoder, a PNG is refused where only JPEG is taken', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await expect(withDecodedImage(svg, (image) => image.toBuffer())).rejects.toMatchObject({ code: ImageErrorCode.UnsupportedFormat });
    const png = await sharp(SAMPLE).resize(10, 10).png().toBuffer();
    await expect(withDecodedImage(png, (image) => image.toBuffer(), { formats: new Set(['jpeg']) })).rejects.toThrow(
      'not a JPEG image (unrecognised signature)',
    );
  });

  it(`runs at most maxConcurrentDecodes() (${maxConcurrentDecodes()}) decodes at once, however many are asked for`, async () => {
    const jpeg = fs.readFileSync(SAMPLE);
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withDecodedImage(jpeg, async (image) => {
          most = Math.max(most, ++running);
          await image.blur(3).toBuffer();
          running--;
        }),
      ),
    );
    expect(most).toBe(maxConcurrentDecodes());
  });

  it('abandons a decode past its timeout with IMAGE_DECODE_TIMEOUT', async () => {
    // 36 megapixels blurred with a sigma of 200: far more than a second of work.
    const big = await sharp(Buffer.alloc(6000 * 6000), { raw: { width: 6000, height: 6000, channels: 1 } })
      .png()
      .toBuffer();
    const started = Date.now();
    await expect(withDecodedImage(big, (image) => image.blur(200).toBuffer(), { timeoutSeconds: 1 })).rejects.toMatchObject({
      code: ImageErrorCode.TimedOut,
      message: 'decoding the png image took over 1 s',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 20_000);

  it('refuses an image file over MAX_IMAGE_FILE_BYTES by its size, unread', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-image-input-'));
    try {
      const file = path.join(dir, 'huge.jpg');
      fs.writeFileSync(file, '');
      fs.truncateSync(file, MAX_IMAGE_FILE_BYTES + 1); // sparse: no disk used
      await expect(readImageBytes(file)).rejects.toMatchObject({
        code: ImageErrorCode.TooLarge,
        message: `the image file has ${MAX_IMAGE_FILE_BYTES + 1} bytes, more than ${MAX_IMAGE_FILE_BYTES}`,
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a FIFO, a device and a directory as image files without blocking', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-image-input-'));
    try {
      execFileSync('mkfifo', [path.join(dir, 'photo.jpg')]);
      await expect(readImageFile(path.join(dir, 'photo.jpg'))).rejects.toMatchObject({
        code: ImageErrorCode.NotRegularFile,
        message: expect.stringMatching(/the image is a FIFO, not a regular file/),
      });
      await expect(readImageBytes('/dev/zero')).rejects.toThrow('the image is a character device, not a regular file');
      await expect(readImageBytes(dir)).rejects.toThrow('the image is a directory, not a regular file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 10_000);
});
