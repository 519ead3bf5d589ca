/**
 * Jest global setup: unless TEST_DATABASE_URL names a PostgreSQL server, the tests run on an embedded
 * server of their own (the same code `kfashion` uses with DATABASE_URL unset), in a temporary folder
 * that global-teardown.ts stops and removes. Every test file then creates its own databases on it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedPostgres } from '../../src/db/embedded-postgres';

export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) return;
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kfashion-test-postgres-'));
  const server = new EmbeddedPostgres(baseDir);
  await server.join();
  process.env.TEST_DATABASE_URL = server.url('postgres');
  (globalThis as { kfashionTestPostgres?: EmbeddedPostgres }).kfashionTestPostgres = server;
}
