/**
 * Test databases: each test file gets its own freshly created PostgreSQL database (dropped
 * afterwards), so test files can run in parallel against one server: TEST_DATABASE_URL's, or the
 * embedded server that jest's global setup starts (test/support/global-setup.ts) — never a shared
 * application database.
 */
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { openDatabase } from '../../src/db/data-source';

function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests through jest (its global setup starts a database server)');
  return url;
}

function urlForDatabase(name: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function onServer<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl() });
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
