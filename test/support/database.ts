/**
 * Test databases: each test file gets its own freshly created PostgreSQL database (dropped
 * afterwards), so test files can run in parallel against the one local server. The server is
 * TEST_DATABASE_URL's (default: the local trust-auth server), never a shared application database.
 */
import { Client } from 'pg';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { openDatabase } from '../../src/db/data-source';

const SERVER_URL = process.env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';

function urlForDatabase(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function onServer<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  dataSource: DataSource;
  /** Connection string of the fresh database (for child processes and the CLI). */
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database with the current schema on the PostgreSQL server. */
export async function createPostgresTestDatabase(): Promise<TestDatabase> {
  const name = `kf_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await onServer((client) => client.query(`CREATE DATABASE ${name}`));
  const url = urlForDatabase(name);
  const dataSource = await openDatabase({ url });
  return {
    dataSource,
    url,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await onServer((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Creates an embedded PGlite database in a temporary folder. One per test file (PGlite is per process). */
export async function createPgliteTestDatabase(): Promise<TestDatabase & { dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-pglite-'));
  const dataSource = await openDatabase({ dataDir });
  return {
    dataSource,
    url: '',
    dataDir,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
