/**
 * The API server for the search benchmark, in its own process (as in production, and so the load
 * generator does not share its event loop): `node server.js <databaseUrl>` prints `listening <port>`.
 */
import 'reflect-metadata';
import { openDatabase } from '../../src/db/data-source';
import { startApiServer } from '../../src/graphql/server';

async function main(): Promise<void> {
  const dataSource = await openDatabase({ url: process.argv[2], statementTimeoutMs: 10_000, poolSize: 20 });
  const server = await startApiServer({ dataSource, port: 0, host: '127.0.0.1' });
  process.stdout.write(`listening ${server.port}\n`);
  process.on('SIGTERM', () => {
    server
      .stop()
      .then(() => dataSource.destroy())
      .then(
        () => process.exit(0),
        (error) => {
          console.error('stopping the bench server failed:', error);
          process.exit(1);
        },
      );
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
