/**
 * Batches for the training loop. Images are decoded and resized by the project's one bounded decoder
 * (src/images/image-input: format checked from the bytes, at most 40 megapixels; sharp on libuv's
 * threads, off the training loop) a few batches ahead of the step that needs them; each is resized to the size the
 * model's transform would give it (torchvision's min_size/max_size rule), so the model's own resize is
 * (nearly) the identity and no full-size bitmap is ever held. Horizontal flip with probability 0.5
 * (boxes mirrored). Order and flips depend only on (seed, epoch), so a run is reproducible and a
 * resumed run sees the same batches as an uninterrupted one. A corrupt or missing image is skipped
 * and reported, never fatal.
 */
import type { InputImage, TrainingSample } from '../model/attribute-rcnn';
import { seededRandom } from '../../util/random';
import { readImageFile } from '../../images/image-input';
import type { DatasetImage } from './dataset';

export interface SizeRule {
  /** torchvision min_size (the eval size when a list) */
  minSize: number;
  maxSize: number;
}

export interface BatchOptions {
  batchSize: number;
  seed: number;
  /** Random horizontal flips (training); off for evaluation. */
  flip: boolean;
  shuffle: boolean;
  size: SizeRule;
  /** Batches decoded ahead of the consumer. */
  prefetch?: number;
}

export interface SkippedImage {
  imageId: string;
  path: string | null;
  reason: string;
}

export interface LoadedSample extends TrainingSample {
  source: DatasetImage;
  /** scale from the stored image's pixels to the decoded image's */
  scale: number;
  flipped: boolean;
}

export interface Batch {
  epoch: number;
  /** index of the batch within its epoch */
  index: number;
  samples: LoadedSample[];
  skipped: SkippedImage[];
}

/** torchvision GeneralizedRCNNTransform's scale: shorter side to min_size unless the longer exceeds max_size. */
export function resizeScale(width: number, height: number, size: SizeRule): number {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  return Math.min(size.minSize / short, size.maxSize / long);
}

/** Mixes seed and epoch into one 32-bit seed (distinct epochs give unrelated streams). */
function epochSeed(seed: number, epoch: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (epoch + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The epoch's image order and flips: a seeded Fisher–Yates shuffle, then one flip draw per image (by image index). */
export function epochPlan(
  count: number,
  options: Pick<BatchOptions, 'seed' | 'shuffle' | 'flip'>,
  epoch: number,
): { order: number[]; flips: boolean[] } {
  const random = seededRandom(epochSeed(options.seed, epoch));
  const order = Array.from({ length: count }, (_, i) => i);
  if (options.shuffle) {
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  const flips = order.map(() => options.flip && random() < 0.5);
  return { order, flips };
}

export function batchesPerEpoch(images: number, batchSize: number): number {
  return Math.ceil(images / batchSize);
}

/** Decodes one dataset image at the model's size, flipped if asked; boxes follow. */
export async function loadSample(image: DatasetImage, size: SizeRule, flipped: boolean): Promise<LoadedSample> {
  if (!image.path) throw new Error('the image row has no file');
  const scale = resizeScale(image.width, image.height, size);
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const decoded = await readImageFile(image.path, { resize: { width, height }, flip: flipped });
  const input: InputImage = { data: decoded.data, width: decoded.width, height: decoded.height };
  // Boxes in the decoded image's pixels; the stored size is the annotation's, the file may differ slightly.
  const sx = input.width / image.width;
  const sy = input.height / image.height;
  const garments = image.garments
    .map((g) => {
      let [x1, , x2] = g.box;
      const [, y1, , y2] = g.box;
      if (flipped) [x1, x2] = [image.width - x2, image.width - x1];
      const box: [number, number, number, number] = [
        clamp(x1 * sx, input.width),
        clamp(y1 * sy, input.height),
        clamp(x2 * sx, input.width),
        clamp(y2 * sy, input.height),
      ];
      return { box, label: g.label, attributes: g.attributes };
    })
    .filter((g) => g.box[2] - g.box[0] >= 1 && g.box[3] - g.box[1] >= 1);
  return { image: input, garments, source: image, scale: sx, flipped };
}

function clamp(value: number, limit: number): number {
  return Math.min(Math.max(value, 0), limit);
}

/**
 * The batches of one epoch from batch `startIndex` on, decoded `prefetch` batches ahead. Samples that
 * cannot be decoded (or have no garment left) are reported in `skipped` and left out of their batch;
 * a batch with no sample left is still yielded (empty) so that step counting stays deterministic.
 */
export async function* epochBatches(images: DatasetImage[], options: BatchOptions, epoch: number, startIndex = 0): AsyncGenerator<Batch> {
  const { order, flips } = epochPlan(images.length, options, epoch);
  const count = batchesPerEpoch(images.length, options.batchSize);
  const prefetch = Math.max(1, options.prefetch ?? 2);
  const pending: Promise<Batch>[] = [];
  let next = startIndex;
  const schedule = () => {
    while (pending.length < prefetch + 1 && next < count) pending.push(loadBatch(next++));
  };
  const loadBatch = async (index: number): Promise<Batch> => {
    const positions = order.slice(index * options.batchSize, (index + 1) * options.batchSize);
    const results = await Promise.all(
      positions.map(async (position) => {
        const image = images[position];
        try {
          const sample = await loadSample(image, options.size, flips[position]);
          if (sample.garments.length === 0)
            return { skipped: { imageId: image.imageId, path: image.path, reason: 'no garment box left after resizing' } };
          return { sample };
        } catch (error) {
          return { skipped: { imageId: image.imageId, path: image.path, reason: (error as Error).message } };
        }
      }),
    );
    return {
      epoch,
      index,
      samples: results.flatMap((r) => ('sample' in r && r.sample ? [r.sample] : [])),
      skipped: results.flatMap((r) => ('skipped' in r && r.skipped ? [r.skipped] : [])),
    };
  };
  schedule();
  while (pending.length > 0) {
    const batch = await pending.shift()!;
    schedule();
    yield batch;
  }
}
