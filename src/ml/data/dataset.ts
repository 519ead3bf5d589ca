/**
 * Training and evaluation examples in a model's label space. The rows come from a
 * TrainingExampleSource (the database's is src/db/training-examples.ts); this module only counts,
 * chooses and converts, so it runs on any source of annotated garments.
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
import type { AttributeSpec } from '../model/config';
import { GARMENT_ATTRIBUTE_KINDS, MULTI_VALUED_KINDS, SuperCategory, type AttributeKind } from '../../kfashion/types';

export type SplitName = 'train' | 'validation';

/** Kinds a model can learn as attribute heads (category is the class, not an attribute). */
export const TRAINABLE_ATTRIBUTE_KINDS = GARMENT_ATTRIBUTE_KINDS.filter((kind) => kind !== 'category');

/**
 * Which images' labels a run learns from: ANNOTATIONS, the images nobody reviewed (their annotations
 * as imported, or as edited without a review); REVIEWED, only images a person marked reviewed (their
 * annotation garments after the corrections; uploaded photos without a split count as training
 * images once reviewed); BOTH, all of them.
 */
export const TRAINING_LABELS = ['ANNOTATIONS', 'REVIEWED', 'BOTH'] as const;
export type TrainingLabels = (typeof TRAINING_LABELS)[number];

export interface DatasetFilter {
  /** Only garments of these slots (default: all). */
  superCategories?: SuperCategory[] | null;
  /** Attribute heads to train (default: every garment kind that has values). */
  attributeKinds?: string[] | null;
  /** A value (and a category) needs at least this many garments to be learnt (default 1). */
  minValueCount?: number | null;
  /** Use at most this many images of a split (the first by id; default: all). */
  maxImages?: number | null;
  /** Whose labels (default ANNOTATIONS). */
  labels?: TrainingLabels | null;
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
  /** A person marked the image reviewed (its labels are checked ones). */
  reviewed: boolean;
}

/** How many images and garments of each kind of label a run learns from (TrainingRun.labelCounts). */
export interface LabelCounts {
  annotatedImages: number;
  annotatedGarments: number;
  reviewedImages: number;
  reviewedGarments: number;
}

export function labelCountsOf(images: readonly DatasetImage[]): LabelCounts {
  const counts: LabelCounts = { annotatedImages: 0, annotatedGarments: 0, reviewedImages: 0, reviewedGarments: 0 };
  for (const image of images) {
    if (image.reviewed) {
      counts.reviewedImages += 1;
      counts.reviewedGarments += image.garments.length;
    } else {
      counts.annotatedImages += 1;
      counts.annotatedGarments += image.garments.length;
    }
  }
  return counts;
}

export class DatasetError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
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
  if (filter.labels != null && !TRAINING_LABELS.includes(filter.labels)) {
    throw new DatasetError('labels', `labels must be one of ${TRAINING_LABELS.join(', ')}, got "${filter.labels}"`);
  }
  return { ...filter, minValueCount };
}

/** The annotation garments a reader selects: one split, optionally some slots, optionally its first images by id. */
export interface DatasetScope {
  split: SplitName;
  superCategories: SuperCategory[] | null;
  /** Only the first this many images of the split (by id). */
  maxImages: number | null;
  /** Whose labels, for the training split (the validation split is always read whole). */
  labels: TrainingLabels;
}

export interface CategoryCount {
  category: string;
  superCategory: SuperCategory;
  /** Garments of this category under this super-category. */
  count: number;
}

export interface AttributeValueCount {
  kind: string;
  value: string;
  count: number;
}

/** An annotation garment with its image, as a source returns it. */
export interface AnnotatedGarment {
  imageId: string;
  /** Absolute path of the image file (null when the image has none). */
  path: string | null;
  width: number;
  height: number;
  category: string | null;
  /** x1, y1, x2, y2 in the stored image's pixels */
  box: [number, number, number, number];
  terms: { kind: string; value: string }[];
  /** The image is marked reviewed (absent: not). */
  reviewed?: boolean;
}

/** Where the annotated garments of a split come from. */
export interface TrainingExampleSource {
  /** Garments in scope per (category, super-category). */
  categoryCounts(scope: DatasetScope): Promise<CategoryCount[]>;
  /** Garments in scope per value of the given kinds, for values with at least `minCount` garments. */
  attributeValueCounts(scope: DatasetScope, kinds: string[], minCount: number): Promise<AttributeValueCount[]>;
  /** Images in scope with at least one garment of one of the categories. */
  countImagesWithCategories(scope: DatasetScope, categories: string[]): Promise<number>;
  /** The garments in scope, in image id order (then garment order). */
  annotatedGarments(scope: DatasetScope): Promise<AnnotatedGarment[]>;
}

