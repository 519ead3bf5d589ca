import { Command } from 'commander';
import { environment } from './environment';

/** `kfashion migrate`: apply pending migrations (every command also does this on open). */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (DATABASE_URL, or the embedded database)')
    .action(async () => {
      const [{ openDatabase }, { appliedMigrationNames }] = await Promise.all([
        import('../db/data-source'),
        import('../db/applied-migrations'),
      ]);
      const dataSource = await openDatabase({ env: environment() });
      console.log(`schema is current: ${(await appliedMigrationNames(dataSource)).join(', ')}`);
      await dataSource.destroy();
    });
}
