/**
 * Garment edits by people (migration GarmentEdits): change, add, delete, accept a prediction,
 * revert a change, and mark an image reviewed.
 *
 * Every edit is one transaction that locks the garment's image (`FOR KEY SHARE`, which the
 * importer's `FOR UPDATE` of a changed image waits for, so an import never replaces an image's
 * garments while an edit of them is under way) and then the garment row (`FOR UPDATE`), compares the revision
 * the editor read, writes the garment, its `garment_attributes` and its `search_terms` (the same
 * terms the importer writes: category, attribute values, the image's styles), bumps `revision`,
 * sets `edited_at` and records the change in `garment_edits` with the garment as it was before
 * and after. The statement-level `search_generation` trigger marks the precomputed search counts
 * and term bits stale, so search stays exact without further work here.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { GARMENT_ATTRIBUTE_KINDS, SuperCategory, type Box, type GarmentAttributeKind, type Point } from '../kfashion/types';
import { CATEGORY_LABELS_BY_SUPER_CATEGORY } from '../kfashion/vocabulary';
import type { LabelSource } from './entities';
import { garmentSearchTerms } from './import/load';
import { VocabularyIds } from './import/vocabulary-ids';
import { GARMENT_COLUMNS, type GarmentRow } from './search';
import { InvalidSearchInput } from './search-filter';
import { changedRows } from './sql';

export type GarmentEditAction = 'update' | 'create' | 'delete' | 'accept' | 'revert';

export interface SnapshotAttribute {
  kind: GarmentAttributeKind;
  value: string;
  /** The model's probability (predictions); null for annotations. */
  score: number | null;
}

/** A garment as one history row saw it: everything an edit can change, and what a revert restores. */
export interface GarmentSnapshot {
  superCategory: SuperCategory;
  category: string | null;
  box: Box;
  polygon: Point[];
  /** Every value of every garment kind, category included, in kind order. */
  attributes: SnapshotAttribute[];
  source: LabelSource;
  modelVersionId: number | null;
  score: number | null;
}

/** The revision an edit read is not the garment's current one: someone else changed it since. */
export class EditConflict extends Error {
  constructor(
    readonly currentRevision: number,
    readonly sentRevision: number,
  ) {
    super(
      `the garment was changed meanwhile: its current revision is ${currentRevision} (the edit read ${sentRevision}); read it again and reapply the change`,
    );
    this.name = 'EditConflict';
  }
}

/** The object an edit names does not exist; `field` is the input naming it. */
export class EditTargetMissing extends Error {
  constructor(
    readonly field: string,
    readonly what: string,
  ) {
    super(`${field}: no such ${what}`);
    this.name = 'EditTargetMissing';
  }
}

/** Who makes an edit: the API token (absent for the embedded demo without tokens). */
export interface Editor {
  tokenId?: string | null;
}

/** A kind's new values (Korean, as stored; the caller resolved English names and checked them). */
export interface KindValues {
  kind: GarmentAttributeKind;
  values: readonly string[];
}

export interface GarmentChange {
  box?: Box | null;
  polygon?: readonly Point[] | null;
  /** Korean category; the super-category follows it. */
  category?: string | null;
  /** Replaces the values of each kind named; other kinds keep theirs. */
  attributes?: readonly KindValues[] | null;
}

/** Most points a polygon may have (K-Fashion's have tens). */
export const MAX_POLYGON_POINTS = 1_000;

const KIND_ORDER = new Map<string, number>(GARMENT_ATTRIBUTE_KINDS.map((kind, i) => [kind, i]));

/** A garment row (as search reads it) with the size of its image, locked for an edit. */
type LockedGarment = GarmentRow & { width: number; height: number };

const LOCK_GARMENT = `SELECT ${GARMENT_COLUMNS}, i.width, i.height
  FROM garments g JOIN images i ON i.id = g.image_id LEFT JOIN vocabulary c ON c.id = g.category_id
 WHERE g.id = $1
   FOR UPDATE OF g`;

/**
 * Locks a garment for an edit, its image first: the importer and stored predictions lock an image
 * before the garments they replace, so taking the locks in the same order never deadlocks with them.
 */
