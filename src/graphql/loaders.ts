/**
 * Per-request DataLoaders: every field that needs rows for many parents (garments of each image,
 * attributes of each garment, …) is answered with one `= ANY($1)` query per kind of row, so a page
 * of 50 images with garments and attributes costs a constant handful of queries.
 */
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { GARMENT_ATTRIBUTE_KINDS, IMAGE_ATTRIBUTE_KINDS } from '../kfashion/types';
import { englishLabel } from '../kfashion/vocabulary';
import { GARMENT_COLUMNS, GarmentRow, IMAGE_COLUMNS, ImageRow, isAttributeKind } from '../db/search';
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

export class Loaders {
  readonly image: DataLoader<string, T.Image | null>;
  readonly attributes: DataLoader<string, T.GarmentAttribute[]>;
  readonly styles: DataLoader<string, T.Style[]>;
  readonly modelVersion: DataLoader<number, T.ModelVersion | null>;
  readonly trainingRun: DataLoader<number, T.TrainingRun | null>;
  private readonly garmentsBySource = new Map<string, DataLoader<string, T.Garment[]>>();

  constructor(private readonly dataSource: DataSource) {
    const query = <Row>(sql: string, params: unknown[]): Promise<Row[]> => dataSource.query(sql, params);
    this.image = new DataLoader(async (ids) => {
      const rows = await query<ImageRow>(`SELECT ${IMAGE_COLUMNS} FROM images i WHERE i.id = ANY($1::bigint[])`, [ids]);
      return groupBy(ids, rows, (row) => String(row.id)).map((group) => (group[0] ? toImage(group[0]) : null));
    });
    this.attributes = new DataLoader(async (garmentIds) => {
      const rows = await query<{ garment_id: string; kind: string; value: string; value_en: string | null; score: number | null }>(
        `SELECT ga.garment_id, v.kind, v.value, v.value_en, ga.score
           FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
          WHERE ga.garment_id = ANY($1::bigint[])
          ORDER BY ga.garment_id, ga.score DESC NULLS LAST, v.value`,
        [garmentIds],
      );
      return groupBy(garmentIds, rows, (row) => String(row.garment_id)).map((group) =>
        group
          .map((row) => ({ kind: row.kind, value: row.value, valueEn: label(row.kind, row.value, row.value_en), score: row.score }))
          .sort((a, b) => (KIND_ORDER.get(a.kind) ?? 99) - (KIND_ORDER.get(b.kind) ?? 99)),
      );
    });
    this.styles = new DataLoader(async (imageIds) => {
      const rows = await query<{ image_id: string; style: string; style_en: string | null; sub: string | null; sub_en: string | null }>(
        `SELECT s.image_id, st.value AS style, st.value_en AS style_en, ss.value AS sub, ss.value_en AS sub_en
           FROM image_styles s JOIN vocabulary st ON st.id = s.style_id LEFT JOIN vocabulary ss ON ss.id = s.sub_style_id
          WHERE s.image_id = ANY($1::bigint[]) ORDER BY s.image_id, s.position`,
        [imageIds],
      );
      return groupBy(imageIds, rows, (row) => String(row.image_id)).map((group) =>
        group.map((row) => ({
          style: row.style,
          styleEn: label('style', row.style, row.style_en),
          subStyle: row.sub,
          subStyleEn: row.sub === null ? null : label('subStyle', row.sub, row.sub_en),
        })),
      );
    });
    this.modelVersion = new DataLoader(async (ids) => {
      const rows = await query<Record<string, unknown> & { id: number }>(
        `SELECT id, name, backbone, config, metrics, is_active AS "isActive", created_at AS "createdAt",
                training_run_id AS "trainingRunId" FROM model_versions WHERE id = ANY($1::int[])`,
        [ids],
      );
      return groupBy(ids, rows, (row) => row.id).map((group) => (group[0] ? toModelVersion(group[0]) : null));
    });
    this.trainingRun = new DataLoader(async (ids) => {
      const rows = await query<Record<string, unknown> & { id: number }>(
        `SELECT ${TRAINING_RUN_COLUMNS} FROM training_runs WHERE id = ANY($1::int[])`,
        [ids],
      );
      return groupBy(ids, rows, (row) => row.id).map((group) => (group[0] ? toTrainingRun(group[0]) : null));
    });
  }

  /** Garments of each image, optionally only annotations or only predictions. */
  garments(source: string | null | undefined): DataLoader<string, T.Garment[]> {
    const key = source ?? 'any';
    let loader = this.garmentsBySource.get(key);
    if (!loader) {
      loader = new DataLoader(async (imageIds) => {
        const rows = await this.dataSource.query(
          `SELECT ${GARMENT_COLUMNS} FROM garments g LEFT JOIN vocabulary c ON c.id = g.category_id
            WHERE g.image_id = ANY($1::bigint[]) AND ($2::text IS NULL OR g.source = $2)
            ORDER BY g.image_id, g.id`,
          [imageIds, source ?? null],
        );
        return groupBy(imageIds, rows as GarmentRow[], (row) => String(row.image_id)).map((group) => group.map(toGarment));
      });
      this.garmentsBySource.set(key, loader);
    }
    return loader;
  }
}

export const TRAINING_RUN_COLUMNS = `id, status, params, progress, error, created_at AS "createdAt", started_at AS "startedAt",
  finished_at AS "finishedAt", model_version_id AS "modelVersionId"`;

export function toModelVersion(row: Record<string, unknown>): T.ModelVersion {
  return Object.assign(new T.ModelVersion(), row);
}

export function toTrainingRun(row: Record<string, unknown>): T.TrainingRun {
  return Object.assign(new T.TrainingRun(), row);
}
