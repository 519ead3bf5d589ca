/**
 * The annotation garments that training and evaluation learn from and are judged on, read from the
 * database. The ML side defines what it needs (TrainingExampleSource, AnnotatedImage in src/ml) and
 * never sees SQL; these readers fill those shapes. They import only types from src/ml, erased at
 * run time, so reading examples never loads the ML stack.
 */
import type { DataSource } from 'typeorm';
import type {
  AnnotatedGarment,
  AttributeValueCount,
  CategoryCount,
  DatasetScope,
  SplitName,
  TrainingExampleSource,
} from '../ml/data/dataset';
import type { AnnotatedImage } from '../ml/eval/ground-truth';
import type { SuperCategory } from '../kfashion/types';
import { imageFilePath } from './stored-images';

/** SQL expression: the garment `g`'s attribute values as a JSON array of {kind, value} (null when none). */
const GARMENT_TERMS_SQL = `(SELECT json_agg(json_build_object('kind', v.kind, 'value', v.value))
   FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
  WHERE ga.garment_id = g.id)`;

/**
 * The images of the scope as a SQL condition over the images alias `i` (split is `$split`). The
 * training split's images are chosen by `labels` (DatasetFilter.labels): a reviewed photo without a
 * split (an upload a person checked) is a training image too; the validation split is read whole.
 */
function imageScopeSql(scope: DatasetScope, split: string, i: string): string {
  if (scope.split !== 'train') return `${i}.split = ${split}`;
  const reviewed = `${i}.reviewed_at IS NOT NULL`;
  switch (scope.labels) {
    case 'ANNOTATIONS':
      return `(${i}.split = ${split} AND ${i}.reviewed_at IS NULL)`;
    case 'REVIEWED':
      return `((${i}.split = ${split} OR ${i}.split IS NULL) AND ${reviewed})`;
    case 'BOTH':
      return `(${i}.split = ${split} OR (${i}.split IS NULL AND ${reviewed}))`;
  }
}

/** The garments in scope as a SQL condition over `g` (garments); pushes its parameters. */
function scopeSql(scope: DatasetScope, params: unknown[]): string {
  params.push(scope.split);
  const split = `$${params.length}`;
  // The validation split and the unreviewed annotations (the default) keep to garments.split, the index the readers use.
  let images = `EXISTS (SELECT 1 FROM images r WHERE r.id = g.image_id AND ${imageScopeSql(scope, split, 'r')})`;
  if (scope.split !== 'train') images = `g.split = ${split}`;
  else if (scope.labels === 'ANNOTATIONS')
    images = `g.split = ${split} AND NOT EXISTS (SELECT 1 FROM images r WHERE r.id = g.image_id AND r.reviewed_at IS NOT NULL)`;
  let sql = `g.source = 'annotation' AND ${images}`;
  if (scope.superCategories) {
    params.push(scope.superCategories);
    sql += ` AND g.super_category = ANY($${params.length}::text[])`;
  }
  if (scope.maxImages) {
    params.push(scope.maxImages);
    sql += ` AND g.image_id IN (SELECT id FROM images i WHERE ${imageScopeSql(scope, split, 'i')} ORDER BY id LIMIT $${params.length})`;
  }
  return sql;
}

interface GarmentRow {
  image_id: string;
  image_path: string | null;
  root_path: string | null;
  width: number;
  height: number;
  super_category: SuperCategory | null;
  category: string | null;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  terms: { kind: string; value: string }[] | null;
  reviewed?: boolean;
}

/** The training examples of the database; `uploadsDir` resolves the files of uploaded images. */
export function databaseExampleSource(dataSource: DataSource, uploadsDir?: string): TrainingExampleSource {
  return {
    categoryCounts: (scope) => categoryCounts(dataSource, scope),
    attributeValueCounts: (scope, kinds, minCount) => attributeValueCounts(dataSource, scope, kinds, minCount),
    countImagesWithCategories: (scope, categories) => countImagesWithCategories(dataSource, scope, categories),
    annotatedGarments: (scope) => annotatedGarments(dataSource, scope, uploadsDir),
  };
}

async function categoryCounts(dataSource: DataSource, scope: DatasetScope): Promise<CategoryCount[]> {
  const params: unknown[] = [];
  const rows: { value: string; super_category: SuperCategory; count: string }[] = await dataSource.query(
    `SELECT v.value, g.super_category, count(*) AS count
       FROM garments g JOIN vocabulary v ON v.id = g.category_id
      WHERE ${scopeSql(scope, params)}
      GROUP BY v.value, g.super_category`,
    params,
  );
  return rows.map((row) => ({ category: row.value, superCategory: row.super_category, count: Number(row.count) }));
}

