/**
 * `kfashion db url|start|stop|status`: the embedded PostgreSQL server of KFASHION_DATA_DIR for psql,
 * pg_dump and other tools. With DATABASE_URL set there is no embedded server: `url` prints that URL.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import type { EmbeddedPostgres } from '../db/embedded-postgres';
import { dataDir } from '../util/data-dir';
import { environment } from './environment';

async function embedded(): Promise<EmbeddedPostgres> {
  if (environment().DATABASE_URL) throw new Error('DATABASE_URL is set: kfashion uses that server, not an embedded one');
  const { EmbeddedPostgres } = await import('../db/embedded-postgres');
  return new EmbeddedPostgres(path.join(dataDir(environment()), 'postgres'));
}

export function registerDb(program: Command): void {
  const db = program.command('db').description('the embedded PostgreSQL server (used when DATABASE_URL is unset)');
  db.command('url')
    .description('print the connection URL of the database (e.g. psql "$(npx kfashion db url)")')
    .action(async () => {
      const { DATABASE_URL } = environment();
      if (DATABASE_URL) return void console.log(DATABASE_URL);
      const server = await embedded();
      if (!server.running())
        throw new Error(`the embedded server of ${server.baseDir} is not running: start it with \`kfashion db start\``);
      console.log(server.url());
    });
  db.command('start')
    .description('start the embedded server and keep it running after this command (until `kfashion db stop`)')
    .action(async () => {
      const url = await (await embedded()).pin();
      console.log(url);
    });
  db.command('stop')
    .description('stop the embedded server (at once, or when the kfashion processes still using it exit)')
    .action(async () => {
      const busy = (await embedded()).unpin();
      console.log(busy.length === 0 ? 'stopped' : `still used by process ${busy.join(', ')}: it stops when they exit`);
    });
  db.command('status')
    .description('say whether the embedded server runs, where, and for whom')
    .action(async () => {
      const server = await embedded();
      const live = server.running();
      console.log(
        live ? `running (pid ${live.pid}, port ${live.port}), data in ${server.dataDir}` : `not running; data in ${server.dataDir}`,
      );
    });
}
