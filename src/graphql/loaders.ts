/**
 * Per-request DataLoaders: every field that needs rows for many parents (garments of each image,
 * attributes of each garment, the log and metrics of each training run, …) is answered with one
 * statement per kind of row (src/db/images.ts, training-runs.ts), so a page of 50 images with
 * garments and attributes, or a list of runs with their logs, costs a constant handful of statements.
 */
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { GARMENT_ATTRIBUTE_KINDS, IMAGE_ATTRIBUTE_KINDS } from '../kfashion/types';
import { englishLabel } from '../kfashion/vocabulary';
import { attributesOfGarments, garmentsByIds, garmentsOfImages, imagesByIds, stylesOfImages } from '../db/images';
import { modelVersionsByIds, type ModelVersionSummary } from '../db/model-version-admin';
import type { GarmentRow, ImageRow } from '../db/search';
import { isAttributeKind } from '../db/search-filter';
import { runCurves, runLogs, runMetrics, trainingRunsByIds, type RunLogRow, type TrainingRunRow } from '../db/training-runs';
import { predictionJobsByIds } from '../db/prediction-job-views';
import { embeddedGarmentKeys } from '../db/garment-embeddings';
import { activeModelVersionId } from '../db/model-versions';
import { datasetsByIds } from '../db/datasets';
import { TRAINING_PHASES } from '../db/training-progress';
import { LossCurve, PredictionJob } from './training/types';
import {
  countEdits,
  editHistories,
  garmentEditsByIds,
  type EditScope,
  type GarmentEditRow,
  type GarmentSnapshot as StoredSnapshot,
} from '../db/garment-edits';
import { GarmentEdit, GarmentSnapshot } from './edits/types';
import * as T from './types';

const KIND_ORDER = new Map<string, number>([...GARMENT_ATTRIBUTE_KINDS, ...IMAGE_ATTRIBUTE_KINDS].map((k, i) => [k, i]));

export function toImage(row: ImageRow): T.Image {
  return Object.assign(new T.Image(), {
    id: String(row.id),
    externalId: row.external_id,
    fileName: row.file_name,
    width: row.width,
    height: row.height,
    split: row.split as T.Split | null,
    reviewedAt: row.reviewed_at,
    datasetId: row.dataset_id,
  });
}

export function toGarment(row: GarmentRow): T.Garment {
  const polygon: T.Point[] = [];
  for (let i = 0; i + 1 < (row.polygon?.length ?? 0); i += 2) polygon.push({ x: row.polygon![i], y: row.polygon![i + 1] });
  return Object.assign(new T.Garment(), {
    id: String(row.id),
    superCategory: row.super_category,
    category: row.category,
    categoryEn: row.category === null ? null : englishLabel('category', row.category),
    box: { x1: row.x1, y1: row.y1, x2: row.x2, y2: row.y2 },
    polygon,
    source: row.source as T.LabelSource,
    score: row.score,
    revision: row.revision,
    editedAt: row.edited_at,
    imageId: String(row.image_id),
    modelVersionId: row.model_version_id,
  });
}

function label(kind: string, value: string, stored: string | null): string | null {
  return stored ?? (isAttributeKind(kind) ? englishLabel(kind, value) : null);
}

/** Groups rows by a key, in the order of `keys` (DataLoader's contract). */
function groupBy<Row, Key extends string | number>(keys: readonly Key[], rows: Row[], keyOf: (row: Row) => Key): Row[][] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = String(keyOf(row));
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return keys.map((key) => groups.get(String(key)) ?? []);
}

/** One loader per key: a field with an argument (`garments(source:)`, `metrics(name:)`) gets one loader per value. */
function keyedLoaders<Value>(
  make: (key: string | null) => DataLoader<string, Value>,
): (key: string | null | undefined) => DataLoader<string, Value> {
  const loaders = new Map<string, DataLoader<string, Value>>();
  return (key) => {
    const name = key ?? '';
    let loader = loaders.get(name);
    if (!loader) loaders.set(name, (loader = make(key ?? null)));
    return loader;
  };
}

export class Loaders {
  /** The active model version's id (null: none), read once per request. */
  activeModelVersionId(): Promise<number | null> {
    this.activeVersion ??= activeModelVersionId(this.dataSource);
    return this.activeVersion;
  }

