/**
 * Image files over HTTP: the original, a bounded thumbnail, a garment crop and the photo with its
 * boxes and labels drawn (an SVG overlay composited by sharp). Paths come from the database
 * relative to their dataset's root and are resolved and checked to stay inside it (symlinks
 * included), so a crafted `image_path` can never read another file.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { boxesOfImage, garmentBox, imageWithRoot, type GarmentBox } from '../db/images';
import type { Sharp } from 'sharp';
import {
  type ImageErrorCode,
  type ImageFormat,
  type ImageHeader,
  inspectImage,
  openImageFile,
  readImageBytes,
  requireFormat,
  UnsupportedImageError,
  withDecodedImage,
} from '../images/image-input';
import { sendJson } from '../util/http-json';
import { englishLabel } from '../kfashion/vocabulary';
import { THUMBNAIL_SIZES } from './context';
import { InvalidId, parseId } from './ids';

const CACHE_MAX_AGE = 'max-age=86400';
const MIME_BY_FORMAT: Record<ImageFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
/** Bytes read to recognise an original's format (sniffImageFormat needs 12). */
const SIGNATURE_BYTES = 12;

/** The route codes other than the image ones (ImageErrorCode). */
enum RouteErrorCode {
  MethodNotAllowed = 'METHOD_NOT_ALLOWED',
  NotFound = 'NOT_FOUND',
  BadInput = 'BAD_USER_INPUT',
}

/** A refusal answered as `{error, code}`; the message never names a path. */
class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: RouteErrorCode | ImageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An image the routes cannot use: 422 (unprocessable) with the image error's stable code, naming the image by id. */
function imageProblem(id: string, error: UnsupportedImageError): HttpProblem {
  return new HttpProblem(422, error.code, `image ${id}: ${error.message}`);
}

interface ImageFile {
  id: string;
  file: string;
  stat: Pick<fs.Stats, 'size' | 'mtimeMs'>;
  width: number;
  height: number;
}

type BoxRow = Pick<GarmentBox, 'super_category' | 'category' | 'x1' | 'y1' | 'x2' | 'y2' | 'score'>;

/** True when `candidate` is `root` itself or lies below it. */
import { isInside } from '../util/confined-path';

export { isInside };

export interface ImageRoutesOptions {
  /** Folder allowed for images that belong to no dataset (uploads); others are refused. */
  uploadsDir?: string;
  /**
   * Anonymous callers may read images (KFASHION_PUBLIC_READ): only then may shared caches keep
   * them (`Cache-Control: public`); otherwise a proxy must not hand one caller's image to another.
   */
  publicRead?: boolean;
}

const IMAGE_ROUTE = /^\/images\/([^/]+)(?:\/(thumbnail|annotated))?\/?$/;
const CROP_ROUTE = /^\/garments\/([^/]+)\/crop\/?$/;

