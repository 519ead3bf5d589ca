/**
 * Images and their garments, attributes and styles read by id for the API: many parents per
 * statement (`= ANY($1)`), so the GraphQL loaders answer a page of images with a constant handful
 * of statements; and where an image's file lies (for the image routes and analyzeImage).
 */
import type { DataSource } from 'typeorm';
import { GARMENT_COLUMNS, IMAGE_COLUMNS, type GarmentRow, type ImageRow } from './search';

const GARMENTS_WITH_CATEGORY = `SELECT ${GARMENT_COLUMNS} FROM garments g LEFT JOIN vocabulary c ON c.id = g.category_id`;

export async function imagesByIds(dataSource: DataSource, ids: readonly string[]): Promise<ImageRow[]> {
  return dataSource.query(`SELECT ${IMAGE_COLUMNS} FROM images i WHERE i.id = ANY($1::bigint[])`, [ids]);
}

/** Garments by id, in id order. */
export async function garmentsByIds(dataSource: DataSource, ids: readonly string[]): Promise<GarmentRow[]> {
  return dataSource.query(`${GARMENTS_WITH_CATEGORY} WHERE g.id = ANY($1::bigint[]) ORDER BY g.id`, [ids]);
}

/** Garments of each image (by image, then id), optionally only annotations or only predictions. */
export async function garmentsOfImages(dataSource: DataSource, imageIds: readonly string[], source: string | null): Promise<GarmentRow[]> {
  return dataSource.query(
    `${GARMENTS_WITH_CATEGORY} WHERE g.image_id = ANY($1::bigint[]) AND ($2::text IS NULL OR g.source = $2) ORDER BY g.image_id, g.id`,
    [imageIds, source],
  );
}

export interface AttributeRow {
  garment_id: string;
  kind: string;
  value: string;
  value_en: string | null;
  score: number | null;
}

/** Attribute values of each garment, the most confident first. */
export async function attributesOfGarments(dataSource: DataSource, garmentIds: readonly string[]): Promise<AttributeRow[]> {
  return dataSource.query(
    `SELECT ga.garment_id, v.kind, v.value, v.value_en, ga.score
       FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
      WHERE ga.garment_id = ANY($1::bigint[])
      ORDER BY ga.garment_id, ga.score DESC NULLS LAST, v.value`,
    [garmentIds],
  );
}

export interface StyleRow {
  image_id: string;
  style: string;
  style_en: string | null;
  sub: string | null;
  sub_en: string | null;
}

/** Styles of each image in their annotated order. */
export async function stylesOfImages(dataSource: DataSource, imageIds: readonly string[]): Promise<StyleRow[]> {
  return dataSource.query(
    `SELECT s.image_id, st.value AS style, st.value_en AS style_en, ss.value AS sub, ss.value_en AS sub_en
       FROM image_styles s JOIN vocabulary st ON st.id = s.style_id LEFT JOIN vocabulary ss ON ss.id = s.sub_style_id
      WHERE s.image_id = ANY($1::bigint[]) ORDER BY s.image_id, s.position`,
    [imageIds],
  );
}

/** An image with the root folder of its dataset (null for uploads, which belong to none). */
export type ImageFileRow = ImageRow & { root_path: string | null };

export async function imageWithRoot(dataSource: DataSource, id: string): Promise<ImageFileRow | null> {
  const rows: ImageFileRow[] = await dataSource.query(
    `SELECT ${IMAGE_COLUMNS}, d.root_path FROM images i LEFT JOIN datasets d ON d.id = i.dataset_id WHERE i.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export interface GarmentBox {
  id: string;
  image_id: string;
  super_category: string;
  category: string | null;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  source: string;
  score: number | null;
}

export async function garmentBox(dataSource: DataSource, id: string): Promise<GarmentBox | null> {
  const rows = await garmentsByIds(dataSource, [id]);
  return rows[0] ?? null;
}

/** The boxes drawn on an image, optionally only annotations or only predictions. */
export async function boxesOfImage(dataSource: DataSource, imageId: string, source: string | null): Promise<GarmentBox[]> {
  return garmentsOfImages(dataSource, [imageId], source);
}
