/**
 * Writing one batch of parsed files: decide per file whether it is new, changed, unchanged or a
 * duplicate identifier, then write every new and changed image with its styles, garments and
 * attributes in ONE transaction (so an interrupted import leaves whole batches or nothing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSource, QueryRunner } from 'typeorm';
import { BulkWriter, CellValue, TableSpec } from './bulk';
import type { BulkMode } from './bulk-mode';
import type { ReadyFile, RejectedFile } from './read';
import { fileRejection } from './report';
import { VocabularyIds } from './vocabulary-ids';
import { imagesWithAnnotationEdits } from '../garment-edits';

export const IMAGES: TableSpec = {
  table: 'images',
  columns: {
    id: 'bigint',
    dataset_id: 'integer',
    external_id: 'text',
    file_name: 'text',
    image_path: 'text',
    annotation_path: 'text',
    width: 'integer',
    height: 'integer',
    split: 'text',
    annotation_hash: 'text',
    annotated_at: 'timestamptz',
  },
};
export const IMAGE_STYLES: TableSpec = {
  table: 'image_styles',
  columns: { image_id: 'bigint', position: 'smallint', style_id: 'integer', sub_style_id: 'integer' },
};
export const GARMENTS: TableSpec = {
  table: 'garments',
  columns: {
    id: 'bigint',
    image_id: 'bigint',
    super_category: 'text',
    slot_index: 'smallint',
    category_id: 'integer',
    x1: 'real',
    y1: 'real',
    x2: 'real',
    y2: 'real',
    polygon: 'real[]',
    search_terms: 'integer[]',
  },
};
/** garments with the split column, written explicitly when the split trigger is bypassed. */
const GARMENTS_WITH_SPLIT: TableSpec = { table: 'garments', columns: { ...GARMENTS.columns, split: 'text' } };
const GARMENT_ATTRIBUTES: TableSpec = {
  table: 'garment_attributes',
  columns: { garment_id: 'bigint', vocabulary_id: 'integer' },
};

interface ChildRows {
  styles: CellValue[][];
  garments: CellValue[][];
  attributes: CellValue[][];
}

/** Advisory-lock namespace of the importer: one writer per dataset at a time. */
const IMPORT_LOCK_NAMESPACE = 0x4b46494d;

/**
 * A garment's search_terms: the vocabulary ids of its category and attribute values plus its image's
 * styles and sub-styles, sorted and unique (migration InitialSchema). Stored predictions use it too.
 */
export function garmentSearchTerms(valueIds: Iterable<number>, styleTerms: Iterable<number>): number[] {
  return [...new Set([...valueIds, ...styleTerms])].sort((a, b) => a - b);
}

export interface BatchOutcome {
  imported: ReadyFile[];
  updated: ReadyFile[];
  unchanged: ReadyFile[];
  duplicates: RejectedFile[];
  garmentsWritten: number;
  /** Changed files whose image's annotations a person had edited: their garments were kept, not reloaded. */
  editedImagesKept: number;
}

interface ExistingImage {
  id: number;
  hash: string | null;
  annotationPath: string | null;
}

function idList(ids: number[]): string {
  return JSON.stringify(ids.map(String));
}

export class BatchLoader {
  constructor(
    private readonly dataSource: DataSource,
    private readonly datasetId: number,
    private readonly root: string,
    private readonly vocabulary: VocabularyIds,
    private readonly writer: BulkWriter,
    private readonly mode: BulkMode,
  ) {}

