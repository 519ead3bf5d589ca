/**
 * `importDataset`: K-Fashion tree → database. Two streaming walks of the tree (index the photos
 * and count the annotations; then stream the annotations), files read and parsed with bounded
 * concurrency, written in batches of whole files, one transaction per batch, while the next batch
 * is being read. Memory is bounded by the batch size and the photo index, not by the tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import type { Split } from '../entities';
import { createBulkWriter, LoaderKind } from './bulk';
import { probeBulkMode } from './bulk-mode';
import { BatchLoader, BatchOutcome } from './load';
import { defaultParseWorkers, parseFiles } from './parse-pool';
import { finishRead, mapInOrder, ReadOutcome, ReadyFile } from './read';
import { ReportLine, ReportWriter } from './report';
import { annotationFiles, summariseTree } from './scan';
import { VocabularyIds } from './vocabulary-ids';
import { markInterruptedRuns, startOwnedRun } from './run-owner';

export interface ImportOptions {
  root: string;
  split?: Split;
  /** JSON-lines report of every rejected file or garment and every repaired value. */
  reportPath?: string;
  /** Decode each matched photo whole with sharp (truncated ones are rejected) and check its size against the annotation. */
  verifyImages?: boolean;
  /**
   * Import annotations whose photo is not in the tree (image_path NULL), e.g. when only the label
   * archive was downloaded. Default false: such a file is rejected with "image not found".
   */
  allowMissingImages?: boolean;
  /** Name of the dataset row (default: the root folder's name). */
  datasetName?: string;
  /** Annotation files larger than this are rejected by their size, unread (default 10 MB). */
  maxFileBytes?: number;
  /** Files per transaction (default 2,000). */
  batchSize?: number;
  onProgress?: (progress: { filesDone: number; filesTotal: number }) => void;
  /** Stops after the batch being written has committed; the import then rejects with an AbortError. */
  signal?: AbortSignal;
  /** How rows reach the database: COPY (default), or one INSERT per row (the benchmark's reference). */
  loader?: LoaderKind;
  /**
   * Allow the batch inserts to bypass per-row trigger work (foreign-key checks) when the role is
   * a superuser and every trigger's effect is known (see bulk-mode.ts). Default true.
   */
  bypassTriggers?: boolean;
  /** Worker threads parsing annotation files (0 = on the main thread; default: cores − 1 when compiled). */
  parseWorkers?: number;
  /** Image headers checked at once with --verify-images (default 16). */
  verifyConcurrency?: number;
}

export interface ImportStats {
  imagesImported: number;
  imagesUpdated: number;
  imagesUnchanged: number;
  /** Updated images whose annotations a person had edited: their garments were kept, the file's not loaded (docs/import.md). */
  imagesKeptEdited: number;
  garmentsImported: number;
  filesRejected: number;
  garmentsRejected: number;
  garmentsRepaired: number;
  filesSeen: number;
  /** Files imported without a photo (only with allowMissingImages). */
  filesWithoutImage: number;
  /** Directory entries left out of the walk (unreadable folders, names that are not UTF-8), each in the report. */
  entriesSkipped: number;
  seconds: number;
}

export class ImportAbortedError extends Error {
  constructor(readonly stats: ImportStats) {
    super(
      `import interrupted after ${stats.filesSeen} files (${stats.imagesImported} images imported, ` +
        `${stats.imagesUpdated} updated); every committed batch is kept, run the same command again to resume`,
    );
    this.name = 'AbortError';
  }
}

function emptyStats(): ImportStats {
  return {
    imagesImported: 0,
    imagesUpdated: 0,
    imagesUnchanged: 0,
    imagesKeptEdited: 0,
    garmentsImported: 0,
    filesRejected: 0,
    garmentsRejected: 0,
    garmentsRepaired: 0,
    filesSeen: 0,
    filesWithoutImage: 0,
    entriesSkipped: 0,
    seconds: 0,
  };
}

async function checkRoot(root: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(root);
  } catch {
    throw new Error(`import root not found: ${root}`);
  }
  if (!stat.isDirectory()) throw new Error(`import root is not a directory: ${root}`);
}

