import type { DataSource } from 'typeorm';

/** Names of the migrations recorded as applied, in the order they ran. */
export async function appliedMigrationNames(dataSource: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await dataSource.query('SELECT name FROM migrations ORDER BY id');
  return rows.map((row) => row.name);
}
