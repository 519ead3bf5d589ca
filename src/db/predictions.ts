/**
 * Stores a model version's detections on an image as garments with `source = 'prediction'`, so that
 * predictions are searched exactly like annotations: the same vocabulary rows (created with their
 * English labels by the importer's VocabularyIds), the same search_terms (the importer's
 * garmentSearchTerms: category + attribute values + the image's styles), plus scores.
 *
 * What is stored per detection: the class as category (score = detection score); for each single-label
 * kind its most probable value, for each multi-label kind every value at or above `multiLabelThreshold`
 * (attribute score = the value's probability). Kinds that are not K-Fashion garment kinds (a model
 * trained elsewhere) are not stored. Storing again for the same image and model version replaces the
 * earlier predictions (a retried batch job does not duplicate garments). A detection's appearance embedding, when the
 * model gave one, is stored with its garment under the same model version, in the same transaction
 * (garment-embeddings.ts).
 *
 * For the review queue, each single-label kind's second most probable value goes to
 * prediction_runner_ups (not an attribute: no search term, no facet), and the image's review score for
 * the model version is recomputed in the same transaction (src/db/review-queue.ts).
 */
import type { DataSource, EntityManager } from 'typeorm';
import { VocabularyIds } from './import/vocabulary-ids';
import { storeGarmentEmbeddings } from './garment-embeddings';
import { rescoreImages, storeRunnerUps } from './review-queue';
import { garmentSearchTerms } from './import/load';
import { CATEGORY_LABELS_BY_SUPER_CATEGORY } from '../kfashion/vocabulary';
import { topTwo } from '../ml/review/uncertainty';
import {
  GARMENT_ATTRIBUTE_KINDS,
  SuperCategory,
  type GarmentAttribute,
  type GarmentAttributeKind,
  type ParsedAnnotation,
  type ParsedGarment,
} from '../kfashion/types';

export interface PredictedAttributeScore {
  value: string;
  probability: number;
}

/** A detection as the model returns it (boxes in the stored image's pixels). */
export interface StoredDetection {
  box: [number, number, number, number];
  label: number;
  className: string;
  score: number;
  attributes: Record<string, PredictedAttributeScore[]>;
  /** The garment's appearance embedding (int8 with its scale); null or absent: none to store. */
  embedding?: { scale: number; vector: Int8Array } | null;
}

export interface PredictionModel {
  id: number;
  config: { attributes?: { kind: string; type: 'single' | 'multi' }[] } & Record<string, unknown>;
  /** model_versions.label_space: the super-category of each class */
  labelSpace: { classes: { name: string; superCategory: string }[] } | null;
}

export interface StoreOptions {
  multiLabelThreshold?: number;
  /** Detections below this score are not stored (default: every detection the model returned). */
  minScore?: number;
}

const GARMENT_KINDS: ReadonlySet<string> = new Set(GARMENT_ATTRIBUTE_KINDS);

/** Super-category of a class: the label space's, else the published category lists', else TOP. */
export function superCategoryOf(model: PredictionModel, label: number, className: string): SuperCategory {
  const fromSpace = model.labelSpace?.classes[label - 1];
  if (fromSpace && fromSpace.name === className && (Object.values(SuperCategory) as string[]).includes(fromSpace.superCategory)) {
    return fromSpace.superCategory as SuperCategory;
  }
  for (const [slot, labels] of Object.entries(CATEGORY_LABELS_BY_SUPER_CATEGORY)) {
    if (Object.prototype.hasOwnProperty.call(labels, className)) return slot as SuperCategory;
  }
  return SuperCategory.TOP;
}

interface ScoredGarment {
  garment: ParsedGarment;
  score: number;
  /** attribute value → probability (category included, with the detection score) */
  scores: Map<string, number>;
  /** per single-label kind, the second most probable value (kept for the review queue's margins, not searched) */
  runnerUps: { kind: string; value: string; probability: number }[];
  embedding: StoredDetection['embedding'];
}