  async write(files: ReadyFile[]): Promise<BatchOutcome> {
    await this.vocabulary.ensure(files.map((file) => file.annotation));
    const queryRunner = this.dataSource.createQueryRunner();
    await queryRunner.connect();
    await queryRunner.startTransaction();
    try {
      await queryRunner.query('SELECT pg_advisory_xact_lock($1, $2)', [IMPORT_LOCK_NAMESPACE, this.datasetId]);
      const outcome = this.classify(files, await this.existingImages(queryRunner, files));
      const updatedIds = outcome.updated.map((file) => outcome.idByFile.get(file)!);
      const edited = await this.lockAndFindEdited(queryRunner, updatedIds);
      await this.clearChildren(queryRunner, updatedIds, edited);
      await this.updateImages(queryRunner, outcome.updated, outcome.idByFile);
      await this.refreshKeptSearchTerms(queryRunner, outcome.updated, outcome.idByFile);
      const newIds = await this.allocateIds(queryRunner, 'images', outcome.imported.length);
      outcome.imported.forEach((file, i) => outcome.idByFile.set(file, newIds[i]));
      // Deletes (which cascade) and updates (which fire the split trigger) are done; see bulk-mode.ts.
      if (this.mode.bypassTriggers) await queryRunner.query('SET LOCAL session_replication_role = replica');
      const garmentsWritten = await this.insertRows(queryRunner, outcome.imported, outcome.updated, outcome.idByFile, edited);
      await queryRunner.commitTransaction();
      return { ...outcome, garmentsWritten, editedImagesKept: edited.size };
    } catch (error) {
      if (queryRunner.isTransactionActive) await queryRunner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await queryRunner.release();
    }
  }

  private async existingImages(queryRunner: QueryRunner, files: ReadyFile[]): Promise<Map<string, ExistingImage>> {
    const rows = (await queryRunner.query(
      `SELECT id, external_id, annotation_hash, annotation_path FROM images
       WHERE dataset_id = $1 AND external_id IN (SELECT json_array_elements_text($2::json))`,
      [this.datasetId, JSON.stringify(files.map((file) => file.annotation.externalId))],
    )) as { id: string; external_id: string; annotation_hash: string | null; annotation_path: string | null }[];
    return new Map(
      rows.map((row) => [row.external_id, { id: Number(row.id), hash: row.annotation_hash, annotationPath: row.annotation_path }]),
    );
  }

  /**
   * New, changed, unchanged or duplicate. A second file with an identifier already taken by a
   * file that still exists is a duplicate and skipped; if the first file is gone, the image moved.
   */
  private classify(files: ReadyFile[], existing: Map<string, ExistingImage>) {
    const outcome = {
      imported: [] as ReadyFile[],
      updated: [] as ReadyFile[],
      unchanged: [] as ReadyFile[],
      duplicates: [] as RejectedFile[],
      idByFile: new Map<ReadyFile, number>(),
    };
    const firstInBatch = new Map<string, string>();
    for (const file of files) {
      const externalId = file.annotation.externalId;
      const stored = existing.get(externalId);
      const first =
        firstInBatch.get(externalId) ??
        (stored?.annotationPath && stored.annotationPath !== file.file && this.stillExists(stored.annotationPath)
          ? stored.annotationPath
          : undefined);
      if (first !== undefined) {
        const reason = `duplicate 이미지 식별자 ${externalId}: already imported from ${first}; this file was skipped`;
        outcome.duplicates.push({
          ok: false,
          file: file.file,
          lines: [fileRejection(file.file, [{ field: '이미지 정보.이미지 식별자', reason }])],
        });
        continue;
      }
      firstInBatch.set(externalId, file.file);
      if (!stored) {
        outcome.imported.push(file);
        continue;
      }
      outcome.idByFile.set(file, stored.id);
      const same = stored.hash === file.hash && stored.annotationPath === file.file;
      (same ? outcome.unchanged : outcome.updated).push(file);
    }
    return outcome;
  }

  private stillExists(annotationPath: string): boolean {
    return fs.existsSync(path.join(this.root, annotationPath));
  }

  /**
   * Locks the changed images (an edit of their garments holds a share lock on the image, so this
   * waits for edits under way and keeps new ones out until the batch commits) and returns those
   * whose annotations a person edited (src/db/garment-edits.ts).
   */
  private async lockAndFindEdited(queryRunner: QueryRunner, imageIds: number[]): Promise<Set<number>> {
    if (imageIds.length === 0) return new Set();
    await queryRunner.query(
      `SELECT id FROM images WHERE id IN (SELECT json_array_elements_text($1::json)::bigint) ORDER BY id FOR UPDATE`,
      [idList(imageIds)],
    );
    return imagesWithAnnotationEdits(queryRunner, imageIds);
  }