async function lockGarment(manager: EntityManager, garmentId: string): Promise<LockedGarment | null> {
  const owners: { image_id: string }[] = await manager.query(`SELECT image_id FROM garments WHERE id = $1`, [garmentId]);
  if (owners.length === 0) return null;
  await lockImage(manager, owners[0].image_id);
  const rows: LockedGarment[] = await manager.query(LOCK_GARMENT, [garmentId]);
  return rows[0] ?? null;
}

async function lockImage(manager: EntityManager, imageId: string): Promise<{ width: number; height: number } | null> {
  const rows: { width: number; height: number }[] = await manager.query(`SELECT width, height FROM images WHERE id = $1 FOR KEY SHARE`, [
    imageId,
  ]);
  return rows[0] ?? null;
}

async function snapshotOf(manager: EntityManager, garment: LockedGarment): Promise<GarmentSnapshot> {
  const rows: SnapshotAttribute[] = await manager.query(
    `SELECT v.kind, v.value, ga.score FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
      WHERE ga.garment_id = $1 ORDER BY v.kind, v.value`,
    [garment.id],
  );
  const polygon: Point[] = [];
  for (let i = 0; i + 1 < (garment.polygon?.length ?? 0); i += 2) polygon.push({ x: garment.polygon![i], y: garment.polygon![i + 1] });
  return {
    superCategory: garment.super_category,
    category: garment.category,
    box: { x1: garment.x1, y1: garment.y1, x2: garment.x2, y2: garment.y2 },
    polygon,
    attributes: rows.sort((a, b) => (KIND_ORDER.get(a.kind) ?? 99) - (KIND_ORDER.get(b.kind) ?? 99)),
    source: garment.source,
    modelVersionId: garment.model_version_id,
    score: garment.score,
  };
}

/** A box within the image (x2/y2 exclusive edges, so at most width/height), non-empty. */
export function checkBox(field: string, box: Box, image: { width: number; height: number }): Box {
  const { x1, y1, x2, y2 } = box;
  if (![x1, y1, x2, y2].every(Number.isFinite)) throw new InvalidSearchInput(field, 'coordinates must be finite numbers');
  if (x1 < 0 || y1 < 0 || x2 > image.width || y2 > image.height) {
    throw new InvalidSearchInput(field, `must lie inside the image (0 ≤ x1, y1; x2 ≤ ${image.width}; y2 ≤ ${image.height})`);
  }
  if (!(x2 > x1)) throw new InvalidSearchInput(`${field}.x2`, `must be greater than x1 (${x1})`);
  if (!(y2 > y1)) throw new InvalidSearchInput(`${field}.y2`, `must be greater than y1 (${y1})`);
  return { x1, y1, x2, y2 };
}

/** Polygon points inside the image, at most MAX_POLYGON_POINTS; stored flat (x, y, x, y, …). */
export function checkPolygon(field: string, points: readonly Point[], image: { width: number; height: number }): number[] {
  if (points.length > MAX_POLYGON_POINTS) throw new InvalidSearchInput(field, `at most ${MAX_POLYGON_POINTS} points`);
  if (points.length > 0 && points.length < 3) throw new InvalidSearchInput(field, 'a polygon has at least 3 points (or none)');
  points.forEach(({ x, y }, i) => {
    if (!Number.isFinite(x) || !Number.isFinite(y) || x < 0 || y < 0 || x > image.width || y > image.height) {
      throw new InvalidSearchInput(`${field}[${i}]`, `must lie inside the image (0 to ${image.width} × 0 to ${image.height})`);
    }
  });
  return points.flatMap(({ x, y }) => [x, y]);
}

/** Garment kinds of a snapshot's attributes grouped, with a kind's values replaced by `change`. */
function changedAttributes(current: readonly SnapshotAttribute[], change: GarmentChange): SnapshotAttribute[] {
  const replaced = new Map<string, readonly string[]>();
  if (change.category !== undefined && change.category !== null) replaced.set('category', [change.category]);
  for (const { kind, values } of change.attributes ?? []) replaced.set(kind, [...new Set(values)]);
  const kept = current.filter((attribute) => !replaced.has(attribute.kind));
  const added = [...replaced].flatMap(([kind, values]) =>
    values.map((value) => ({ kind: kind as GarmentAttributeKind, value, score: null })),
  );
  return [...kept, ...added].sort((a, b) => (KIND_ORDER.get(a.kind) ?? 99) - (KIND_ORDER.get(b.kind) ?? 99));
}

