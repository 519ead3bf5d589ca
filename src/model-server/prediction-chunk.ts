/**
 * Runs one chunk of a batch prediction (see src/db/prediction-jobs.ts): the images of the job's filter with
 * ids in the chunk's range, after `position_image_id` (where a retried chunk resumes), in pages.
 * While the model predicts one page, the next page is read and decoded (sharp decodes off the
 * main thread), and each page goes through the model's RequestBatcher (KFASHION_MAX_BATCH images
 * per forward pass). A page's garments and the chunk's and job's progress commit in one
 * transaction fenced on the lease (which also reads the cancel flag), so a chunk taken over after
 * a crash neither skips nor re-counts an image. An image that cannot be read is counted, skipped
 * and named in the chunk's error.
 *
 * A chunk of an `embed` job (embedGarments) reads the same pages and, instead of detecting, embeds every stored
 * garment of each image by its box (scaled from the images row's pixels to the decoded file's), in batches of
 * KFASHION_MAX_BATCH images, and stores the embeddings with the progress in one transaction likewise.
 */
import type { DataSource } from 'typeorm';
import { SearchService } from '../db/search';
import { storePredictionPage } from '../db/predictions';
import { markPredictionJobRunning, readPredictionChunk, recordChunkProgress, type PredictionChunkRow } from '../db/prediction-chunks';
import { storedImages, type StoredImage } from '../db/stored-images';
import type { Lease } from '../db/leases';
import { readImageFile, type RgbImage } from '../images/image-input';
import type { LoadedModel, ModelRegistry } from './models';
import { toStoredPixels } from '../images/stored-pixels';
import { garmentBoxesOfImages, storeEmbeddingPage, type GarmentEmbeddingRow } from '../db/garment-embeddings';

/** Images per page at least; a page is two model batches when KFASHION_MAX_BATCH is larger. */
export const PREDICTION_PAGE = 16;

export interface PredictionChunkOptions {
  dataSource: DataSource;
  lease: Lease;
  registry: ModelRegistry;
  uploadsDir: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export class PredictionInterrupted extends Error {}

/** A page read and decoded: each image with its pixels, or the reason it could not be read. */
interface DecodedPage {
  images: { stored: StoredImage; decoded?: RgbImage; error?: string }[];
  /** The last id of the page (keyset position after it). */
  lastId: string | null;
  /** Whether images of the chunk may follow this page. */
  more: boolean;
}

export async function runPredictionChunk(options: PredictionChunkOptions): Promise<'succeeded' | 'cancelled'> {
  const { dataSource, lease } = options;
  const chunk = await readPredictionChunk(dataSource, lease.id);
  await markPredictionJobRunning(dataSource, chunk.prediction_job_id);
  // The model stays loaded for the whole chunk, even when requests for other versions evict it meanwhile.
  return options.registry.use(Number(chunk.model_version_id), (loaded) => predictChunk(options, chunk, loaded));
}

async function predictChunk(
  options: PredictionChunkOptions,
  chunk: PredictionChunkRow,
  loaded: LoadedModel,
): Promise<'succeeded' | 'cancelled'> {
  const { dataSource, lease } = options;
  const pageSize = Math.max(PREDICTION_PAGE, 2 * loaded.batcher.maxBatch);
  const reader = new ChunkReader(new SearchService(dataSource), chunk, pageSize, options.uploadsDir);
  // A chunk starts just before its first image, or after the last one a previous worker recorded.
  let next = reader.read(chunk.position_image_id ?? String(BigInt(chunk.first_image_id) - 1n));
  for (;;) {
    const page = await next;
    if (page.images.length === 0) return 'succeeded';
    // Read and decode the next page while this one is predicted.
    next = page.more ? reader.read(page.lastId) : Promise.resolve({ images: [], lastId: null, more: false });
    // Left unawaited when this page ends the chunk (cancelled, shutting down): not an unhandled rejection.
    next.catch(() => undefined);
    const cancelled = chunk.kind === 'embed' ? await embedPage(options, loaded, page) : await predictPage(options, loaded, page);
    if (cancelled) return 'cancelled';
    if (options.signal?.aborted) throw new PredictionInterrupted(`prediction chunk ${lease.id} stopped: the worker is shutting down`);
    if (!page.more) return 'succeeded';
  }
}

/** Reads and decodes a stored image's file. */
async function readStoredImage(image: StoredImage): Promise<RgbImage> {
  if (!image.file) throw new Error(`image ${image.id} has no file`);
  return readImageFile(image.file);
}

class ChunkReader {
  private readonly lastId: bigint;

