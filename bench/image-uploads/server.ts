/**
 * The API server for the image-upload benchmark, in its own process so its peak RSS is its own:
 * `node server.js <databaseUrl> <dataDir> [compiled src folder]` prints `listening <port>`, and on
 * SIGTERM `maxrss <KB>` before it exits. The third argument lets the bench run an older build (the
 * `before` column) with the same driver.
 */
import 'reflect-metadata';
import * as path from 'node:path';
import type { openDatabase as OpenDatabase } from '../../src/db/data-source';
import type { startApiServer as StartApiServer } from '../../src/graphql/server';

async function main(): Promise<void> {
  const [databaseUrl, dataDir, sources = path.resolve(__dirname, '../../src')] = process.argv.slice(2);
  // The sources to measure are chosen on the command line (a folder of compiled code), so they are required by path.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { openDatabase } = require(path.join(sources, 'db/data-source')) as { openDatabase: typeof OpenDatabase };
  const { startApiServer } = require(path.join(sources, 'graphql/server')) as { startApiServer: typeof StartApiServer };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const dataSource = await openDatabase({ url: databaseUrl, poolSize: 10 });
  const server = await startApiServer({ dataSource, port: 0, host: '127.0.0.1', dataDir, log: () => {} });
  process.stdout.write(`listening ${server.port}\n`);
  process.on('SIGTERM', () => {
    process.stdout.write(`maxrss ${process.resourceUsage().maxRSS}\n`);
    void server.stop().finally(() => process.exit(0));
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