function toGarments(model: PredictionModel, detections: StoredDetection[], options: StoreOptions): ScoredGarment[] {
  const threshold = options.multiLabelThreshold ?? 0.5;
  const typeOf = new Map((model.config.attributes ?? []).map((a) => [a.kind, a.type]));
  const slots = new Map<SuperCategory, number>();
  const out: ScoredGarment[] = [];
  for (const detection of detections) {
    if (detection.score < (options.minScore ?? 0)) continue;
    const superCategory = superCategoryOf(model, detection.label, detection.className);
    const slotIndex = slots.get(superCategory) ?? 0;
    slots.set(superCategory, slotIndex + 1);
    const scores = new Map<string, number>([[`category\u0000${detection.className}`, detection.score]]);
    const attributes: GarmentAttribute[] = [{ kind: 'category', value: detection.className }];
    const runnerUps: ScoredGarment['runnerUps'] = [];
    for (const [kind, ranked] of Object.entries(detection.attributes)) {
      if (!GARMENT_KINDS.has(kind) || kind === 'category' || ranked.length === 0) continue;
      let chosen: PredictedAttributeScore[];
      if (typeOf.get(kind) === 'multi') chosen = ranked.filter((r) => r.probability >= threshold);
      else {
        const [first, second] = topTwo(ranked)!;
        chosen = [first];
        if (second) runnerUps.push({ kind, value: second.value, probability: second.probability });
      }
      for (const value of chosen) {
        attributes.push({ kind: kind as GarmentAttributeKind, value: value.value });
        scores.set(`${kind}\u0000${value.value}`, value.probability);
      }
    }
    const [x1, y1, x2, y2] = detection.box;
    out.push({
      garment: { superCategory, slotIndex, category: detection.className, box: { x1, y1, x2, y2 }, polygon: [], attributes },
      score: detection.score,
      scores,
      runnerUps,
      embedding: detection.embedding,
    });
  }
  return out;
}

/**
 * Replaces the predictions of `model` on image `imageId` with `detections`; returns the new garment
 * ids in detection order. Degenerate boxes (zero width or height) are dropped.
 */
export async function storePredictions(
  dataSource: DataSource,
  imageId: string,
  model: PredictionModel,
  detections: StoredDetection[],
  options: StoreOptions = {},
): Promise<string[]> {
  const { garments, vocabulary } = await prepareGarments(dataSource, model, detections, options);
  return dataSource.transaction((manager) => writeGarments(manager, imageId, model.id, garments, vocabulary));
}

/** One image's detections, for storePredictionPage. */
export interface ImagePredictions {
  imageId: string;
  detections: StoredDetection[];
}

/**
 * Stores the predictions of several images and runs `record` in the same transaction, so a batch
 * job's progress (written by `record`) and the garments it counts commit together or not at all:
 * a job resumed after a crash neither skips nor re-counts an image. `record` throwing rolls back.
 */
export async function storePredictionPage<T>(
  dataSource: DataSource,
  model: PredictionModel,
  images: ImagePredictions[],
  record: (manager: EntityManager) => Promise<T>,
  options: StoreOptions = {},
): Promise<T> {
  const prepared: ({ imageId: string } & Awaited<ReturnType<typeof prepareGarments>>)[] = [];
  for (const image of images)
    prepared.push({ imageId: image.imageId, ...(await prepareGarments(dataSource, model, image.detections, options)) });
  return dataSource.transaction(async (manager) => {
    for (const { imageId, garments, vocabulary } of prepared) await writeGarments(manager, imageId, model.id, garments, vocabulary);
    return record(manager);
  });
}

/** The detections as garments to write (empty boxes dropped), with every vocabulary value they use present. */
async function prepareGarments(dataSource: DataSource, model: PredictionModel, detections: StoredDetection[], options: StoreOptions) {
  const garments = toGarments(model, detections, options).filter(
    (g) => g.garment.box.x2 > g.garment.box.x1 && g.garment.box.y2 > g.garment.box.y1,
  );
  const vocabulary = new VocabularyIds(dataSource);
  const annotation: ParsedAnnotation = {
    externalId: '',
    fileName: '',
    width: 1,
    height: 1,
    createdAt: null,
    styles: [],
    garments: garments.map((g) => g.garment),
  };
  await vocabulary.ensure([annotation]);
  return { garments, vocabulary };
}

/** An uploaded photo: its file under the uploads folder (relative, content-addressed) and its upright size. */
export interface UploadedImage {
  fileName: string;
  imagePath: string;
  width: number;
  height: number;
}

/**
 * Records an uploaded photo and its predictions in one transaction, so a photo is never stored
 * without the analysis it was uploaded for. The same file uploaded again is the same image row.
 */