/**
 * The super-category a category belongs to: the published lists', else the one garments of that
 * (open-vocabulary) category are most often stored under, else `fallback`.
 */
async function superCategoryOf(
  manager: EntityManager,
  category: string,
  categoryId: number,
  fallback: SuperCategory | null,
): Promise<SuperCategory | null> {
  for (const [superCategory, labels] of Object.entries(CATEGORY_LABELS_BY_SUPER_CATEGORY)) {
    if (Object.hasOwn(labels, category)) return superCategory as SuperCategory;
  }
  const rows: { super_category: SuperCategory }[] = await manager.query(
    `SELECT super_category FROM garments WHERE category_id = $1 GROUP BY super_category ORDER BY count(*) DESC LIMIT 1`,
    [categoryId],
  );
  return rows[0]?.super_category ?? fallback;
}

interface GarmentWrite {
  imageId: string;
  superCategory: SuperCategory;
  box: Box;
  polygon: number[] | null;
  attributes: SnapshotAttribute[];
  source: LabelSource;
  modelVersionId: number | null;
  score: number | null;
}

/**
 * Vocabulary ids of the values a garment keeps and of the new ones, inserting published values this
 * database has not seen yet (the table holds hundreds of rows: read whole, as the importer does).
 */
async function vocabularyFor(dataSource: DataSource, attributes: readonly { kind: GarmentAttributeKind; value: string }[]) {
  const vocabulary = new VocabularyIds(dataSource);
  await vocabulary.load();
  await vocabulary.ensure([{ styles: [], garments: [{ category: null, attributes: [...attributes] }] }]);
  return vocabulary;
}

async function styleTerms(manager: EntityManager, imageId: string): Promise<number[]> {
  const rows: { style_id: number; sub_style_id: number | null }[] = await manager.query(
    `SELECT style_id, sub_style_id FROM image_styles WHERE image_id = $1`,
    [imageId],
  );
  return rows.flatMap((r) => (r.sub_style_id === null ? [r.style_id] : [r.style_id, r.sub_style_id]));
}

/**
 * Writes a garment's row (updating `garmentId`, or inserting one with that id or a new one) and
 * its attribute rows; returns its id.
 */
async function writeGarment(
  manager: EntityManager,
  vocabulary: VocabularyIds,
  write: GarmentWrite,
  target: { update: string } | { insert: string | null; revision: number },
): Promise<string> {
  const category = write.attributes.find((a) => a.kind === 'category')?.value ?? null;
  const categoryId = category === null ? null : vocabulary.id('category', category);
  const valueIds = write.attributes.map((a) => vocabulary.id(a.kind, a.value));
  const terms = garmentSearchTerms(valueIds, await styleTerms(manager, write.imageId));
  const { x1, y1, x2, y2 } = write.box;
  let id: string;
  if ('update' in target) {
    id = target.update;
    await manager.query(
      `UPDATE garments SET super_category = $2, category_id = $3, x1 = $4, y1 = $5, x2 = $6, y2 = $7, polygon = $8,
              search_terms = $9, revision = revision + 1, edited_at = now()
        WHERE id = $1`,
      [id, write.superCategory, categoryId, x1, y1, x2, y2, write.polygon, terms],
    );
    await manager.query(`DELETE FROM garment_attributes WHERE garment_id = $1`, [id]);
  } else {
    const [row]: { id: string }[] = await manager.query(
      `INSERT INTO garments (id, image_id, super_category, slot_index, category_id, x1, y1, x2, y2, polygon, source,
                             model_version_id, score, search_terms, revision, edited_at)
       SELECT COALESCE($1::bigint, nextval(pg_get_serial_sequence('garments', 'id'))), $2::bigint, $3,
              (SELECT COALESCE(max(slot_index) + 1, 0) FROM garments WHERE image_id = $2::bigint AND super_category = $3 AND source = $10),
              $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now()
       RETURNING id`,
      [
        target.insert,
        write.imageId,
        write.superCategory,
        categoryId,
        x1,
        y1,
        x2,
        y2,
        write.polygon,
        write.source,
        write.modelVersionId,
        write.score,
        terms,
        target.revision,
      ],
    );
    id = String(row.id);
  }
  const seen = new Set<number>();
  const rows = write.attributes.flatMap((a) => {
    const vocabularyId = vocabulary.id(a.kind, a.value);
    if (seen.has(vocabularyId)) return [];
    seen.add(vocabularyId);
    return [{ garment_id: id, vocabulary_id: vocabularyId, score: a.score }];
  });
  await manager.query(
    `INSERT INTO garment_attributes (garment_id, vocabulary_id, score)
     SELECT garment_id, vocabulary_id, score FROM json_to_recordset($1::json) AS t(garment_id bigint, vocabulary_id integer, score real)`,
    [JSON.stringify(rows)],
  );
  return id;
}