async function attributeValueCounts(
  dataSource: DataSource,
  scope: DatasetScope,
  kinds: string[],
  minCount: number,
): Promise<AttributeValueCount[]> {
  const params: unknown[] = [];
  const scopeCondition = scopeSql(scope, params);
  params.push(minCount, kinds);
  const rows: { kind: string; value: string; count: string }[] = await dataSource.query(
    `SELECT v.kind, v.value, count(*) AS count
       FROM garments g JOIN garment_attributes ga ON ga.garment_id = g.id JOIN vocabulary v ON v.id = ga.vocabulary_id
      WHERE ${scopeCondition} AND v.kind = ANY($${params.length}::text[])
      GROUP BY v.kind, v.value
     HAVING count(*) >= $${params.length - 1}`,
    params,
  );
  return rows.map((row) => ({ kind: row.kind, value: row.value, count: Number(row.count) }));
}

async function countImagesWithCategories(dataSource: DataSource, scope: DatasetScope, categories: string[]): Promise<number> {
  const params: unknown[] = [];
  const scopeCondition = scopeSql(scope, params);
  params.push(categories);
  const rows: { n: number }[] = await dataSource.query(
    `SELECT count(DISTINCT g.image_id)::int AS n FROM garments g JOIN vocabulary c ON c.id = g.category_id
      WHERE ${scopeCondition} AND c.value = ANY($${params.length}::text[])`,
    params,
  );
  return rows[0].n;
}

async function annotatedGarments(dataSource: DataSource, scope: DatasetScope, uploadsDir: string | undefined): Promise<AnnotatedGarment[]> {
  const params: unknown[] = [];
  const rows: GarmentRow[] = await dataSource.query(
    `SELECT g.image_id, i.image_path, d.root_path, i.width, i.height, c.value AS category, g.x1, g.y1, g.x2, g.y2,
            ${GARMENT_TERMS_SQL} AS terms, i.reviewed_at IS NOT NULL AS reviewed
       FROM garments g
       JOIN images i ON i.id = g.image_id
       LEFT JOIN datasets d ON d.id = i.dataset_id
       LEFT JOIN vocabulary c ON c.id = g.category_id
      WHERE ${scopeSql(scope, params)}
      ORDER BY g.image_id, g.id`,
    params,
  );
  return rows.map((row) => ({
    imageId: String(row.image_id),
    path: imageFilePath(row.image_path, row.root_path, uploadsDir),
    width: row.width,
    height: row.height,
    category: row.category,
    box: [row.x1, row.y1, row.x2, row.y2],
    terms: row.terms ?? [],
    reviewed: row.reviewed === true,
  }));
}

/**
 * The images of a split (id order, at most `maxImages`) with their annotation garments, for
 * evaluation. Images of the split without garments are included: every detection on them is a false
 * positive.
 */
export async function annotatedSplitImages(
  dataSource: DataSource,
  split: SplitName,
  options: { maxImages?: number; uploadsDir?: string } = {},
): Promise<AnnotatedImage[]> {
  const rows: GarmentRow[] = await dataSource.query(
    `SELECT i.id AS image_id, i.image_path, d.root_path, i.width, i.height,
            g.super_category, c.value AS category, g.x1, g.y1, g.x2, g.y2,
            ${GARMENT_TERMS_SQL} AS terms
       FROM (SELECT * FROM images WHERE split = $1 ORDER BY id LIMIT $2) i
       LEFT JOIN datasets d ON d.id = i.dataset_id
       LEFT JOIN garments g ON g.image_id = i.id AND g.source = 'annotation'
       LEFT JOIN vocabulary c ON c.id = g.category_id
      ORDER BY i.id, g.id`,
    [split, options.maxImages ?? null],
  );
  const images = new Map<string, AnnotatedImage>();
  for (const row of rows) {
    const id = String(row.image_id);
    let image = images.get(id);
    if (!image) {
      image = {
        id,
        path: imageFilePath(row.image_path, row.root_path, options.uploadsDir),
        width: row.width,
        height: row.height,
        garments: [],
      };
      images.set(id, image);
    }
    if (row.super_category === null) continue;
    image.garments.push({
      superCategory: row.super_category,
      category: row.category,
      box: [row.x1, row.y1, row.x2, row.y2],
      terms: row.terms ?? [],
    });
  }
  return [...images.values()];
}