async function upsertDataset(dataSource: DataSource, name: string, root: string): Promise<number> {
  const [row]: { id: number }[] = await dataSource.query(
    `INSERT INTO datasets (name, root_path) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET root_path = EXCLUDED.root_path RETURNING id`,
    [name, root],
  );
  return Number(row.id);
}

/** The tables an import writes (vocabulary: its counts are rewritten); their statistics are refreshed at its end. */
export const IMPORTED_TABLES = ['datasets', 'images', 'image_styles', 'garments', 'garment_attributes', 'vocabulary'] as const;

/**
 * ANALYZE after every import: without it, and with autovacuum off or behind, the planner kept
 * estimating an empty table, and startTraining's label-space query took 14.5 s at 21k images
 * instead of 156 ms.
 */
export async function analyzeImportedTables(dataSource: DataSource): Promise<void> {
  await dataSource.query(`ANALYZE ${IMPORTED_TABLES.join(', ')}`);
}

/**
 * vocabulary.count = annotated garments having the value (image count for styles), for every
 * entry at once; only rows whose count changed are written.
 */

export async function refreshVocabularyCounts(dataSource: DataSource): Promise<void> {
  await dataSource.query(
    `WITH counts AS (
       SELECT ga.vocabulary_id AS id, count(*) AS n
         FROM garment_attributes ga JOIN garments g ON g.id = ga.garment_id
        WHERE g.source = 'annotation' GROUP BY ga.vocabulary_id
       UNION ALL
       SELECT style_id, count(DISTINCT image_id) FROM image_styles GROUP BY style_id
       UNION ALL
       SELECT sub_style_id, count(DISTINCT image_id) FROM image_styles
        WHERE sub_style_id IS NOT NULL GROUP BY sub_style_id
     ), totals AS (
       SELECT v.id, COALESCE(sum(c.n), 0)::integer AS n
         FROM vocabulary v LEFT JOIN counts c ON c.id = v.id GROUP BY v.id
     )
     UPDATE vocabulary SET count = totals.n FROM totals
      WHERE vocabulary.id = totals.id AND vocabulary.count <> totals.n`,
  );
}

/** Accumulates one committed batch into the run's statistics and report. */
function account(stats: ImportStats, batch: ReadOutcome[], outcome: BatchOutcome): ReportLine[] {
  const ready = [...outcome.imported, ...outcome.updated, ...outcome.unchanged];
  const rejectedFiles = [...batch.filter((file) => !file.ok), ...outcome.duplicates];
  stats.filesSeen += ready.length + rejectedFiles.length;
  stats.imagesImported += outcome.imported.length;
  stats.imagesUpdated += outcome.updated.length;
  stats.imagesUnchanged += outcome.unchanged.length;
  stats.imagesKeptEdited += outcome.editedImagesKept;
  stats.garmentsImported += outcome.garmentsWritten;
  stats.filesRejected += rejectedFiles.length;
  for (const file of ready) {
    stats.garmentsRejected += file.garmentsRejected;
    stats.garmentsRepaired += file.garmentsRepaired;
    if (file.imagePath === null) stats.filesWithoutImage++;
  }
  // Lines in walk order; a duplicate identifier replaces the lines its file had when read.
  const duplicateLines = new Map(outcome.duplicates.map((file) => [file.file, file.lines]));
  return batch.flatMap((file) => duplicateLines.get(file.file) ?? file.lines);
}

/**
 * Feeds `outcomes` to `write` in batches, writing one batch while the next is being read.
 * Stops reading on failure or abort, but never returns while a batch transaction is running.
 */
async function writeInBatches(
  outcomes: AsyncIterable<ReadOutcome>,
  batchSize: number,
  write: (batch: ReadOutcome[]) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let writing: Promise<unknown> = Promise.resolve();
  let failure: { error: unknown } | null = null;
  let batch: ReadOutcome[] = [];
  try {
    for await (const outcome of outcomes) {
      if (failure || signal?.aborted) break;
      batch.push(outcome);
      if (batch.length < batchSize) continue;
      await writing;
      writing = write(batch).catch((error) => {
        failure = { error };
      });
      batch = [];
    }
  } finally {
    await writing;
  }
  if (failure) throw (failure as { error: unknown }).error;
  signal?.throwIfAborted();
  await write(batch);
}