async function recordEdit(
  manager: EntityManager,
  edit: {
    garmentId: string;
    imageId: string;
    editor: Editor;
    action: GarmentEditAction;
    before: GarmentSnapshot | null;
    after: GarmentSnapshot | null;
    revision: number;
    revertedEditId?: string | null;
  },
): Promise<string> {
  await countValueChange(manager, edit.before, edit.after);
  const [row]: { id: string }[] = await manager.query(
    `INSERT INTO garment_edits (garment_id, image_id, token_id, action, before, after, revision, reverted_edit_id)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8) RETURNING id`,
    [
      edit.garmentId,
      edit.imageId,
      edit.editor.tokenId ?? null,
      edit.action,
      edit.before === null ? null : JSON.stringify(edit.before),
      edit.after === null ? null : JSON.stringify(edit.after),
      edit.revision,
      edit.revertedEditId ?? null,
    ],
  );
  return String(row.id);
}

/**
 * Keeps `vocabulary.count` (annotated garments with the value, as the importer's
 * refreshVocabularyCounts computes it) in step with an edit: -1 for each value of the annotation
 * before, +1 for each value after. The rows are locked in (kind, value) order, the order the
 * vocabulary upserts lock them in, so concurrent edits and upserts queue instead of deadlocking.
 */
async function countValueChange(manager: EntityManager, before: GarmentSnapshot | null, after: GarmentSnapshot | null): Promise<void> {
  const delta = new Map<string, { kind: string; value: string; delta: number }>();
  const count = (snapshot: GarmentSnapshot | null, step: number) => {
    if (snapshot?.source !== 'annotation') return;
    for (const { kind, value } of snapshot.attributes) {
      const key = `${kind}\u0000${value}`;
      const entry = delta.get(key) ?? { kind, value, delta: 0 };
      entry.delta += step;
      delta.set(key, entry);
    }
  };
  count(before, -1);
  count(after, +1);
  const changed = [...delta.values()].filter((entry) => entry.delta !== 0);
  if (changed.length === 0) return;
  const rows: { id: number; delta: number }[] = await manager.query(
    `SELECT v.id, d.delta FROM vocabulary v JOIN json_to_recordset($1::json) AS d(kind text, value text, delta integer)
         ON v.kind = d.kind AND v.value = d.value
      ORDER BY v.kind, v.value FOR UPDATE OF v`,
    [JSON.stringify(changed)],
  );
  await manager.query(
    `UPDATE vocabulary SET count = count + d.delta
       FROM json_to_recordset($1::json) AS d(id integer, delta integer) WHERE vocabulary.id = d.id`,
    [JSON.stringify(rows)],
  );
}

/** The locked garment, refused when missing or when `revision` is not its current one. */
async function lockAtRevision(manager: EntityManager, garmentId: string, revision: number): Promise<LockedGarment> {
  const garment = await lockGarment(manager, garmentId);
  if (!garment) throw new EditTargetMissing('input.id', 'garment');
  if (garment.revision !== revision) throw new EditConflict(garment.revision, revision);
  return garment;
}

async function lockedSnapshot(manager: EntityManager, garmentId: string): Promise<GarmentSnapshot> {
  const garment = await lockGarment(manager, garmentId);
  if (!garment) throw new Error(`garment ${garmentId} vanished inside its own transaction`);
  return snapshotOf(manager, garment);
}

/**
 * Changes an annotation garment that is at `revision`; returns its id. A prediction is not edited
 * in place (its scores are the model's): accept it (acceptPrediction) and edit the annotation.
 */
