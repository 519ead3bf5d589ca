/**
 * `kfashion import <dir>`: load a K-Fashion tree into the database (DATABASE_URL, or the
 * embedded PGlite database). Exit 0 when the run finished, rejected input included; non-zero
 * only when the run itself failed or was interrupted.
 */
import { Command, InvalidArgumentError } from 'commander';
import { environment } from './environment';
import type { Split } from '../db/entities';
import type { ImportOptions, ImportStats } from '../db/import';

interface ImportFlags {
  split?: Split;
  report?: string;
  json?: boolean;
  verifyImages?: boolean;
  allowMissingImages?: boolean;
  dataset?: string;
  batchSize?: number;
  maxFileBytes?: number;
}

function parseSplit(value: string): Split {
  const split = ({ train: 'train', training: 'train', validation: 'validation', val: 'validation' } as const)[
    value.toLowerCase() as 'train'
  ];
  if (!split) throw new InvalidArgumentError(`--split must be train or validation, got "${value}"`);
  return split;
}

function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return number;
}

/** A files/s + ETA bar on a terminal; nothing when the output is a pipe or a file. */
async function progressReporter(): Promise<{ onProgress?: ImportOptions['onProgress']; stop(): void }> {
  if (!process.stderr.isTTY) return { stop() {} };
  const { SingleBar } = await import('cli-progress');
  const bar = new SingleBar({
    format: 'importing [{bar}] {value}/{total} files | {speed} files/s | ETA {eta_formatted}',
    stream: process.stderr,
    hideCursor: true,
  });
  const started = Date.now();
  let shown = false;
  return {
    onProgress({ filesDone, filesTotal }) {
      const speed = Math.round(filesDone / Math.max((Date.now() - started) / 1000, 1e-3));
      if (!shown) bar.start(filesTotal, 0, { speed });
      shown = true;
      bar.setTotal(filesTotal);
      bar.update(filesDone, { speed });
    },
    stop() {
      if (shown) bar.stop();
    },
  };
}

function summary(stats: ImportStats): string {
  return (
    `imported ${stats.imagesImported} images (${stats.garmentsImported} garments), updated ${stats.imagesUpdated}, ` +
    `unchanged ${stats.imagesUnchanged}, kept edited ${stats.imagesKeptEdited}; rejected ${stats.filesRejected} files and ${stats.garmentsRejected} garments, ` +
    `repaired ${stats.garmentsRepaired} garments; ${stats.filesSeen} files in ${stats.seconds.toFixed(1)} s`
  );
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import K-Fashion annotations (and match their images) into the database')
    .argument('<dir>', 'root of the K-Fashion tree (Training/… and Validation/…)')
    .option('--split <split>', 'split of every file (train|validation); default: from the Training/Validation folder', parseSplit)
    .option(
      '--report <file>',
      'write one JSON line per rejected file, garment or skipped entry (FIFO, socket, device, link out of the tree) and per repaired value',
    )
    .option('--json', 'print the final statistics as one JSON object on stdout')
    .option(
      '--verify-images',
      'check each photo is a JPEG or PNG by its bytes, within the pixel budget, of the annotated width and height, and decodes whole',
    )
    .option('--allow-missing-images', 'import annotations whose image is not in the tree (no image path) instead of rejecting them')
    .option('--dataset <name>', 'dataset name (default: the folder name of <dir>); images are unique by identifier within it')
    .option('--batch-size <n>', 'files per transaction', parsePositiveInteger)
    .option('--max-file-bytes <n>', 'reject annotation files larger than this, unread (default 10485760: 10 MB)', parsePositiveInteger)
    .action(async (dir: string, flags: ImportFlags) => {
      const controller = new AbortController();
      const interrupt = () => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write('\ninterrupted: finishing the current batch (Ctrl-C again to quit at once)\n');
        controller.abort();
      };
      process.on('SIGINT', interrupt);
      process.on('SIGTERM', interrupt);
      const [{ openDatabase }, { ImportAbortedError, importDataset }] = await Promise.all([
        import('../db/data-source'),
        import('../db/import'),
      ]);
      const progress = await progressReporter();
      const dataSource = await openDatabase({ env: environment() });
      try {
        const stats = await importDataset(dataSource, {
          root: dir,
          split: flags.split,
          reportPath: flags.report,
          verifyImages: flags.verifyImages,
          allowMissingImages: flags.allowMissingImages,
          datasetName: flags.dataset,
          batchSize: flags.batchSize,
          maxFileBytes: flags.maxFileBytes,
          onProgress: progress.onProgress,
          signal: controller.signal,
        });
        progress.stop();
        if (flags.json) process.stdout.write(JSON.stringify(stats) + '\n');
        else console.log(summary(stats));
      } catch (error) {
        progress.stop();
        if (!(error instanceof ImportAbortedError)) throw error;
        console.error(error.message);
        process.exitCode = 130; // the conventional status of a command stopped by SIGINT
      } finally {
        process.off('SIGINT', interrupt);
        process.off('SIGTERM', interrupt);
        await dataSource.destroy();
      }
    });
}
