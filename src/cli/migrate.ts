import { Command } from 'commander';
import { openDatabase } from '../db/data-source';
import { appliedMigrationNames } from '../db/applied-migrations';

/** `kfashion migrate`: apply pending migrations (every command also does this on open). */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (DATABASE_URL, or the embedded database)')
    .action(async () => {
      const dataSource = await openDatabase();
      console.log(`schema is current: ${(await appliedMigrationNames(dataSource)).join(', ')}`);
      await dataSource.destroy();
    });
}
