/** Untrusted image bytes: recognised by signature before decoding, decoded to RGB, bad input named. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage, sniffImageFormat, UnsupportedImageError } from '../../src/images/image-input';
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
  expect(decoded.data.length).toBe(meta.width! * meta.height! * 3);
  const rgba = await sharp({ create: { width: 4, height: 2, channels: 4, background: { r: 200, g: 10, b: 30, alpha: 0.5 } } }).png().toBuffer();
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
