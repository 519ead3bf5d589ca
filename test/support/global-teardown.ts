import * as fs from 'node:fs';
import type { EmbeddedPostgres } from '../../src/db/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { kfashionTestPostgres?: EmbeddedPostgres }).kfashionTestPostgres;
  if (!server) return;
  server.leaveSync();
  fs.rmSync(server.baseDir, { recursive: true, force: true });
}