  constructor(
    private readonly search: SearchService,
    private readonly chunk: PredictionChunkRow,
    private readonly pageSize: number,
    private readonly uploadsDir: string,
  ) {
    this.lastId = BigInt(chunk.last_image_id);
  }

  /** The chunk's next page after `afterId`, decoded (the filter is applied again: ids are the range, the filter the set). */
  async read(afterId: string | null): Promise<DecodedPage> {
    const page = await this.search.images(this.chunk.filter, { first: this.pageSize, afterId });
    const inRange = page.rows.filter((row) => BigInt(row.id) <= this.lastId);
    const more = page.hasNextPage && inRange.length === page.rows.length;
    const stored = await storedImages(
      this.search.dataSource,
      inRange.map((row) => row.id),
      this.uploadsDir,
    );
    const images = await Promise.all(
      stored.map((image) =>
        readStoredImage(image).then(
          (decoded) => ({ stored: image, decoded }),
          (error: Error) => ({ stored: image, error: error.message }),
        ),
      ),
    );
    return { images, lastId: inRange.length > 0 ? inRange[inRange.length - 1].id : null, more };
  }
}

/** The page's unreadable images, each logged. */
function unreadableImages(options: PredictionChunkOptions, page: DecodedPage): DecodedPage['images'] {
  const unreadable = page.images.filter((image) => image.error);
  for (const image of unreadable) options.log?.(`prediction chunk ${options.lease.id}: image ${image.stored.id} skipped: ${image.error}`);
  return unreadable;
}

/** Predicts a decoded page, stores it with the progress; returns whether the job was cancelled. */
async function predictPage(options: PredictionChunkOptions, loaded: LoadedModel, page: DecodedPage): Promise<boolean> {
  const { dataSource, lease } = options;
  const readable = page.images.filter((image) => image.decoded);
  const detections = await Promise.all(readable.map((image) => loaded.batcher.run(image.decoded!)));
  const unreadable = unreadableImages(options, page);
  const predictions = readable.map((image, i) => ({
    imageId: image.stored.id,
    detections: toStoredPixels(detections[i], image.decoded!, image.stored),
  }));
  return storePredictionPage(dataSource, loaded.version, predictions, (manager) =>
    recordChunkProgress(manager, lease, { images: page.images.length, lastImageId: page.lastId!, unreadable: unreadable.length }),
  );
}

/** Embeds the stored garments of a decoded page's images, stores them with the progress; returns whether the job was cancelled. */
async function embedPage(options: PredictionChunkOptions, loaded: LoadedModel, page: DecodedPage): Promise<boolean> {
  const { dataSource, lease } = options;
  const readable = page.images.filter((image) => image.decoded);
  const boxes = await garmentBoxesOfImages(
    dataSource,
    readable.map((image) => image.stored.id),
  );
  const withGarments = readable
    .map((image) => ({ image, garments: boxes.filter((b) => b.imageId === image.stored.id) }))
    .filter((entry) => entry.garments.length > 0);
  const rows: GarmentEmbeddingRow[] = [];
  for (let start = 0; start < withGarments.length; start += loaded.batcher.maxBatch) {
    const batch = withGarments.slice(start, start + loaded.batcher.maxBatch);
    const embedded = await loaded.model.embedBoxes(
      batch.map(({ image, garments }) => ({
        image: image.decoded!,
        // The rows' boxes are in the images row's pixels; the model reads the decoded file (the inverse of toStoredPixels).
        boxes: Float32Array.from(toStoredPixels(garments, image.stored, image.decoded!).flatMap((g) => g.box)),
      })),
    );
    batch.forEach(({ garments }, i) =>
      garments.forEach((garment, k) => {
        const embedding = embedded[i][k];
        if (embedding) rows.push({ garmentId: garment.garmentId, scale: embedding.scale, vector: embedding.vector });
      }),
    );
  }
  const unreadable = unreadableImages(options, page);
  return storeEmbeddingPage(dataSource, loaded.version.id, rows, (manager) =>
    recordChunkProgress(manager, lease, { images: page.images.length, lastImageId: page.lastId!, unreadable: unreadable.length }),
  );
}
