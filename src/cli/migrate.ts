import { Command } from 'commander';
import { environment } from './environment';
import { integerInRange } from './options';

/**
 * `kfashion migrate`: apply pending migrations (every command also does this on open); with
 * `--review-scores`, then score the stored predictions for the review queue (those stored before it
 * existed: new predictions are scored as they are stored).
 */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (DATABASE_URL, or the embedded database)')
    .option('--review-scores', 'then score the stored predictions of every model version for the review queue (again)')
    .option('--model-version <id>', 'with --review-scores: only this model version', (value) =>
      integerInRange(value, '--model-version', 1, 2 ** 31 - 1),
    )
    .action(async (options: { reviewScores?: boolean; modelVersion?: number }) => {
      const [{ openDatabase }, { appliedMigrationNames }] = await Promise.all([
        import('../db/data-source'),
        import('../db/applied-migrations'),
      ]);
      const dataSource = await openDatabase({ env: environment() });
      try {
        console.log(`schema is current: ${(await appliedMigrationNames(dataSource)).join(', ')}`);
        if (options.reviewScores) {
          const { backfillReviewScores } = await import('../db/review-queue');
          const scored = await backfillReviewScores(dataSource, { modelVersionId: options.modelVersion });
          console.log(`review scores: ${scored} (model version, image) pairs scored`);
        }
      } finally {
        await dataSource.destroy();
      }
    });
}