export async function updateGarment(
  dataSource: DataSource,
  garmentId: string,
  revision: number,
  change: GarmentChange,
  editor: Editor,
): Promise<string> {
  const vocabulary = await vocabularyFor(dataSource, [
    ...(change.category ? [{ kind: 'category' as const, value: change.category }] : []),
    ...(change.attributes ?? []).flatMap(({ kind, values }) => values.map((value) => ({ kind, value }))),
  ]);
  return dataSource.transaction(async (manager) => {
    const garment = await lockAtRevision(manager, garmentId, revision);
    if (garment.source !== 'annotation') {
      throw new InvalidSearchInput('input.id', 'is a prediction: accept it as an annotation (acceptPrediction) to correct it');
    }
    const before = await snapshotOf(manager, garment);
    const image = { width: garment.width, height: garment.height };
    const attributes = changedAttributes(before.attributes, change);
    const category = attributes.find((a) => a.kind === 'category')?.value ?? null;
    const superCategory =
      change.category && category !== null
        ? ((await superCategoryOf(manager, category, vocabulary.id('category', category), garment.super_category)) ??
          garment.super_category)
        : garment.super_category;
    const polygon = change.polygon ? checkPolygon('input.polygon', change.polygon, image) : garment.polygon;
    await writeGarment(
      manager,
      vocabulary,
      {
        imageId: garment.image_id,
        superCategory,
        box: change.box ? checkBox('input.box', change.box, image) : before.box,
        polygon: polygon && polygon.length ? polygon : null,
        attributes,
        source: garment.source,
        modelVersionId: garment.model_version_id,
        score: garment.score,
      },
      { update: garmentId },
    );
    const after = await lockedSnapshot(manager, garmentId);
    await recordEdit(manager, { garmentId, imageId: garment.image_id, editor, action: 'update', before, after, revision: revision + 1 });
    return garmentId;
  });
}

export interface NewGarment {
  imageId: string;
  /** Korean category; the super-category follows it. */
  category: string;
  box: Box;
  polygon?: readonly Point[] | null;
  attributes?: readonly KindValues[] | null;
}

/** Adds an annotation garment a person drew (edited from the start); returns its id. */
export async function addGarment(dataSource: DataSource, garment: NewGarment, editor: Editor): Promise<string> {
  const attributes = changedAttributes([], { category: garment.category, attributes: garment.attributes });
  const vocabulary = await vocabularyFor(dataSource, attributes);
  return dataSource.transaction(async (manager) => {
    const image = await lockImage(manager, garment.imageId);
    if (!image) throw new EditTargetMissing('input.imageId', 'image');
    const superCategory = await superCategoryOf(manager, garment.category, vocabulary.id('category', garment.category), null);
    if (superCategory === null) {
      throw new InvalidSearchInput('input.category', `no garment of category "${garment.category}" says which super-category it fills`);
    }
    const polygon = garment.polygon ? checkPolygon('input.polygon', garment.polygon, image) : [];
    const annotation = { superCategory, box: checkBox('input.box', garment.box, image), polygon, attributes };
    return insertAnnotation(manager, vocabulary, garment.imageId, annotation, editor, 'create');
  });
}

/** Writes a new annotation garment a person made (revision 1, edited) and records its creation; returns its id. */
async function insertAnnotation(
  manager: EntityManager,
  vocabulary: VocabularyIds,
  imageId: string,
  garment: { superCategory: SuperCategory; box: Box; polygon: number[] | null; attributes: SnapshotAttribute[] },
  editor: Editor,
  action: 'create' | 'accept',
): Promise<string> {
  const write: GarmentWrite = {
    ...garment,
    imageId,
    polygon: garment.polygon?.length ? garment.polygon : null,
    source: 'annotation',
    modelVersionId: null,
    score: null,
  };
  const id = await writeGarment(manager, vocabulary, write, { insert: null, revision: 1 });
  const after = await lockedSnapshot(manager, id);
  await recordEdit(manager, { garmentId: id, imageId, editor, action, before: null, after, revision: 1 });
  return id;
}

