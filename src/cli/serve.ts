import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { openDatabase, optionsFromEnv } from '../db/data-source';
import { startApiServer } from '../graphql/server';
import { printApiSchema } from '../graphql/schema';

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

/** `kfashion serve`: the GraphQL API on PORT (default 4000) at /graphql, until SIGINT/SIGTERM. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the GraphQL API (PORT, default 4000) with image routes and /health')
    .option('--print-schema', 'print the schema (SDL) and exit')
    .action(async (options: { printSchema?: boolean }) => {
      if (options.printSchema) {
        process.stdout.write(printApiSchema());
        return;
      }
      const env = process.env;
      const statementTimeoutMs = Number(env.KFASHION_STATEMENT_TIMEOUT_MS ?? 10_000);
      const dataSource = await openDatabase({ ...optionsFromEnv(env), statementTimeoutMs, poolSize: 20 });
      const dataDir = path.resolve(env.KFASHION_DATA_DIR || '.kfashion');
      const uploadsDir = path.join(dataDir, 'uploads');
      const server = await startApiServer({
        dataSource,
        port: Number(env.PORT ?? 4000),
        introspection: flag(env.KFASHION_INTROSPECTION),
        explorer: flag(env.KFASHION_EXPLORER),
        publicUrl: env.PUBLIC_URL || undefined,
        uploadsDir: fs.existsSync(uploadsDir) ? uploadsDir : undefined,
      });
      console.log(`GraphQL API at ${server.url}`);
      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: draining requests and closing`);
        await server.stop();
        await dataSource.destroy();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
