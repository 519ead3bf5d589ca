/**
 * Opens the platform's database: PostgreSQL when `DATABASE_URL` is set, otherwise an embedded
 * PGlite database under `KFASHION_DATA_DIR` (default ./.kfashion). Pending migrations are applied
 * on open, so every entry point (CLI, server, tests) sees the current schema.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { ENTITIES } from './entities';
import { MIGRATIONS } from '../../migrations';

export interface DatabaseOptions {
  /** PostgreSQL connection string; when absent, PGlite under `dataDir` is used. */
  url?: string;
  /** Folder for the embedded database (ignored with `url`). */
  dataDir?: string;
  /** Connection pool size on PostgreSQL. */
  poolSize?: number;
  /** Server-side statement timeout for every query, in milliseconds (0 = none). */
  statementTimeoutMs?: number;
}

export type DatabaseKind = 'postgres' | 'pglite';

/** PGlite speaks PostgreSQL's SQL but has no COPY and one connection: bulk paths ask which one they have. */
export function databaseKind(dataSource: DataSource): DatabaseKind {
  return (dataSource.options as { driver?: unknown }).driver ? 'pglite' : 'postgres';
}

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseOptions {
  return {
    url: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.KFASHION_DATA_DIR || '.kfashion', 'pgdata'),
  };
}

function buildDataSource(options: DatabaseOptions): DataSource {
  const common = { entities: ENTITIES, migrations: MIGRATIONS, synchronize: false, logging: false } as const;
  if (options.url) {
    const timeout = options.statementTimeoutMs ?? 0;
    return new DataSource({
      type: 'postgres',
      url: options.url,
      poolSize: options.poolSize ?? 10,
      extra: timeout > 0 ? { statement_timeout: timeout } : {},
      ...common,
    });
  }
  const dataDir = options.dataDir ?? optionsFromEnv().dataDir!;
  fs.mkdirSync(dataDir, { recursive: true });
  return new DataSource({
    type: 'postgres',
    driver: new PGliteDriver({ dataDir }).driver,
    ...common,
  });
}

/** Opens the database and applies pending migrations. */
export async function openDatabase(options: DatabaseOptions = optionsFromEnv()): Promise<DataSource> {
  const dataSource = buildDataSource(options);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  return dataSource;
}
