/** `kfashion serve`: the GraphQL API and web console on PORT (default 4000), until SIGINT/SIGTERM; `--model-server` adds a model server. */
import { Command } from 'commander';
import type { DataSource } from 'typeorm';
import type { RunningApiServer } from '../graphql/server';
import { dataDir } from '../util/data-dir';
import { weightsDir } from '../ml/weights/catalogue';
import { environment, type Environment } from './environment';
import { ModelServerSupervisor } from './model-server-process';
import { leaseTimeoutSeconds, onShutdown } from './options';

export interface ServedApi {
  api: RunningApiServer;
  dataSource: DataSource;
  modelServer: ModelServerSupervisor | null;
  close(): Promise<void>;
}

/** KFASHION_PUBLIC_READ, by default on only for the embedded demo database (DATABASE_URL unset). */
export function publicRead(env: Pick<Environment, 'KFASHION_PUBLIC_READ' | 'DATABASE_URL'>): boolean {
  return env.KFASHION_PUBLIC_READ ?? !env.DATABASE_URL;
}

/** The API (and, when asked, a model server child process) on the configured database; shared with `kfashion demo`. */
export async function serveApi(withModelServer: boolean, env: Environment = environment()): Promise<ServedApi> {
  const [{ openDatabase }, { startApiServer }] = await Promise.all([import('../db/data-source'), import('../graphql/server')]);
  const dataSource = await openDatabase({ env, statementTimeoutMs: env.KFASHION_STATEMENT_TIMEOUT_MS ?? 10_000, poolSize: 20 });
  const modelServer = withModelServer ? await ModelServerSupervisor.start(undefined, env.MODEL_SERVER_TOKEN) : null;
  const api = await startApiServer({
    dataSource,
    port: env.PORT ?? 4000,
    production: env.NODE_ENV === 'production',
    introspection: env.KFASHION_INTROSPECTION,
    explorer: env.KFASHION_EXPLORER,
    publicUrl: env.PUBLIC_URL,
    dataDir: dataDir(env),
    weightsDir: weightsDir(env),
    publicRead: publicRead(env),
    predictionChunkSize: env.KFASHION_PREDICTION_CHUNK,
    modelServerUrl: modelServer?.url ?? env.MODEL_SERVER_URL,
    modelServerToken: modelServer?.token ?? env.MODEL_SERVER_TOKEN,
    modelServerTimeouts: { connectTimeoutMs: env.MODEL_SERVER_CONNECT_TIMEOUT_MS, timeoutMs: env.MODEL_SERVER_TIMEOUT_MS },
    // The API watches the leases too: with one model server, its own watchdog dies with it.
    leaseTimeoutSeconds: leaseTimeoutSeconds(env),
  });
  return {
    api,
    dataSource,
    modelServer,
    async close() {
      await api.stop();
      await modelServer?.stop();
      await dataSource.destroy();
    },
  };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the GraphQL API and web console (PORT, default 4000) with image routes, uploads and /health')
    .option('--model-server', 'also run a model server (training, analysis) as a child process: everything on one machine')
    .option('--print-schema', 'print the schema (SDL) and exit')
    .action(async (options: { printSchema?: boolean; modelServer?: boolean }) => {
      if (options.printSchema) {
        const { printApiSchema } = await import('../graphql/schema');
        process.stdout.write(printApiSchema());
        return;
      }
      const served = await serveApi(options.modelServer ?? false);
      console.log(`GraphQL API at ${served.api.url}`);
      console.log(`web console at ${served.api.url.replace(/\/graphql$/, '/')}`);
      if (served.modelServer) console.log(`model server at ${served.modelServer.url}`);
      onShutdown('draining requests and closing', () => served.close());
    });
}