function scopeOf(filter: DatasetFilter, split: SplitName): DatasetScope {
  const superCategories = filter.superCategories && filter.superCategories.length > 0 ? filter.superCategories : null;
  return { split, superCategories, maxImages: filter.maxImages || null, labels: filter.labels ?? 'ANNOTATIONS' };
}

/** Reads the label space from the annotations of `split` (normally the training split). */
export async function buildLabelSpace(
  source: TrainingExampleSource,
  filter: DatasetFilter,
  split: SplitName = 'train',
): Promise<LabelSpace> {
  const checked = checkFilter(filter);
  const scope = scopeOf(checked, split);
  const classes = labelSpaceClasses(await source.categoryCounts(scope), checked.minValueCount);
  const kinds = checked.attributeKinds ?? [...TRAINABLE_ATTRIBUTE_KINDS];
  const valueCounts = kinds.length === 0 ? [] : await source.attributeValueCounts(scope, kinds, checked.minValueCount);
  return { classes, attributes: attributeSpecs(kinds, valueCounts) };
}

/** Categories with enough garments, most frequent first. */
function labelSpaceClasses(counts: CategoryCount[], minValueCount: number): LabelSpaceClass[] {
  // A category annotated under two slots (a data quirk) belongs to the slot it is most often under.
  const byCategory = new Map<string, LabelSpaceClass>();
  for (const row of counts) {
    const known = byCategory.get(row.category);
    if (!known) byCategory.set(row.category, { name: row.category, superCategory: row.superCategory, count: row.count });
    else {
      if (row.count > known.count) known.superCategory = row.superCategory;
      known.count += row.count;
    }
  }
  return [...byCategory.values()].filter((c) => c.count >= minValueCount).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

/** One head per kind with enough values, values most frequent first. */
function attributeSpecs(kinds: string[], valueCounts: AttributeValueCount[]): AttributeSpec[] {
  const attributes: AttributeSpec[] = [];
  for (const kind of kinds) {
    const values = valueCounts
      .filter((r) => r.kind === kind)
      .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
      .map((r) => r.value);
    const type = MULTI_VALUED_KINDS.has(kind as AttributeKind) ? 'multi' : 'single';
    // A single-label head needs two values to choose between; a multi-label one needs one.
    if (values.length >= (type === 'single' ? 2 : 1)) attributes.push({ kind, type, values });
  }
  return attributes;
}

/** How many images of `split` have at least one garment of a class in scope (emptiness checks). */
export async function countDatasetImages(
  source: TrainingExampleSource,
  filter: DatasetFilter,
  space: LabelSpace,
  split: SplitName,
): Promise<number> {
  return source.countImagesWithCategories(
    scopeOf(checkFilter(filter), split),
    space.classes.map((c) => c.name),
  );
}

/** The images of `split` in scope with their garments as model targets in the given label space. */
export async function loadDatasetImages(
  source: TrainingExampleSource,
  filter: DatasetFilter,
  space: LabelSpace,
  split: SplitName,
): Promise<DatasetImage[]> {
  const garments = await source.annotatedGarments(scopeOf(checkFilter(filter), split));
  const labelOf = new Map(space.classes.map((c, i) => [c.name, i + 1]));
  const valueIndex = new Map(space.attributes.map((a) => [a.kind, new Map(a.values.map((v, i) => [v, i]))]));
  const images = new Map<string, DatasetImage>();
  for (const garment of garments) {
    const label = garment.category === null ? undefined : labelOf.get(garment.category);
    if (label === undefined) continue;
    let image = images.get(garment.imageId);
    if (!image) {
      image = {
        imageId: garment.imageId,
        path: garment.path,
        width: garment.width,
        height: garment.height,
        garments: [],
        reviewed: garment.reviewed === true,
      };
      images.set(image.imageId, image);
    }
    image.garments.push({ box: garment.box, label, attributes: garmentTargets(space, valueIndex, garment.terms) });
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
    const found = terms
      .filter((t) => t.kind === spec.kind)
      .map((t) => index.get(t.value))
      .filter((i): i is number => i !== undefined);
    if (spec.type === 'single') out[spec.kind] = found.length > 0 ? found[0] : null;
    else out[spec.kind] = found.length > 0 ? [...new Set(found)].sort((a, b) => a - b) : null;
  }
  return out;
}