/** Deletes a garment (an annotation, or a prediction a person rejects) that is at `revision`. */
export async function deleteGarment(dataSource: DataSource, garmentId: string, revision: number, editor: Editor): Promise<void> {
  await dataSource.transaction(async (manager) => {
    const garment = await lockAtRevision(manager, garmentId, revision);
    const before = await snapshotOf(manager, garment);
    await manager.query(`DELETE FROM garments WHERE id = $1`, [garmentId]);
    await recordEdit(manager, {
      garmentId,
      imageId: garment.image_id,
      editor,
      action: 'delete',
      before,
      after: null,
      revision: revision + 1,
    });
  });
}

/**
 * Copies a prediction (box, polygon, category and the values of `kinds`, default every kind) into
 * a new annotation garment on the same image; the prediction stays. Returns the new garment's id.
 */
export async function acceptPrediction(
  dataSource: DataSource,
  predictionId: string,
  kinds: readonly GarmentAttributeKind[] | null,
  editor: Editor,
): Promise<string> {
  return dataSource.transaction(async (manager) => {
    const prediction = await lockGarment(manager, predictionId);
    if (!prediction) throw new EditTargetMissing('input.id', 'garment');
    if (prediction.source !== 'prediction')
      throw new InvalidSearchInput('input.id', 'is an annotation already; only predictions are accepted');
    const predicted = await snapshotOf(manager, prediction);
    const wanted = new Set<string>(['category', ...(kinds ?? GARMENT_ATTRIBUTE_KINDS)]);
    const attributes = predicted.attributes.filter((a) => wanted.has(a.kind)).map((a) => ({ ...a, score: null }));
    const vocabulary = await vocabularyFor(dataSource, []);
    const annotation = { superCategory: prediction.super_category, box: predicted.box, polygon: prediction.polygon, attributes };
    return insertAnnotation(manager, vocabulary, prediction.image_id, annotation, editor, 'accept');
  });
}

/**
 * Applies the `before` of edit `editId` as a new edit: the garment gets the values it had before
 * that edit (re-created with its id when it was deleted since), or is deleted when the edit
 * created it. Returns the garment's id, or null when the result is a deleted garment.
 */
export async function revertGarmentEdit(dataSource: DataSource, editId: string, editor: Editor): Promise<string | null> {
  const [edit]: { garment_id: string; image_id: string; before: GarmentSnapshot | null }[] = await dataSource.query(
    `SELECT garment_id, image_id, before FROM garment_edits WHERE id = $1`,
    [editId],
  );
  if (!edit) throw new EditTargetMissing('id', 'garment edit');
  const target = edit.before;
  const vocabulary = await vocabularyFor(dataSource, target?.attributes ?? []);
  return dataSource.transaction(async (manager) => {
    const garmentId = String(edit.garment_id);
    if (target?.source === 'prediction') {
      const versions: unknown[] = await manager.query(`SELECT id FROM model_versions WHERE id = $1 FOR KEY SHARE`, [target.modelVersionId]);
      if (versions.length === 0) throw new InvalidSearchInput('id', 'restores a prediction of a model version that no longer exists');
    }
    // The image lock first, as every edit takes it: a deleted garment is re-created under it.
    if (!(await lockImage(manager, edit.image_id))) throw new EditTargetMissing('id', 'image of that edit');
    const current = await lockGarment(manager, garmentId);
    const before = current ? await snapshotOf(manager, current) : null;
    const [last]: { revision: number }[] = await manager.query(
      `SELECT COALESCE(max(revision), 0) AS revision FROM garment_edits WHERE garment_id = $1`,
      [garmentId],
    );
    // The garment's revision is its newest history row's (or 1, never edited); a re-created one continues it.
    const revision = (current ? current.revision : last.revision) + 1;
    if (target === null) {
      if (current) await manager.query(`DELETE FROM garments WHERE id = $1`, [garmentId]);
    } else {
      const write: GarmentWrite = {
        imageId: edit.image_id,
        superCategory: target.superCategory,
        box: target.box,
        polygon: target.polygon.length ? target.polygon.flatMap(({ x, y }) => [x, y]) : null,
        attributes: target.attributes,
        source: target.source,
        modelVersionId: target.modelVersionId,
        score: target.score,
      };
      await writeGarment(manager, vocabulary, write, current ? { update: garmentId } : { insert: garmentId, revision });
    }
    const after = target === null ? null : await lockedSnapshot(manager, garmentId);
    await recordEdit(manager, {
      garmentId,
      imageId: edit.image_id,
      editor,
      action: 'revert',
      before,
      after,
      revision,
      revertedEditId: editId,
    });
    return target === null ? null : garmentId;
  });
}

