/**
 * Training and evaluation data from the database.
 *
 * The label space is read from the annotations of the training split (after the filters): classes are
 * the categories present, each with the super-category it is annotated under; attributes are the
 * requested kinds with the values seen at least `minValueCount` times. It is frozen into the model
 * config (class_names, attributes) and never re-derived for a run that resumes.
 *
 * Targets follow the model's conventions (AttributeRCNN.GarmentTarget): a single-label kind is a value
 * index or null when the garment has no (kept) value for it, a multi-label kind a list of indices or
 * null when the garment has none (K-Fashion leaves a kind out when it was not labelled, so "none" and
 * "not labelled" cannot be told apart; null keeps it out of the loss). Garments whose category is not
 * a class (filtered out, or no category) are dropped; images left without garments are not used.
 */
import type { DataSource } from 'typeorm';
import type { AttributeSpec } from '../model/config';
import { GARMENT_ATTRIBUTE_KINDS, MULTI_VALUED_KINDS, SuperCategory, type AttributeKind } from '../../kfashion/types';
import { GARMENT_TERMS_SQL, imageFilePath } from '../../db/garment-rows';

export type SplitName = 'train' | 'validation';

/** Kinds a model can learn as attribute heads (category is the class, not an attribute). */
export const TRAINABLE_ATTRIBUTE_KINDS = GARMENT_ATTRIBUTE_KINDS.filter((kind) => kind !== 'category');

export interface DatasetFilter {
  /** Only garments of these slots (default: all). */
  superCategories?: SuperCategory[] | null;
  /** Attribute heads to train (default: every garment kind that has values). */
  attributeKinds?: string[] | null;
  /** A value (and a category) needs at least this many garments to be learnt (default 1). */
  minValueCount?: number | null;
  /** Use at most this many images of a split (the first by id; default: all). */
  maxImages?: number | null;
}

export interface LabelSpaceClass {
  /** Category as stored (Korean), the model's class name. */
  name: string;
  superCategory: SuperCategory;
  /** Garments of this category in the training split. */
  count: number;
}

export interface LabelSpace {
  /** Index i is class label i + 1 (label 0 is the background). */
  classes: LabelSpaceClass[];
  attributes: AttributeSpec[];
}

export interface DatasetGarment {
  /** x1, y1, x2, y2 in the stored image's pixels */
  box: [number, number, number, number];
  label: number;
  attributes: Record<string, number | number[] | null>;
}

export interface DatasetImage {
  imageId: string;
  /** Absolute path of the image file (null when the row has no file). */
  path: string | null;
  width: number;
  height: number;
  garments: DatasetGarment[];
}

export class DatasetError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** Model config fields of a label space. */
export function labelSpaceConfig(space: LabelSpace): { num_classes: number; class_names: string[]; attributes: AttributeSpec[] } {
  return {
    num_classes: space.classes.length + 1,
    class_names: ['__background__', ...space.classes.map((c) => c.name)],
    attributes: space.attributes.map((a) => ({ kind: a.kind, type: a.type, values: [...a.values] })),
  };
}

function checkFilter(filter: DatasetFilter): DatasetFilter & { minValueCount: number } {
  const minValueCount = filter.minValueCount ?? 1;
  if (!Number.isInteger(minValueCount) || minValueCount < 1) {
    throw new DatasetError('minValueCount', `minValueCount must be a positive integer, got ${filter.minValueCount}`);
  }
  for (const kind of filter.attributeKinds ?? []) {
    if (!(TRAINABLE_ATTRIBUTE_KINDS as readonly string[]).includes(kind)) {
      throw new DatasetError('attributeKinds', `unknown attribute kind "${kind}"; known kinds: ${TRAINABLE_ATTRIBUTE_KINDS.join(', ')}`);
    }
  }
  for (const slot of filter.superCategories ?? []) {
    if (!Object.values(SuperCategory).includes(slot)) throw new DatasetError('superCategories', `unknown super-category "${slot}"`);
  }
  if (filter.maxImages !== undefined && filter.maxImages !== null && !(Number.isInteger(filter.maxImages) && filter.maxImages > 0)) {
    throw new DatasetError('maxImages', `maxImages must be a positive integer, got ${filter.maxImages}`);
  }
  return { ...filter, minValueCount };
}

/** The images of a split in scope (id order, optionally limited), as a SQL fragment over `g` (garments). */
function scopeSql(filter: DatasetFilter, split: SplitName, params: unknown[]): string {
  params.push(split);
  let sql = `g.source = 'annotation' AND g.split = $${params.length}`;
  if (filter.superCategories && filter.superCategories.length > 0) {
    params.push(filter.superCategories);
    sql += ` AND g.super_category = ANY($${params.length}::text[])`;
  }
  if (filter.maxImages) {
    params.push(split, filter.maxImages);
    sql += ` AND g.image_id IN (SELECT id FROM images WHERE split = $${params.length - 1} ORDER BY id LIMIT $${params.length})`;
  }
  return sql;
}

