import { Command } from 'commander';
import { openDatabase } from '../db/data-source';

/** `kfashion migrate`: apply pending migrations (every command also does this on open). */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (DATABASE_URL, or the embedded database)')
    .action(async () => {
      const dataSource = await openDatabase();
      const rows: { name: string }[] = await dataSource.query('SELECT name FROM migrations ORDER BY id');
      console.log(`schema is current: ${rows.map((row) => row.name).join(', ')}`);
      await dataSource.destroy();
    });
}