export class ImageRoutes {
  private readonly cacheControl: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: ImageRoutesOptions = {},
  ) {
    this.cacheControl = `${options.publicRead ? 'public' : 'private'}, ${CACHE_MAX_AGE}`;
  }

  /** Whether the path is one of the image routes. */
  serves(url: URL): boolean {
    return IMAGE_ROUTE.test(url.pathname) || CROP_ROUTE.test(url.pathname);
  }

  /** Handles the request when its path is an image route; returns false otherwise. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    const imageMatch = IMAGE_ROUTE.exec(url.pathname);
    const cropMatch = CROP_ROUTE.exec(url.pathname);
    if (!imageMatch && !cropMatch) return false;
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD')
        throw new HttpProblem(405, RouteErrorCode.MethodNotAllowed, 'only GET and HEAD');
      if (cropMatch) await this.crop(request, response, cropMatch[1], url);
      else if (imageMatch![2] === 'thumbnail') await this.thumbnail(request, response, imageMatch![1], url);
      else if (imageMatch![2] === 'annotated') await this.annotated(request, response, imageMatch![1], url);
      else await this.original(request, response, imageMatch![1]);
    } catch (error) {
      if (!(error instanceof HttpProblem)) throw error;
      sendJson(response, error.status, { error: error.message, code: error.code });
    }
    return true;
  }

  private async original(request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
    const file = await this.imageFile(id);
    const { handle, stat } = await this.refusing(file, () => openImageFile(file.file));
    try {
      const image = { ...file, stat };
      const etag = this.etag(image, 'original');
      if (this.notModified(request, response, etag)) return;
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(SIGNATURE_BYTES), 0, SIGNATURE_BYTES, 0);
      const format = await this.refusing(image, () => requireFormat(buffer.subarray(0, bytesRead)));
      response.writeHead(200, {
        'content-type': MIME_BY_FORMAT[format],
        'content-length': stat.size,
        etag,
        'cache-control': this.cacheControl,
        'x-content-type-options': 'nosniff',
      });
      if (request.method === 'HEAD') return void response.end();
      await new Promise<void>((resolve, reject) => {
        handle.createReadStream({ start: 0, autoClose: false }).on('error', reject).on('end', resolve).pipe(response);
      });
    } finally {
      await handle.close();
    }
  }

  private async thumbnail(request: IncomingMessage, response: ServerResponse, id: string, url: URL): Promise<void> {
    const size = sizeParameter(url, THUMBNAIL_SIZES.default);
    const image = await this.imageFile(id);
    const etag = this.etag(image, `thumbnail:${size}`);
    if (this.notModified(request, response, etag)) return;
    const bytes = await this.bytesOf(image);
    const jpeg = await this.render(image, bytes, (pipeline) =>
      pipeline.resize(size, size, { fit: 'inside', withoutEnlargement: true }).jpeg().toBuffer(),
    );
    this.sendJpeg(request, response, jpeg, etag);
  }

  private async crop(request: IncomingMessage, response: ServerResponse, garmentId: string, url: URL): Promise<void> {
    const size = url.searchParams.has('size') ? sizeParameter(url, THUMBNAIL_SIZES.default) : null;
    const box = await garmentBox(this.dataSource, routeId(garmentId));
    if (!box) throw new HttpProblem(404, RouteErrorCode.NotFound, `no garment ${garmentId}`);
    const image = await this.imageFile(String(box.image_id));
    const bytes = await this.bytesOf(image);
    const header = await this.refusing(image, () => inspectImage(bytes));
    const region = clampBox(box, header.width, header.height);
    if (!region) throw new HttpProblem(404, RouteErrorCode.NotFound, `garment ${garmentId} lies outside its image`);
    const etag = this.etag(image, `crop:${garmentId}:${JSON.stringify(region)}:${size}`);
    if (this.notModified(request, response, etag)) return;
    const jpeg = await this.render(image, bytes, (pipeline) => {
      const cropped = pipeline.extract(region);
      return (size ? cropped.resize(size, size, { fit: 'inside', withoutEnlargement: true }) : cropped).jpeg().toBuffer();
    });
    this.sendJpeg(request, response, jpeg, etag);
  }

  private async annotated(request: IncomingMessage, response: ServerResponse, id: string, url: URL): Promise<void> {
    const source = url.searchParams.get('source');
    if (source !== null && source !== 'annotation' && source !== 'prediction') {
      throw new HttpProblem(400, RouteErrorCode.BadInput, 'source must be annotation or prediction');
    }
    const image = await this.imageFile(id);
    const boxes = (await boxesOfImage(this.dataSource, image.id, source)).map(
      ({ id, super_category, category, x1, y1, x2, y2, source, score }) => ({
        id,
        super_category,
        category,
        x1,
        y1,
        x2,
        y2,
        source,
        score,
      }),
    );
    const etag = this.etag(image, `annotated:${JSON.stringify(boxes)}`);
    if (this.notModified(request, response, etag)) return;
    const bytes = await this.bytesOf(image);
    const jpeg = await this.render(image, bytes, (pipeline, header) => {
      const overlay = Buffer.from(boxesSvg(boxes, header.width, header.height));
      return pipeline
        .composite([{ input: overlay, top: 0, left: 0 }])
        .jpeg()
        .toBuffer();
    });
    this.sendJpeg(request, response, jpeg, etag);
  }

  /** `work`'s result; an image it refuses (UnsupportedImageError) answers 422 with its code, a file gone or unreadable 404. */
  private async refusing<T>(image: ImageFile, work: () => Promise<T> | T): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof UnsupportedImageError) throw imageProblem(image.id, error);
      throw new HttpProblem(404, RouteErrorCode.NotFound, `image ${image.id} has no readable file`);
    }
  }

  /** The image's bytes: a regular file within MAX_IMAGE_FILE_BYTES (readImageBytes). */
  private bytesOf(image: ImageFile): Promise<Buffer> {
    return this.refusing(image, () => readImageBytes(image.file));
  }

  /** Decodes the image (bounded: withDecodedImage) and runs `work` on it. */
  private render<T>(image: ImageFile, bytes: Buffer, work: (pipeline: Sharp, header: ImageHeader) => Promise<T>): Promise<T> {
    return this.refusing(image, () => withDecodedImage(bytes, work));
  }

  private async imageFile(id: string): Promise<ImageFile> {
    const row = await imageWithRoot(this.dataSource, routeId(id));
    if (!row) throw new HttpProblem(404, RouteErrorCode.NotFound, `no image ${id}`);
    if (!row.image_path) throw new HttpProblem(404, RouteErrorCode.NotFound, `image ${id} has no file`);
    const root = row.root_path ?? this.options.uploadsDir;
    const file = root ? await resolveInside(root, row.image_path) : null;
    if (!file) throw new HttpProblem(404, RouteErrorCode.NotFound, `image ${id} has no file under an allowed folder`);
    // lstat of the real path: a FIFO is examined, never opened, here.
    const stat = await fs.promises.lstat(file);
    return { id: String(row.id), file, stat, width: row.width, height: row.height };
  }

  private etag(image: Pick<ImageFile, 'id' | 'stat'>, variant: string): string {
    const hash = createHash('sha1').update(`${image.id}|${image.stat.size}|${image.stat.mtimeMs}|${variant}`).digest('base64url');
    return `"${hash}"`;
  }

  private notModified(request: IncomingMessage, response: ServerResponse, etag: string): boolean {
    const tags = (request.headers['if-none-match'] ?? '').split(',').map((tag) => tag.trim());
    if (!tags.includes(etag) && !tags.includes('*')) return false;
    response.writeHead(304, { etag, 'cache-control': this.cacheControl });
    response.end();
    return true;
  }

  private sendJpeg(request: IncomingMessage, response: ServerResponse, jpeg: Buffer, etag: string): void {
    response.writeHead(200, {
      'content-type': 'image/jpeg',
      'content-length': jpeg.length,
      etag,
      'cache-control': this.cacheControl,
    });
    response.end(request.method === 'HEAD' ? undefined : jpeg);
  }
}

