/** The database answers (GET /health). */
import type { DataSource } from 'typeorm';

export async function pingDatabase(dataSource: DataSource): Promise<void> {
  await dataSource.query('SELECT 1');
}