/** Reads the label space from the annotations of `split` (normally the training split). */
export async function buildLabelSpace(dataSource: DataSource, filter: DatasetFilter, split: SplitName = 'train'): Promise<LabelSpace> {
  const checked = checkFilter(filter);
  const params: unknown[] = [];
  const scope = scopeSql(checked, split, params);
  params.push(checked.minValueCount);
  const classRows: { value: string; super_category: SuperCategory; count: string }[] = await dataSource.query(
    `SELECT v.value, g.super_category, count(*) AS count
       FROM garments g JOIN vocabulary v ON v.id = g.category_id
      WHERE ${scope}
      GROUP BY v.value, g.super_category`,
    params.slice(0, -1),
  );
  // A category annotated under two slots (a data quirk) belongs to the slot it is most often under.
  const byCategory = new Map<string, LabelSpaceClass>();
  for (const row of classRows) {
    const count = Number(row.count);
    const known = byCategory.get(row.value);
    if (!known) byCategory.set(row.value, { name: row.value, superCategory: row.super_category, count });
    else {
      if (count > known.count) known.superCategory = row.super_category;
      known.count += count;
    }
  }
  const classes = [...byCategory.values()]
    .filter((c) => c.count >= checked.minValueCount)
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));

  const kinds = checked.attributeKinds ?? [...TRAINABLE_ATTRIBUTE_KINDS];
  const valueRows: { kind: string; value: string; count: string }[] = kinds.length === 0 ? [] : await dataSource.query(
    `SELECT v.kind, v.value, count(*) AS count
       FROM garments g JOIN garment_attributes ga ON ga.garment_id = g.id JOIN vocabulary v ON v.id = ga.vocabulary_id
      WHERE ${scope} AND v.kind = ANY($${params.length + 1}::text[])
      GROUP BY v.kind, v.value
     HAVING count(*) >= $${params.length}`,
    [...params, kinds],
  );
  const attributes: AttributeSpec[] = [];
  for (const kind of kinds) {
    const values = valueRows
      .filter((r) => r.kind === kind)
      .sort((a, b) => Number(b.count) - Number(a.count) || a.value.localeCompare(b.value))
      .map((r) => r.value);
    const type = MULTI_VALUED_KINDS.has(kind as AttributeKind) ? 'multi' : 'single';
    // A single-label head needs two values to choose between; a multi-label one needs one.
    if (values.length >= (type === 'single' ? 2 : 1)) attributes.push({ kind, type, values });
  }
  return { classes, attributes };
}

/** How many images of `split` have at least one garment of a class in scope (emptiness checks). */
export async function countDatasetImages(dataSource: DataSource, filter: DatasetFilter, space: LabelSpace, split: SplitName): Promise<number> {
  const params: unknown[] = [];
  const scope = scopeSql(checkFilter(filter), split, params);
  params.push(space.classes.map((c) => c.name));
  const rows: { n: number }[] = await dataSource.query(
    `SELECT count(DISTINCT g.image_id)::int AS n FROM garments g JOIN vocabulary c ON c.id = g.category_id
      WHERE ${scope} AND c.value = ANY($${params.length}::text[])`,
    params,
  );
  return rows[0].n;
}

interface GarmentRow {
  image_id: string;
  image_path: string | null;
  root_path: string | null;
  width: number;
  height: number;
  category: string | null;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  terms: { kind: string; value: string }[] | null;
}

/**
 * The images of `split` in scope with their garments as model targets in the given label space.
 * `uploadsDir` resolves files of images without a dataset (uploads).
 */
export async function loadDatasetImages(
  dataSource: DataSource,
  filter: DatasetFilter,
  space: LabelSpace,
  split: SplitName,
  uploadsDir?: string,
): Promise<DatasetImage[]> {
  const checked = checkFilter(filter);
  const params: unknown[] = [];
  const scope = scopeSql(checked, split, params);
  const rows: GarmentRow[] = await dataSource.query(
    `SELECT g.image_id, i.image_path, d.root_path, i.width, i.height, c.value AS category, g.x1, g.y1, g.x2, g.y2,
            ${GARMENT_TERMS_SQL} AS terms
       FROM garments g
       JOIN images i ON i.id = g.image_id
       LEFT JOIN datasets d ON d.id = i.dataset_id
       LEFT JOIN vocabulary c ON c.id = g.category_id
      WHERE ${scope}
      ORDER BY g.image_id, g.id`,
    params,
  );
  const labelOf = new Map(space.classes.map((c, i) => [c.name, i + 1]));
  const valueIndex = new Map(space.attributes.map((a) => [a.kind, new Map(a.values.map((v, i) => [v, i]))]));
  const images = new Map<string, DatasetImage>();
  for (const row of rows) {
    const label = row.category === null ? undefined : labelOf.get(row.category);
    if (label === undefined) continue;
    let image = images.get(String(row.image_id));
    if (!image) {
      const file = imageFilePath(row.image_path, row.root_path, uploadsDir);
      image = { imageId: String(row.image_id), path: file, width: row.width, height: row.height, garments: [] };
      images.set(image.imageId, image);
    }
    image.garments.push({ box: [row.x1, row.y1, row.x2, row.y2], label, attributes: garmentTargets(space, valueIndex, row.terms ?? []) });
  }
  return [...images.values()];
}

function garmentTargets(
  space: LabelSpace,
  valueIndex: Map<string, Map<string, number>>,
  terms: { kind: string; value: string }[],
): Record<string, number | number[] | null> {
  const out: Record<string, number | number[] | null> = {};
  for (const spec of space.attributes) {
    const index = valueIndex.get(spec.kind)!;
    const found = terms.filter((t) => t.kind === spec.kind).map((t) => index.get(t.value)).filter((i): i is number => i !== undefined);
    if (spec.type === 'single') out[spec.kind] = found.length > 0 ? found[0] : null;
    else out[spec.kind] = found.length > 0 ? [...new Set(found)].sort((a, b) => a - b) : null;
  }
  return out;
}