/** A path segment that is not an id names no image or garment: 404, like an id of none. */
function routeId(text: string): string {
  try {
    return parseId('id', text);
  } catch (error) {
    if (error instanceof InvalidId) throw new HttpProblem(404, RouteErrorCode.NotFound, `no such id "${text.slice(0, 40)}"`);
    throw error;
  }
}

function sizeParameter(url: URL, fallback: number): number {
  const text = url.searchParams.get('size');
  if (text === null) return fallback;
  const size = Number(text);
  if (!Number.isInteger(size) || size < THUMBNAIL_SIZES.min || size > THUMBNAIL_SIZES.max) {
    throw new HttpProblem(
      400,
      RouteErrorCode.BadInput,
      `size must be an integer between ${THUMBNAIL_SIZES.min} and ${THUMBNAIL_SIZES.max}`,
    );
  }
  return size;
}

/** The real path of `relative` under `root`, or null when it is missing or escapes the root. */
async function resolveInside(root: string, relative: string): Promise<string | null> {
  const resolvedRoot = path.resolve(root);
  const candidate = path.resolve(resolvedRoot, relative);
  if (!isInside(resolvedRoot, candidate)) return null;
  try {
    const [realRoot, realFile] = await Promise.all([fs.promises.realpath(resolvedRoot), fs.promises.realpath(candidate)]);
    return isInside(realRoot, realFile) && realFile !== realRoot ? realFile : null;
  } catch {
    return null;
  }
}

/** Integer pixel region of a box inside a width×height image, or null when nothing is left. */
export function clampBox(
  box: { x1: number; y1: number; x2: number; y2: number },
  width: number,
  height: number,
): { left: number; top: number; width: number; height: number } | null {
  const left = Math.max(0, Math.floor(box.x1));
  const top = Math.max(0, Math.floor(box.y1));
  const right = Math.min(width, Math.ceil(box.x2));
  const bottom = Math.min(height, Math.ceil(box.y2));
  if (right <= left || bottom <= top) return null;
  return { left, top, width: right - left, height: bottom - top };
}

const COLORS: Record<string, string> = { TOP: '#e6194b', BOTTOM: '#3cb44b', OUTER: '#4363d8', ONE_PIECE: '#f58231' };

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** SVG of the boxes with a label tab (English category when known, else the stored value). */
export function boxesSvg(boxes: readonly BoxRow[], width: number, height: number): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 250));
  const fontSize = Math.max(12, Math.round(Math.min(width, height) / 40));
  const shapes = boxes.map((box) => {
    const color = COLORS[box.super_category] ?? '#ffe119';
    const name = box.category ? (englishLabel('category', box.category) ?? box.category) : box.super_category;
    const text = escapeXml(box.score === null ? name : `${name} ${box.score.toFixed(2)}`);
    const x = Math.max(0, box.x1);
    const y = Math.max(0, box.y1);
    const labelY = y >= fontSize + 4 ? y - fontSize - 4 : y;
    const labelWidth = Math.round(text.length * fontSize * 0.62) + 8;
    return [
      `<rect x="${x}" y="${y}" width="${box.x2 - box.x1}" height="${box.y2 - box.y1}" fill="none" stroke="${color}" stroke-width="${stroke}"/>`,
      `<rect x="${x}" y="${labelY}" width="${labelWidth}" height="${fontSize + 4}" fill="${color}"/>`,
      `<text x="${x + 4}" y="${labelY + fontSize}" font-family="sans-serif" font-size="${fontSize}" fill="#fff">${text}</text>`,
    ].join('');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
}