  readonly image: DataLoader<string, T.Image | null>;
  readonly garment: DataLoader<string, T.Garment | null>;
  readonly attributes: DataLoader<string, T.GarmentAttribute[]>;
  readonly styles: DataLoader<string, T.Style[]>;
  readonly modelVersion: DataLoader<number, T.ModelVersion | null>;
  readonly trainingRun: DataLoader<number, T.TrainingRun | null>;
  readonly predictionJob: DataLoader<number, PredictionJob | null>;
  readonly dataset: DataLoader<number, T.Dataset | null>;
  readonly garmentEdit: DataLoader<string, GarmentEdit | null>;
  /**
   * History of each garment or image (key "scope:limit:beforeId"): one page, `limit` rows below
   * edit `beforeId`, plus one row to tell whether more follow.
   */
  readonly editHistory: (page: string | null | undefined) => DataLoader<string, GarmentEditRow[]>;
  /** Number of edits of each garment or image (key: the scope). */
  readonly editCount: (scope: string | null | undefined) => DataLoader<string, number>;
  /** Log and attempt count of each run (kept out of the run rows: the log can be long). */
  readonly runLog: DataLoader<number, RunLogRow | null>;
  readonly lossCurves: DataLoader<number, LossCurve[]>;
  /** Whether a garment has an embedding under a model version, by "versionId:garmentId". */
  readonly hasEmbedding: DataLoader<string, boolean>;
  private activeVersion: Promise<number | null> | null = null;
  /** Garments of each image, optionally only annotations or only predictions. */
  readonly garments: (source: string | null | undefined) => DataLoader<string, T.Garment[]>;
  /** Recorded metrics of each run (as `String(run id)`), optionally of one name. */
  readonly metrics: (name: string | null | undefined) => DataLoader<string, T.TrainingMetric[]>;

  constructor(private readonly dataSource: DataSource) {
    this.hasEmbedding = new DataLoader(async (keys) => {
      const pairs = keys.map((key) => {
        const [version, garment] = key.split(':');
        return { modelVersionId: Number(version), garmentId: garment };
      });
      const found = await embeddedGarmentKeys(dataSource, pairs);
      return keys.map((key) => found.has(key));
    });
    this.image = new DataLoader(async (ids) =>
      groupBy(ids, await imagesByIds(dataSource, ids), (row) => String(row.id)).map((group) => (group[0] ? toImage(group[0]) : null)),
    );
    this.garment = new DataLoader(async (ids) =>
      groupBy(ids, await garmentsByIds(dataSource, ids), (row) => String(row.id)).map((group) => (group[0] ? toGarment(group[0]) : null)),
    );
    this.attributes = new DataLoader(async (garmentIds) =>
      groupBy(garmentIds, await attributesOfGarments(dataSource, garmentIds), (row) => String(row.garment_id)).map((group) =>
        group
          // The kinds of garment_attributes rows are garment kinds (the importer's and the model server's vocabulary).
          .map((row) => ({
            kind: row.kind as T.AttributeKind,
            value: row.value,
            valueEn: label(row.kind, row.value, row.value_en),
            score: row.score,
          }))
          .sort((a, b) => (KIND_ORDER.get(a.kind) ?? 99) - (KIND_ORDER.get(b.kind) ?? 99)),
      ),
    );
    this.styles = new DataLoader(async (imageIds) =>
      groupBy(imageIds, await stylesOfImages(dataSource, imageIds), (row) => String(row.image_id)).map((group) =>
        group.map((row) => ({
          style: row.style,
          styleEn: label('style', row.style, row.style_en),
          subStyle: row.sub,
          subStyleEn: row.sub === null ? null : label('subStyle', row.sub, row.sub_en),
        })),
      ),
    );
    this.modelVersion = new DataLoader(async (ids) =>
      groupBy(ids, await modelVersionsByIds(dataSource, ids), (row) => row.id).map((group) => (group[0] ? toModelVersion(group[0]) : null)),
    );
    this.trainingRun = new DataLoader(async (ids) =>
      groupBy(ids, await trainingRunsByIds(dataSource, ids), (row) => row.id).map((group) => (group[0] ? toTrainingRun(group[0]) : null)),
    );
    this.predictionJob = new DataLoader(async (ids) =>
      groupBy(ids, await predictionJobsByIds(dataSource, ids), (row) => Number(row.id)).map((group) =>
        group[0] ? toPredictionJob(group[0]) : null,
      ),
    );
    this.dataset = new DataLoader(async (ids) =>
      groupBy(ids, await datasetsByIds(dataSource, ids), (row) => row.id).map((group) =>
        group[0] ? Object.assign(new T.Dataset(), group[0]) : null,
      ),
    );
    this.garmentEdit = new DataLoader(async (ids) =>
      groupBy(ids, await garmentEditsByIds(dataSource, ids), (row) => String(row.id)).map((group) =>
        group[0] ? toGarmentEdit(group[0]) : null,
      ),
    );
    this.editHistory = keyedLoaders((page) => {
      const [scope, limit, beforeId] = (page ?? '').split(':');
      return new DataLoader(async (ownerIds) =>
        groupBy(
          ownerIds,
          await editHistories(dataSource, scope as EditScope, ownerIds, { limit: Number(limit), beforeId: beforeId || null }),
          (row) => String(row.owner_id),
        ),
      );
    });
    this.editCount = keyedLoaders(
      (scope) =>
        new DataLoader(async (ownerIds) =>
          groupBy(ownerIds, await countEdits(dataSource, scope as EditScope, ownerIds), (row) => String(row.owner_id)).map(
            (group) => group[0]?.n ?? 0,
          ),
        ),
    );
    this.runLog = new DataLoader(async (ids) =>
      groupBy(ids, await runLogs(dataSource, ids), (row) => row.id).map((group) => group[0] ?? null),
    );
    this.lossCurves = new DataLoader(async (ids) =>
      groupBy(ids, await runCurves(dataSource, ids), (row) => row.training_run_id).map((group) =>
        group.map(({ name, steps, values }) => Object.assign(new LossCurve(), { name, steps, values })),
      ),
    );
    this.garments = keyedLoaders(
      (source) =>
        new DataLoader(async (imageIds) =>
          groupBy(imageIds, await garmentsOfImages(dataSource, imageIds, source), (row) => String(row.image_id)).map((group) =>
            group.map(toGarment),
          ),
        ),
    );
    this.metrics = keyedLoaders(
      (name) =>
        new DataLoader(async (runIds) =>
          groupBy(runIds, await runMetrics(dataSource, runIds.map(Number), name), (row) => String(row.training_run_id)).map((group) =>
            group.map(({ step, epoch, name: metric, value }) => ({ step, epoch, name: metric, value })),
          ),
        ),
    );
  }
}