/**
 * After a bulk load the visibility map is unset; VACUUM sets it (index-only scans then skip the
 * heap for all-visible pages) and ANALYZE gives the planner the new row counts. Bitmap heap scans
 * still visit every matching page on PostgreSQL 15.20 (measured: 7,574 heap blocks for a count of
 * 17,169 matches with every page all-visible), which is why exact search counts come from the term
 * bits (src/db/search-counts.ts). VACUUM refuses to run inside a transaction: each statement runs
 * on its own.
 */
export async function vacuumImportedTables(dataSource: DataSource): Promise<void> {
  for (const table of IMPORTED_TABLES) await dataSource.query(`VACUUM (ANALYZE) ${table}`);
}

export async function importDataset(dataSource: DataSource, options: ImportOptions): Promise<ImportStats> {
  const started = process.hrtime.bigint();
  const root = path.resolve(options.root);
  await checkRoot(root);
  const stats = emptyStats();
  const datasetId = await upsertDataset(dataSource, options.datasetName ?? path.basename(root), root);
  await markInterruptedRuns(dataSource);
  const run = await startOwnedRun(dataSource, datasetId, root);
  const finishRun = async (status: 'finished' | 'failed', error?: string) => {
    stats.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await dataSource.query(`UPDATE import_runs SET status = $2, stats = $3::jsonb, finished_at = now() WHERE id = $1`, [
      run.id,
      status,
      JSON.stringify(error ? { ...stats, error } : stats),
    ]);
  };

  let report: ReportWriter | undefined;
  try {
    report = await ReportWriter.open(options.reportPath);
    const tree = await summariseTree(root, options.signal);
    stats.entriesSkipped = tree.skipped.length;
    await report.write(tree.skipped.map((entry) => ({ file: entry.path, reason: entry.reason, action: 'rejected' as const })));
    const vocabulary = new VocabularyIds(dataSource);
    await vocabulary.load();
    const loaderKind = options.loader ?? 'copy';
    const mode = await probeBulkMode(dataSource, options.bypassTriggers ?? true);
    const loader = new BatchLoader(dataSource, datasetId, root, vocabulary, createBulkWriter(loaderKind), mode);
    const context = {
      root,
      images: tree.images,
      split: options.split,
      verifyImages: options.verifyImages ?? false,
      allowMissingImages: options.allowMissingImages ?? false,
    };
    const parsed = parseFiles(root, annotationFiles(root), options.parseWorkers ?? defaultParseWorkers(), options.maxFileBytes);
    const outcomes = mapInOrder(parsed, context.verifyImages ? (options.verifyConcurrency ?? 16) : 1, (file) => finishRead(context, file));
    const writeBatch = async (batch: ReadOutcome[]) => {
      const outcome = await loader.write(batch.filter((file): file is ReadyFile => file.ok));
      await report!.write(account(stats, batch, outcome));
      options.onProgress?.({ filesDone: stats.filesSeen, filesTotal: Math.max(tree.annotationFiles, stats.filesSeen) });
    };
    await writeInBatches(outcomes, Math.max(1, options.batchSize ?? 2000), writeBatch, options.signal);
    if (stats.imagesImported + stats.imagesUpdated > 0) {
      await refreshVocabularyCounts(dataSource);
      // VACUUM also sets the visibility map (index-only scans skip the heap); it analyses too.
      await vacuumImportedTables(dataSource);
    } else {
      await analyzeImportedTables(dataSource);
    }
    await finishRun('finished');
    return stats;
  } catch (error) {
    const failure = options.signal?.aborted ? new ImportAbortedError(stats) : error;
    await finishRun('failed', failure instanceof Error ? failure.message : String(failure)).catch(() => undefined);
    throw failure;
  } finally {
    await report?.close();
    await run.release();
  }
}
