/**
 * The review queue: images a model version is least sure about, or images at random, each with the
 * reasons for its score (src/ml/review/uncertainty.ts says how a score is made).
 *
 * Scores are computed when predictions are stored (`rescoreImages`, in the transaction that writes
 * them: prediction chunks and analyzeImage both go through src/db/predictions.ts) and kept in
 * `review_scores`, one row per (model version, image); `backfillReviewScores` scores predictions
 * stored before the table existed. The queue in uncertainty order is then a backward scan of the
 * partial index `review_scores_queue` (score descending, image id descending, reviewed images not in
 * it), joined to the images for the filter: pages cost what they return, not what the table holds.
 * The random order walks the unreviewed images (`images_not_reviewed`) by a seeded hash of their id
 * and sorts what matches the filter: a full pass over those images per page, the price of a shuffle
 * that every seed draws anew.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { MULTI_VALUED_KINDS } from '../kfashion/types';
import {
  REVIEW_SCORE_THRESHOLD,
  scoreImageUncertainty,
  type AnnotatedGarment,
  type PredictedGarmentScores,
  type RankedValue,
  type UncertaintyReason,
} from '../ml/review/uncertainty';
import { IMAGE_COLUMNS, type ImageRow } from './search';
import { compileImageFilter, SqlParameters, type ImageFilter } from './search-filter';
import type { VocabularyCache } from './search-vocabulary';

type Queryable = Pick<EntityManager, 'query'>;

/** The reasons as the queue stores and returns them (the API spells its enum after their kinds). */
export type { UncertaintyReason, UncertaintyReasonKind } from '../ml/review/uncertainty';

/** Reasons kept per image: the strongest ones explain the score; the rest would only grow the row. */
export const STORED_REASONS = 10;

/** The second most probable value of a single-label kind of a predicted garment (not a search term). */
export interface RunnerUp {
  garmentId: string;
  kind: string;
  value: string;
  probability: number;
}

export async function storeRunnerUps(manager: Queryable, runnerUps: readonly RunnerUp[]): Promise<void> {
  if (runnerUps.length === 0) return;
  await manager.query(
    `INSERT INTO prediction_runner_ups (garment_id, kind, value, probability)
     SELECT garment_id, kind, value, probability
       FROM json_to_recordset($1::json) AS t(garment_id bigint, kind text, value text, probability real)`,
    [JSON.stringify(runnerUps.map((r) => ({ garment_id: r.garmentId, kind: r.kind, value: r.value, probability: r.probability })))],
  );
}

interface BoxRow {
  id: string;
  image_id: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  category: string | null;
  score: number | null;
}

interface ValueRow {
  garment_id: string;
  kind: string;
  value: string;
  probability: number | null;
}

const box = (row: BoxRow): [number, number, number, number] => [row.x1, row.y1, row.x2, row.y2];

/**
 * Scores `imageIds` for `modelVersionId` from what is stored (its predictions with their attribute
 * scores and runner-ups, and the images' annotations) and writes their review_scores rows. An image
 * without predictions of that version gets a row too (the model found nothing there: annotations it
 * missed are reasons). Predictions stored before runner-ups were kept have none, so their margin
 * counts from 0 for the runner-up.
 */