/** A history row's snapshot as the API shows it (English labels added). */
function toSnapshot(stored: StoredSnapshot | null): GarmentSnapshot | null {
  if (stored === null) return null;
  return Object.assign(new GarmentSnapshot(), {
    superCategory: stored.superCategory,
    category: stored.category,
    categoryEn: stored.category === null ? null : englishLabel('category', stored.category),
    box: stored.box,
    polygon: stored.polygon,
    attributes: stored.attributes.map((a) => ({ kind: a.kind, value: a.value, valueEn: englishLabel(a.kind, a.value), score: a.score })),
    source: stored.source as T.LabelSource,
    score: stored.score,
  });
}

export function toGarmentEdit(row: GarmentEditRow): GarmentEdit {
  return Object.assign(new GarmentEdit(), {
    id: String(row.id),
    action: row.action,
    garmentKey: String(row.garment_id),
    editor: row.editor,
    createdAt: row.created_at,
    revision: row.revision,
    before: toSnapshot(row.before),
    after: toSnapshot(row.after),
    revertedEditKey: row.reverted_edit_id === null ? null : String(row.reverted_edit_id),
  });
}

export function toModelVersion(row: ModelVersionSummary): T.ModelVersion {
  return Object.assign(new T.ModelVersion(), row);
}

export function toTrainingRun(row: TrainingRunRow): T.TrainingRun {
  return Object.assign(new T.TrainingRun(), row, {
    progress: row.progress === null ? null : toTrainingProgress(row.progress),
    labelCounts: toLabelCounts(row.labelCounts),
  });
}

const LABEL_COUNT_FIELDS = ['annotatedImages', 'annotatedGarments', 'reviewedImages', 'reviewedGarments'] as const;

/** The typed label counts of a run's stored JSON; null when absent or not four counts (written by another version). */
function toLabelCounts(stored: Record<string, unknown> | null | undefined): T.TrainingLabelCounts | null {
  if (!stored || !LABEL_COUNT_FIELDS.every((field) => Number.isInteger(stored[field]))) return null;
  return Object.assign(new T.TrainingLabelCounts(), Object.fromEntries(LABEL_COUNT_FIELDS.map((field) => [field, stored[field]])));
}

const PHASES: ReadonlySet<string> = new Set(TRAINING_PHASES);

/**
 * The typed progress of a run's stored JSON. The JSON is what some model server wrote (possibly an
 * older one): a value of the wrong type is left out as null rather than failing the whole answer.
 */
export function toTrainingProgress(stored: Record<string, unknown>): T.TrainingProgress {
  const finite = (key: string) => (typeof stored[key] === 'number' && Number.isFinite(stored[key]) ? stored[key] : null);
  const integer = (key: string) => (Number.isInteger(stored[key]) ? (stored[key] as number) : null);
  const losses =
    stored.losses !== null && typeof stored.losses === 'object' ? Object.entries(stored.losses as Record<string, unknown>) : null;
  return Object.assign(new T.TrainingProgress(), {
    phase: typeof stored.phase === 'string' && PHASES.has(stored.phase) ? (stored.phase as T.TrainingPhase) : null,
    epoch: integer('epoch'),
    epochs: integer('epochs'),
    step: integer('step'),
    totalSteps: integer('totalSteps'),
    losses:
      losses &&
      losses
        .filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]))
        .map(([name, value]) => ({ name, value })),
    lr: finite('lr'),
    imagesPerSecond: finite('imagesPerSecond'),
    etaSeconds: finite('etaSeconds'),
    trainImages: integer('trainImages'),
    skippedImages: integer('skippedImages'),
    resumedFromStep: integer('resumedFromStep'),
  });
}

export function toPredictionJob(row: Record<string, unknown>): PredictionJob {
  return Object.assign(new PredictionJob(), {
    id: Number(row.id),
    status: row.status,
    total: row.total,
    done: row.done,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    modelVersionId: Number(row.model_version_id),
    kind: row.kind,
    chunks: row.chunks,
    chunkSize: row.chunk_size,
  });
}
