/**
 * `kfashion model-server`: the ML worker and inference process. Serves /health, /ready and /predict on
 * MODEL_SERVER_PORT (or PORT, default 4100) and works training and prediction jobs from the PostgreSQL
 * job queue; needs DATABASE_URL. SIGINT/SIGTERM: running jobs stop after their step and go back to the
 * queue (another server resumes them from the checkpoint).
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { openDatabase, optionsFromEnv } from '../db/data-source';
import { requireDatabaseUrl } from '../model-server/queue';
import { startModelServer } from '../model-server/server';

function positiveNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got "${value}"`);
  return n;
}

/** A TCP port; 0 lets the system pick a free one (printed at start). */
function port(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name}: expected a port number, got "${value}"`);
  return n;
}

export function registerModelServer(program: Command): void {
  program
    .command('model-server')
    .description('run the model server: inference over HTTP (MODEL_SERVER_PORT, default 4100) and training/prediction jobs (needs DATABASE_URL)')
    .option('--backend <name>', 'TensorFlow.js backend: tensorflow, wasm or cpu (default: KFASHION_TF_BACKEND or best available)')
    .option('--no-jobs', 'serve inference only, take no jobs from the queue')
    .option('--lease-timeout <seconds>', 'a job whose worker sent no heartbeat for this long is retried elsewhere', '120')
    .action(async (options: { backend?: string; jobs: boolean; leaseTimeout: string }) => {
      const env = process.env;
      const databaseUrl = requireDatabaseUrl(env.DATABASE_URL, 'kfashion model-server');
      const dataSource = await openDatabase({ ...optionsFromEnv(env), url: databaseUrl });
      const server = await startModelServer({
        dataSource,
        databaseUrl,
        dataDir: path.resolve(env.KFASHION_DATA_DIR || '.kfashion'),
        port: port(env.MODEL_SERVER_PORT ?? env.PORT, 'MODEL_SERVER_PORT') ?? 4100,
        backend: options.backend,
        work: options.jobs,
        leaseTimeoutSeconds: positiveNumber(options.leaseTimeout, '--lease-timeout'),
        maxBatch: positiveNumber(env.KFASHION_MAX_BATCH, 'KFASHION_MAX_BATCH'),
      });
      console.log(`model server on http://localhost:${server.http.port} (${server.backend.name}, worker ${server.worker?.name ?? 'off'})`);
      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: handing running jobs back to the queue and closing`);
        await server.stop();
        await dataSource.destroy();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