export async function rescoreImages(
  manager: Queryable,
  modelVersionId: number,
  imageIds: readonly string[],
  scoreThreshold = REVIEW_SCORE_THRESHOLD,
): Promise<void> {
  if (imageIds.length === 0) return;
  const garments: (BoxRow & { source: string })[] = await manager.query(
    `SELECT g.id, g.image_id, g.x1, g.y1, g.x2, g.y2, c.value AS category, g.score, g.source
       FROM garments g LEFT JOIN vocabulary c ON c.id = g.category_id
      WHERE g.image_id = ANY($1::bigint[])
        AND (g.source = 'annotation' OR (g.source = 'prediction' AND g.model_version_id = $2))
      ORDER BY g.image_id, g.id`,
    [imageIds, modelVersionId],
  );
  const predictedIds = garments.filter((g) => g.source === 'prediction').map((g) => g.id);
  const values: ValueRow[] = predictedIds.length
    ? await manager.query(
        `SELECT ga.garment_id, v.kind, v.value, ga.score AS probability
           FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
          WHERE ga.garment_id = ANY($1::bigint[]) AND v.kind <> 'category' AND NOT (v.kind = ANY($2::text[]))
         UNION ALL
         SELECT garment_id, kind, value, probability FROM prediction_runner_ups WHERE garment_id = ANY($1::bigint[])`,
        [predictedIds, [...MULTI_VALUED_KINDS]],
      )
    : [];
  const rankedByGarment = new Map<string, Map<string, RankedValue[]>>();
  for (const row of values) {
    if (row.probability === null) continue;
    const kinds = rankedByGarment.get(String(row.garment_id)) ?? new Map<string, RankedValue[]>();
    rankedByGarment.set(String(row.garment_id), kinds);
    kinds.set(row.kind, [...(kinds.get(row.kind) ?? []), { value: row.value, probability: row.probability }]);
  }
  const perImage = new Map<string, { predictions: PredictedGarmentScores[]; annotations: AnnotatedGarment[] }>(
    imageIds.map((id) => [String(id), { predictions: [], annotations: [] }]),
  );
  for (const g of garments) {
    const image = perImage.get(String(g.image_id))!;
    const garmentId = String(g.id);
    if (g.source === 'annotation') image.annotations.push({ garmentId, box: box(g), category: g.category });
    else
      image.predictions.push({
        garmentId,
        box: box(g),
        category: g.category ?? '',
        detectionScore: g.score ?? 0,
        singleLabelAttributes: [...(rankedByGarment.get(garmentId) ?? [])].map(([kind, ranked]) => ({ kind, ranked })),
      });
  }
  const rows = [...perImage].map(([imageId, input]) => {
    const { score, reasons } = scoreImageUncertainty({ ...input, scoreThreshold });
    return { image_id: imageId, score, reasons: reasons.slice(0, STORED_REASONS) };
  });
  await manager.query(
    `INSERT INTO review_scores (model_version_id, image_id, score, reasons, reviewed)
     SELECT $1, t.image_id, t.score, t.reasons, i.reviewed_at IS NOT NULL
       FROM json_to_recordset($2::json) AS t(image_id bigint, score real, reasons jsonb) JOIN images i ON i.id = t.image_id
     ON CONFLICT (model_version_id, image_id)
       DO UPDATE SET score = EXCLUDED.score, reasons = EXCLUDED.reasons, reviewed = EXCLUDED.reviewed, computed_at = now()`,
    [modelVersionId, JSON.stringify(rows)],
  );
}

/**
 * Scores every image that has predictions of `modelVersionId` (all versions when absent) in
 * batches of `batchSize` images, one transaction each; returns how many images were scored.
 */
export async function backfillReviewScores(
  dataSource: DataSource,
  options: { modelVersionId?: number; batchSize?: number; onBatch?: (scored: number) => void } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  const versions: { id: number }[] = await dataSource.query(
    `SELECT id FROM model_versions WHERE $1::integer IS NULL OR id = $1 ORDER BY id`,
    [options.modelVersionId ?? null],
  );
  let scored = 0;
  for (const { id: versionId } of versions) {
    let after = '0';
    for (;;) {
      const batch: { image_id: string }[] = await dataSource.query(
        `SELECT DISTINCT image_id FROM garments
          WHERE source = 'prediction' AND model_version_id = $1 AND image_id > $2::bigint
          ORDER BY image_id LIMIT $3`,
        [versionId, after, batchSize],
      );
      if (batch.length === 0) break;
      const ids = batch.map((row) => String(row.image_id));
      await dataSource.transaction((manager) => rescoreImages(manager, Number(versionId), ids));
      scored += ids.length;
      options.onBatch?.(scored);
      after = ids[ids.length - 1];
    }
  }
  return scored;
}