  /**
   * A changed image loses its annotated styles and garments (attributes cascade); predictions stay,
   * and so do the annotations of an image a person edited (docs/import.md: the edit wins).
   */
  private async clearChildren(queryRunner: QueryRunner, imageIds: number[], edited: Set<number>): Promise<void> {
    if (imageIds.length === 0) return;
    await queryRunner.query(`DELETE FROM image_styles WHERE image_id IN (SELECT json_array_elements_text($1::json)::bigint)`, [
      idList(imageIds),
    ]);
    const replaced = imageIds.filter((id) => !edited.has(id));
    if (replaced.length === 0) return;
    await queryRunner.query(
      `DELETE FROM garments WHERE source = 'annotation'
         AND image_id IN (SELECT json_array_elements_text($1::json)::bigint)`,
      [idList(replaced)],
    );
  }

  /**
   * The garments a changed image keeps (predictions, edited annotations) carry its styles in their
   * search_terms: they take the file's new styles.
   */
  private async refreshKeptSearchTerms(queryRunner: QueryRunner, files: ReadyFile[], idByFile: Map<ReadyFile, number>) {
    if (files.length === 0) return;
    const styleTermsByImage = new Map(files.map((file) => [idByFile.get(file)!, this.styleTerms(file)]));
    const kept = (await queryRunner.query(
      `SELECT g.id, g.image_id, g.category_id, array_remove(array_agg(ga.vocabulary_id), NULL) AS value_ids
         FROM garments g LEFT JOIN garment_attributes ga ON ga.garment_id = g.id
        WHERE g.image_id IN (SELECT json_array_elements_text($1::json)::bigint)
        GROUP BY g.id`,
      [idList([...styleTermsByImage.keys()])],
    )) as { id: string; image_id: string; category_id: number | null; value_ids: number[] }[];
    if (kept.length === 0) return;
    const records = kept.map((row) => ({
      id: row.id,
      search_terms: garmentSearchTerms(
        row.category_id === null ? row.value_ids : [row.category_id, ...row.value_ids],
        styleTermsByImage.get(Number(row.image_id)) ?? [],
      ),
    }));
    await queryRunner.query(
      `UPDATE garments SET search_terms = ARRAY(SELECT json_array_elements_text(t.search_terms)::integer)
         FROM json_to_recordset($1::json) AS t(id bigint, search_terms json)
        WHERE garments.id = t.id AND garments.search_terms IS DISTINCT FROM ARRAY(SELECT json_array_elements_text(t.search_terms)::integer)`,
      [JSON.stringify(records)],
    );
  }

  /** The vocabulary ids of an image's styles and sub-styles, as its garments' search_terms carry them. */
  private styleTerms(file: ReadyFile): number[] {
    return file.annotation.styles.flatMap((style) =>
      style.subStyle === null
        ? [this.vocabulary.id('style', style.style)]
        : [this.vocabulary.id('style', style.style), this.vocabulary.id('subStyle', style.subStyle)],
    );
  }

  private imageRow(file: ReadyFile, id: number): CellValue[] {
    const { annotation } = file;
    return [
      id,
      this.datasetId,
      annotation.externalId,
      annotation.fileName,
      file.imagePath,
      file.file,
      annotation.width,
      annotation.height,
      file.split,
      file.hash,
      annotation.createdAt,
    ];
  }

