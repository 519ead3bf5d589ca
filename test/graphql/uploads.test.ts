/**
 * POST /uploads over real HTTP: the photo is streamed to the staging folder, recognised by its first
 * bytes, fully decoded (truncation is caught here), turned upright by its EXIF orientation, and bounded
 * in bytes and pixels. Refused uploads leave nothing behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import sharp from 'sharp';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { SAMPLES_DIR } from '../support/samples';
import { ApiClient, startTestServer } from './support';

let db: TestDatabase;
let api: ApiClient;
let dataDir: string;
const staging = () => fs.readdirSync(path.join(dataDir, 'uploads', '.staging'));

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-uploads-'));
  api = await startTestServer(db.dataSource, { dataDir });
});
afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A noisy photo (noise does not compress, so the JPEG is large), stored sideways with an orientation tag. */
async function phonePhoto(width: number, height: number, orientation: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = 12345;
  for (let i = 0; i < pixels.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    pixels[i] = state >>> 24;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .withMetadata({ orientation })
    .toBuffer();
}

it('stages a JPEG, PNG and WebP and answers their upright size', async () => {
  const sample = fs.readFileSync(path.join(SAMPLES_DIR, '100026.jpg'));
  const jpeg = await api.upload(sample);
  expect(jpeg.status).toBe(201);
  expect(jpeg.body).toEqual({ uploadId: expect.stringMatching(/^[0-9a-f]{32}$/), width: 800, height: 800, format: 'jpeg' });
  const png = await api.upload(await sharp(sample).resize(40, 30).png().toBuffer(), 'image/png');
  expect(png.body).toMatchObject({ width: 40, height: 30, format: 'png' });
  const webp = await api.upload(await sharp(sample).resize(30, 40).webp().toBuffer(), 'application/octet-stream');
  expect(webp.body).toMatchObject({ width: 30, height: 40, format: 'webp' });
  const staged = staging();
  expect(staged.sort()).toEqual([`${jpeg.body.uploadId}.jpg`, `${png.body.uploadId}.png`, `${webp.body.uploadId}.webp`].sort());
  // Staged, not stored: no image row until an analysis succeeds.
  expect(await db.dataSource.query('SELECT count(*)::int AS n FROM images')).toEqual([{ n: 0 }]);
});

it('applies the EXIF orientation of a phone photo', async () => {
  // Stored 60 wide and 40 high; orientation 6 means "rotate 90° clockwise to view".
  const sideways = await sharp({ create: { width: 60, height: 40, channels: 3, background: 'red' } })
    .composite([{ input: { create: { width: 10, height: 40, channels: 3, background: 'blue' } }, left: 0, top: 0 }])
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const { status, body } = await api.upload(sideways);
  expect(status).toBe(201);
  expect(body).toMatchObject({ width: 40, height: 60 });
  const stored = path.join(dataDir, 'uploads', '.staging', `${body.uploadId}.jpg`);
  const meta = await sharp(stored).metadata();
  expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([40, 60, 1]);
  // The blue band that was on the left is on top once upright.
  const { data } = await sharp(stored).raw().toBuffer({ resolveWithObject: true });
  const topMiddle = (2 * 40 + 20) * 3;
  const bottomMiddle = (55 * 40 + 20) * 3;
  expect(data[topMiddle + 2]).toBeGreaterThan(200);
  expect(data[bottomMiddle]).toBeGreaterThan(200);
});

it('refuses what is not a JPEG, PNG or WebP with 415', async () => {
  const before = staging().length;
  const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
    .gif()
    .toBuffer();
  expect(await api.upload(gif)).toEqual({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE', error: 'not a JPEG, PNG or WebP image' } });
  const plain = await api.upload(Buffer.from('hello'), 'text/plain');
  expect(plain.status).toBe(415);
  expect(plain.body.error).toMatch(/Content-Type must be image\/jpeg/);
  expect(staging().length).toBe(before);
});

it('refuses a truncated JPEG with 400 and keeps nothing of it', async () => {
  const before = staging().length;
  const whole = await sharp(path.join(SAMPLES_DIR, '1070263.jpg')).toBuffer();
  const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
  const { status, body } = await api.upload(truncated);
  expect(status).toBe(400);
  expect(body).toEqual({ code: 'UNDECODABLE_IMAGE', error: 'the jpeg image is damaged or truncated' });
  expect(staging().length).toBe(before);
});

it('refuses more than 20 MB with 413, declared or streamed, and more than 40 megapixels', async () => {
  const before = staging().length;
  const big = Buffer.concat([fs.readFileSync(path.join(SAMPLES_DIR, '100026.jpg')), Buffer.alloc(20 * 1024 * 1024)]);
  const declared = await api.upload(big);
  expect(declared).toEqual({
    status: 413,
    body: { code: 'UPLOAD_TOO_LARGE', error: `the photo is larger than ${20 * 1024 * 1024} bytes` },
  });
  // Chunked, without a Content-Length: the bound is enforced while streaming.
  const streamed = await new Promise<number>((resolve, reject) => {
    const request = http.request(
      `${api.origin}/uploads`,
      { method: 'POST', headers: { 'content-type': 'image/jpeg', 'transfer-encoding': 'chunked', authorization: `Bearer ${api.token}` } },
      (response) => {
        response.resume();
        resolve(response.statusCode!);
      },
    );
    request.on('error', (error) =>
      (error as NodeJS.ErrnoException).code === 'EPIPE' || (error as NodeJS.ErrnoException).code === 'ECONNRESET'
        ? undefined
        : reject(error),
    );
    for (let offset = 0; offset < big.length; offset += 1 << 20) request.write(big.subarray(offset, offset + (1 << 20)));
    request.end();
  });
  expect(streamed).toBe(413);
  // 8000 × 6000 = 48 megapixels in a small PNG.
  const huge = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: 'white' } })
    .png()
    .toBuffer();
  const pixels = await api.upload(huge, 'image/png');
  expect(pixels.status).toBe(413);
  expect(pixels.body.error).toMatch(/8000×6000 pixels, more than 40 megapixels/);
  expect(staging().length).toBe(before);
});

it('takes a 20 MB phone photo', async () => {
  const photo = await phonePhoto(3000, 2250, 6);
  expect(photo.length).toBeGreaterThan(15 * 1024 * 1024);
  expect(photo.length).toBeLessThanOrEqual(20 * 1024 * 1024);
  const { status, body } = await api.upload(photo);
  expect(status).toBe(201);
  expect(body).toMatchObject({ width: 2250, height: 3000, format: 'jpeg' });
});

it('refuses a 16-bit 6000×6000 PNG (80 KB, 72 MB of samples) with 413 by its header, without decoding it', async () => {
  const before = staging().length;
  const deep = await sharp(Buffer.alloc(6000 * 6000), { raw: { width: 6000, height: 6000, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  const started = Date.now();
  const { status, body } = await api.upload(deep, 'image/png');
  // Accepted (201) after a 4.3 s decode before: 36 megapixels passed a bound that ignored the depth.
  expect(status).toBe(413);
  expect(body).toEqual({
    code: 'UPLOAD_TOO_LARGE',
    error: 'the image has 6000×6000 pixels at 16 bits per sample, more than 40 megapixels at 8 bits',
  });
  expect(Date.now() - started).toBeLessThan(2_000);
  expect(staging().length).toBe(before);
});

it('refuses an SVG sent as image/jpeg with 415', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  expect(await api.upload(svg)).toEqual({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE', error: 'not a JPEG, PNG or WebP image' } });
});