/** Marks an image reviewed by `editor` (or not reviewed); false when the image does not exist. */
export async function markImageReviewed(dataSource: DataSource, imageId: string, reviewed: boolean, editor: Editor): Promise<boolean> {
  const rows = await changedRows<{ id: string }>(
    dataSource,
    `UPDATE images SET reviewed_at = CASE WHEN $2 THEN now() END, reviewed_by = CASE WHEN $2 THEN $3::bigint END
      WHERE id = $1 RETURNING id`,
    [imageId, reviewed, editor.tokenId ?? null],
  );
  return rows.length > 0;
}

export interface GarmentEditRow {
  id: string;
  garment_id: string;
  image_id: string;
  action: GarmentEditAction;
  editor: string | null;
  before: GarmentSnapshot | null;
  after: GarmentSnapshot | null;
  revision: number;
  reverted_edit_id: string | null;
  created_at: Date;
}

const EDIT_COLUMNS = `e.id, e.garment_id, e.image_id, e.action, t.name AS editor, e.before, e.after, e.revision, e.reverted_edit_id, e.created_at`;

/** Whose history: a garment's own edits, or the edits of every garment of an image (deleted ones included). */
export type EditScope = 'garment' | 'image';
const SCOPE_COLUMN: Record<EditScope, string> = { garment: 'garment_id', image: 'image_id' };

/**
 * The history of each garment or image, newest first: per owner up to `limit + 1` rows below
 * `beforeId` (so the caller learns whether more follow), in one statement for all of them.
 */
export async function editHistories(
  dataSource: DataSource,
  scope: EditScope,
  ownerIds: readonly string[],
  page: { beforeId: string | null; limit: number },
): Promise<(GarmentEditRow & { owner_id: string })[]> {
  const column = SCOPE_COLUMN[scope];
  return dataSource.query(
    `SELECT ${EDIT_COLUMNS}, wanted.owner_id
       FROM unnest($1::bigint[]) AS wanted(owner_id)
       CROSS JOIN LATERAL (SELECT * FROM garment_edits x
                            WHERE x.${column} = wanted.owner_id AND ($2::bigint IS NULL OR x.id < $2)
                            ORDER BY x.id DESC LIMIT $3) e
       LEFT JOIN api_tokens t ON t.id = e.token_id
      ORDER BY wanted.owner_id, e.id DESC`,
    [ownerIds, page.beforeId, page.limit + 1],
  );
}

/** History rows by id. */
export async function garmentEditsByIds(dataSource: DataSource, ids: readonly string[]): Promise<GarmentEditRow[]> {
  return dataSource.query(
    `SELECT ${EDIT_COLUMNS} FROM garment_edits e LEFT JOIN api_tokens t ON t.id = e.token_id WHERE e.id = ANY($1::bigint[])`,
    [ids],
  );
}

/**
 * Of these images, the ones whose annotations a person changed: an annotation garment edited,
 * added, deleted or accepted from a prediction (rejecting a prediction does not count).
 */
export async function imagesWithAnnotationEdits(
  runner: { query(sql: string, params?: unknown[]): Promise<unknown> },
  imageIds: readonly number[],
): Promise<Set<number>> {
  if (imageIds.length === 0) return new Set<number>();
  const rows = (await runner.query(
    `SELECT DISTINCT image_id FROM garment_edits
      WHERE image_id = ANY($1::bigint[]) AND 'annotation' IN (before->>'source', after->>'source')`,
    [imageIds.map(String)],
  )) as { image_id: string }[];
  return new Set(rows.map((row) => Number(row.image_id)));
}

/** How many edits each garment's or image's history holds (owners without any are left out). */
export async function countEdits(
  dataSource: DataSource,
  scope: EditScope,
  ownerIds: readonly string[],
): Promise<{ owner_id: string; n: number }[]> {
  const column = SCOPE_COLUMN[scope];
  return dataSource.query(
    `SELECT ${column} AS owner_id, count(*)::int AS n FROM garment_edits WHERE ${column} = ANY($1::bigint[]) GROUP BY ${column}`,
    [ownerIds],
  );
}