  private async updateImages(queryRunner: QueryRunner, files: ReadyFile[], idByFile: Map<ReadyFile, number>) {
    if (files.length === 0) return;
    const names = Object.keys(IMAGES.columns);
    const records = files.map((file) => {
      const row = this.imageRow(file, idByFile.get(file)!);
      return Object.fromEntries(names.map((name, i) => [name, row[i]]));
    });
    const declaration = names.map((name) => `${name} ${IMAGES.columns[name]}`).join(', ');
    const assignments = names
      .filter((name) => name !== 'id')
      .map((name) => `${name} = t.${name}`)
      .join(', ');
    await queryRunner.query(
      `UPDATE images SET ${assignments}, updated_at = now()
       FROM json_to_recordset($1::json) AS t(${declaration}) WHERE images.id = t.id`,
      [JSON.stringify(records)],
    );
  }

  private async allocateIds(queryRunner: QueryRunner, table: string, count: number): Promise<number[]> {
    if (count === 0) return [];
    const rows = (await queryRunner.query(`SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)`, [
      table,
      count,
    ])) as { id: string }[];
    return rows.map((row) => Number(row.id));
  }

  /** Inserts images (new ones only), styles, garments and attributes; returns the garments written. */
  private async insertRows(
    queryRunner: QueryRunner,
    imported: ReadyFile[],
    updated: ReadyFile[],
    idByFile: Map<ReadyFile, number>,
    edited: Set<number>,
  ): Promise<number> {
    const written = [...imported, ...updated];
    const loadsGarments = (file: ReadyFile) => !edited.has(idByFile.get(file)!);
    const garmentCount = written.reduce((sum, file) => sum + (loadsGarments(file) ? file.annotation.garments.length : 0), 0);
    const garmentIds = await this.allocateIds(queryRunner, 'garments', garmentCount);
    const writeSplit = this.mode.bypassTriggers && this.mode.garmentSplitColumn;
    const rows: ChildRows = { styles: [], garments: [], attributes: [] };
    for (const file of written) this.addChildRows(rows, file, idByFile.get(file)!, garmentIds, writeSplit, loadsGarments(file));
    const images = imported.map((file) => this.imageRow(file, idByFile.get(file)!));
    await this.writer.insert(queryRunner, IMAGES, images);
    await this.writer.insert(queryRunner, IMAGE_STYLES, rows.styles);
    await this.writer.insert(queryRunner, writeSplit ? GARMENTS_WITH_SPLIT : GARMENTS, rows.garments);
    await this.writer.insert(queryRunner, GARMENT_ATTRIBUTES, rows.attributes);
    return rows.garments.length;
  }

  /**
   * Style, garment and attribute rows of one image. A garment's search_terms are the ids of its
   * category and attribute values plus its image's styles and sub-styles (migration header).
   */
  private addChildRows(
    rows: ChildRows,
    file: ReadyFile,
    imageId: number,
    garmentIds: number[],
    writeSplit: boolean,
    withGarments: boolean,
  ) {
    file.annotation.styles.forEach((style, position) => {
      const styleId = this.vocabulary.id('style', style.style);
      const subStyleId = style.subStyle === null ? null : this.vocabulary.id('subStyle', style.subStyle);
      rows.styles.push([imageId, position, styleId, subStyleId]);
    });
    if (!withGarments) return;
    const styleTerms = this.styleTerms(file);
    for (const garment of file.annotation.garments) {
      const garmentId = garmentIds[rows.garments.length];
      const categoryId = garment.category === null ? null : this.vocabulary.id('category', garment.category);
      const valueIds = new Set<number>();
      if (categoryId !== null) valueIds.add(categoryId);
      for (const attribute of garment.attributes) valueIds.add(this.vocabulary.id(attribute.kind, attribute.value));
      const searchTerms = garmentSearchTerms(valueIds, styleTerms);
      const { x1, y1, x2, y2 } = garment.box;
      const row: CellValue[] = [garmentId, imageId, garment.superCategory, garment.slotIndex, categoryId];
      row.push(x1, y1, x2, y2, garment.polygon, searchTerms);
      if (writeSplit) row.push(file.split);
      rows.garments.push(row);
      for (const valueId of valueIds) rows.attributes.push([garmentId, valueId]);
    }
  }
}
