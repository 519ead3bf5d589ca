/**
 * Opens the platform's database: the PostgreSQL server of `DATABASE_URL`, or, when it is unset, the
 * embedded PostgreSQL server of `KFASHION_DATA_DIR` (started on first use and shared by every
 * `kfashion` process of that folder; see embedded-postgres.ts). Either way it is real PostgreSQL, so
 * COPY, the job queue, LISTEN/NOTIFY and several processes work the same. Pending migrations are
 * applied on open, so every entry point (CLI, server, tests) sees the current schema.
 */
import 'reflect-metadata';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { ENTITIES } from './entities';
import { embeddedDatabaseUrl } from './embedded-postgres';
import { MIGRATIONS } from '../../migrations';
import { dataDir } from '../util/data-dir';
import { ADVISORY_LOCKS, withAdvisoryLock } from './advisory-lock';

export interface DatabaseOptions {
  /** PostgreSQL connection string; default: DATABASE_URL, else the embedded server. */
  url?: string;
  /** Connection pool size. */
  poolSize?: number;
  /** DATABASE_URL and KFASHION_DATA_DIR, when `url` is absent. */
  env?: DatabaseEnvironment;
  /** Server-side statement timeout for every query, in milliseconds (0 = none). */
  statementTimeoutMs?: number;
}

/** Where the database is, as the CLI read it from the environment (absent: the embedded server of `.kfashion`). */
export interface DatabaseEnvironment {
  readonly DATABASE_URL?: string;
  readonly KFASHION_DATA_DIR?: string;
}

/** DATABASE_URL, or the URL of the embedded server of KFASHION_DATA_DIR (joined, and started when it is not running). */
export async function resolveDatabaseUrl(env: DatabaseEnvironment = {}): Promise<string> {
  return env.DATABASE_URL || embeddedDatabaseUrl(path.join(dataDir(env), 'postgres'));
}

/** The connection string a data source was opened with (for the job queue and LISTEN connections). */
export function databaseUrlOf(dataSource: DataSource): string {
  const url = (dataSource.options as PostgresConnectionOptions).url;
  if (!url) throw new Error('the data source was not opened by openDatabase (no connection string)');
  return url;
}

/** Opens the database and applies pending migrations (one process at a time: see advisory-lock.ts). */
export async function openDatabase(options: DatabaseOptions = {}): Promise<DataSource> {
  const timeout = options.statementTimeoutMs ?? 0;
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url ?? (await resolveDatabaseUrl(options.env)),
    poolSize: options.poolSize ?? 10,
    extra: timeout > 0 ? { statement_timeout: timeout } : {},
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    logging: false,
  });
  await dataSource.initialize();
  try {
    await withAdvisoryLock(dataSource, ADVISORY_LOCKS.migrations, () => dataSource.runMigrations({ transaction: 'each' }));
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}