export async function storeUploadWithPredictions(
  dataSource: DataSource,
  image: UploadedImage,
  model: PredictionModel,
  detections: StoredDetection[],
  options: StoreOptions = {},
): Promise<{ imageId: string; garmentIds: string[] }> {
  const { garments, vocabulary } = await prepareGarments(dataSource, model, detections, options);
  return dataSource.transaction(async (manager) => {
    const [row]: { id: string }[] = await manager.query(
      `WITH found AS (SELECT id FROM images WHERE dataset_id IS NULL AND image_path = $2 LIMIT 1),
            added AS (INSERT INTO images (file_name, image_path, width, height)
                      SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id)
       SELECT id FROM found UNION ALL SELECT id FROM added`,
      [image.fileName.slice(0, 255), image.imagePath, image.width, image.height],
    );
    const imageId = String(row.id);
    return { imageId, garmentIds: await writeGarments(manager, imageId, model.id, garments, vocabulary) };
  });
}

async function writeGarments(
  manager: EntityManager,
  imageId: string,
  modelVersionId: number,
  garments: ScoredGarment[],
  vocabulary: VocabularyIds,
): Promise<string[]> {
  await manager.query(`SELECT id FROM images WHERE id = $1 FOR UPDATE`, [imageId]);
  await manager.query(`DELETE FROM garments WHERE image_id = $1 AND source = 'prediction' AND model_version_id = $2`, [
    imageId,
    modelVersionId,
  ]);
  if (garments.length === 0) {
    await rescoreImages(manager, modelVersionId, [imageId]);
    return [];
  }
  const styleRows: { style_id: number; sub_style_id: number | null }[] = await manager.query(
    `SELECT style_id, sub_style_id FROM image_styles WHERE image_id = $1 ORDER BY position`,
    [imageId],
  );
  const styleTerms = styleRows.flatMap((r) => (r.sub_style_id === null ? [r.style_id] : [r.style_id, r.sub_style_id]));
  const records = garments.map(({ garment, score }, n) => {
    const valueIds = garment.attributes.map((a) => vocabulary.id(a.kind, a.value));
    return {
      image_id: imageId,
      super_category: garment.superCategory,
      slot_index: garment.slotIndex,
      category_id: garment.category === null ? null : vocabulary.id('category', garment.category),
      x1: garment.box.x1,
      y1: garment.box.y1,
      x2: garment.box.x2,
      y2: garment.box.y2,
      model_version_id: modelVersionId,
      score,
      search_terms: garmentSearchTerms(valueIds, styleTerms),
      n,
    };
  });
  const inserted: { id: string }[] = await manager.query(
    `INSERT INTO garments (image_id, super_category, slot_index, category_id, x1, y1, x2, y2, source, model_version_id, score, search_terms)
     SELECT t.image_id, t.super_category, t.slot_index, t.category_id, t.x1, t.y1, t.x2, t.y2, 'prediction', t.model_version_id, t.score,
            ARRAY(SELECT json_array_elements_text(t.search_terms)::integer)
       FROM json_to_recordset($1::json) AS t(image_id bigint, super_category text, slot_index smallint, category_id integer,
            x1 real, y1 real, x2 real, y2 real, model_version_id integer, score real, search_terms json, n integer)
      ORDER BY n
     RETURNING id`,
    [JSON.stringify(records)],
  );
  const ids = inserted.map((row) => String(row.id)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const attributeRows = garments.flatMap(({ garment, scores }, i) => {
    const seen = new Set<number>();
    return garment.attributes.flatMap((a) => {
      const id = vocabulary.id(a.kind, a.value);
      if (seen.has(id)) return [];
      seen.add(id);
      return [{ garment_id: ids[i], vocabulary_id: id, score: scores.get(`${a.kind}\u0000${a.value}`) ?? null }];
    });
  });
  await manager.query(
    `INSERT INTO garment_attributes (garment_id, vocabulary_id, score)
     SELECT garment_id, vocabulary_id, score FROM json_to_recordset($1::json) AS t(garment_id bigint, vocabulary_id integer, score real)`,
    [JSON.stringify(attributeRows)],
  );
  const embeddings = garments.flatMap(({ embedding }, i) => (embedding ? [{ garmentId: ids[i], ...embedding }] : []));
  await storeGarmentEmbeddings(manager, modelVersionId, embeddings);
  await storeRunnerUps(
    manager,
    garments.flatMap(({ runnerUps }, i) => runnerUps.map((runnerUp) => ({ garmentId: ids[i], ...runnerUp }))),
  );
  await rescoreImages(manager, modelVersionId, [imageId]);
  return ids;
}