// ---------------------------------------------------------------------------------------------
// The queue

export type ReviewOrder = 'UNCERTAINTY' | 'RANDOM';

/** Where a page starts: after the entry with this sort key (score or seeded hash) and image id. */
export interface ReviewQueuePosition {
  key: string;
  imageId: string;
}

export interface ReviewQueueRequest {
  /** whose scores: null has none (a RANDOM queue without a model then shows every score as 0) */
  modelVersionId: number | null;
  order: ReviewOrder;
  /** RANDOM only: which shuffle (the same seed gives the same order) */
  seed: number;
  filter: ImageFilter | null;
  first: number;
  after: ReviewQueuePosition | null;
}

export interface ReviewQueueEntry {
  image: ImageRow;
  /** 0 when the model version has not scored the image (RANDOM order only) */
  score: number;
  reasons: UncertaintyReason[];
  position: ReviewQueuePosition;
}

export interface ReviewQueuePage {
  entries: ReviewQueueEntry[];
  hasNextPage: boolean;
}

interface QueueRow extends ImageRow {
  score: number | null;
  reasons: UncertaintyReason[] | null;
  sort_key: string;
}

/** The statement of one page (`first + 1` rows, the extra one telling whether a page follows) and its parameters. */
export async function reviewQueueStatement(
  vocabulary: VocabularyCache,
  request: ReviewQueueRequest,
): Promise<{ sql: string; params: unknown[] }> {
  const params = new SqlParameters();
  const condition = await compileImageFilter(vocabulary, request.filter, params);
  const version = `${params.add(request.modelVersionId)}::integer`;
  const limit = params.add(request.first + 1);
  if (request.order === 'UNCERTAINTY') {
    const after = request.after
      ? `AND (r.score, r.image_id) < (${params.add(request.after.key)}::real, ${params.add(request.after.imageId)}::bigint)`
      : '';
    const sql = `SELECT ${IMAGE_COLUMNS}, r.score, r.reasons, r.score::text AS sort_key
             FROM review_scores r JOIN images i ON i.id = r.image_id
            WHERE r.model_version_id = ${version} AND NOT r.reviewed AND i.reviewed_at IS NULL ${after} AND (${condition})
            ORDER BY r.score DESC, r.image_id DESC LIMIT ${limit}`;
    return { sql, params: params.values };
  }
  const key = `hashint8extended(i.id, ${params.add(request.seed)}::bigint)`;
  const after = request.after
    ? `AND (${key}, i.id) > (${params.add(request.after.key)}::bigint, ${params.add(request.after.imageId)}::bigint)`
    : '';
  const sql = `SELECT ${IMAGE_COLUMNS}, r.score, r.reasons, ${key}::text AS sort_key
           FROM images i LEFT JOIN review_scores r ON r.image_id = i.id AND r.model_version_id = ${version}
          WHERE i.reviewed_at IS NULL ${after} AND (${condition})
          ORDER BY ${key}, i.id LIMIT ${limit}`;
  return { sql, params: params.values };
}

/** A page of the review queue (see the module comment for how each order is read). */
export async function reviewQueuePage(
  dataSource: DataSource,
  vocabulary: VocabularyCache,
  request: ReviewQueueRequest,
): Promise<ReviewQueuePage> {
  const { sql, params } = await reviewQueueStatement(vocabulary, request);
  const rows: QueueRow[] = await dataSource.query(sql, params);
  const entries = rows.slice(0, request.first).map(({ score, reasons, sort_key, ...image }) => ({
    image: { ...image, id: String(image.id) },
    score: score ?? 0,
    reasons: reasons ?? [],
    position: { key: sort_key, imageId: String(image.id) },
  }));
  return { entries, hasNextPage: rows.length > request.first };
}
