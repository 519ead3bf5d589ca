/**
 * `kfashion model-server`: the ML worker and inference process. Serves /health, /ready and /predict on
 * MODEL_SERVER_PORT (or PORT, default 4100) of MODEL_SERVER_HOST (default 127.0.0.1; any other address
 * needs MODEL_SERVER_TOKEN, which the API sends) and works training and prediction jobs from the PostgreSQL
 * job queue (DATABASE_URL, or the embedded server of KFASHION_DATA_DIR); `--queues prediction` leaves training to
 * other servers (an ONNX Runtime server, which cannot train). SIGINT/SIGTERM: running jobs
 * stop after their step and go back to the queue (another server resumes them from the checkpoint).
 */
import { Command } from 'commander';
import { DEFAULT_MODEL_SERVER_HOST, DEFAULT_MODEL_SERVER_PORT } from '../model-server/address';
import { dataDir } from '../util/data-dir';
import { environment } from './environment';
import { exitWithParent } from './model-server-process';
import { PREDICTION_QUEUE, TRAINING_QUEUE } from '../jobs/queue-names';
import { leaseTimeoutSeconds, listOf, onShutdown, positiveNumber } from './options';

export function registerModelServer(program: Command): void {
  program
    .command('model-server')
    .description(
      `run the model server: inference over HTTP (MODEL_SERVER_PORT, default ${DEFAULT_MODEL_SERVER_PORT}) and training/prediction jobs from the database queue`,
    )
    .option(
      '--host <address>',
      'address to bind; anything but loopback needs MODEL_SERVER_TOKEN (default: MODEL_SERVER_HOST, else 127.0.0.1)',
    )
    .option('--backend <name>', 'TensorFlow.js backend: tensorflow, wasm or cpu (default: KFASHION_TF_BACKEND or best available)')
    .option('--engine <name>', 'inference engine: tfjs or onnx (ONNX Runtime; default: KFASHION_ENGINE, else tfjs)')
    .option('--no-jobs', 'serve inference only, take no jobs from the queue')
    .option(
      '--queues <names>',
      `the job queues to work, comma-separated: ${TRAINING_QUEUE}, ${PREDICTION_QUEUE}`,
      `${TRAINING_QUEUE},${PREDICTION_QUEUE}`,
    )
    .option(
      '--lease-timeout <seconds>',
      'a job whose worker sent no heartbeat for this long is retried elsewhere (default: KFASHION_LEASE_TIMEOUT, else 120)',
    )
    .action(async (options: { host?: string; backend?: string; engine?: string; jobs: boolean; queues: string; leaseTimeout?: string }) => {
      const queues = listOf(options.queues, [TRAINING_QUEUE, PREDICTION_QUEUE] as const, '--queues');
      const [{ openDatabase }, { startModelServer }] = await Promise.all([import('../db/data-source'), import('../model-server/server')]);
      const env = environment();
      const dataSource = await openDatabase({ env });
      const server = await startModelServer({
        dataSource,
        dataDir: dataDir(env),
        port: env.MODEL_SERVER_PORT ?? env.PORT ?? DEFAULT_MODEL_SERVER_PORT,
        host: options.host ?? env.MODEL_SERVER_HOST ?? DEFAULT_MODEL_SERVER_HOST,
        // From the environment only: a command-line argument is visible to every user of the machine (ps).
        token: env.MODEL_SERVER_TOKEN,
        backend: options.backend,
        engine: options.engine,
        env,
        work: options.jobs,
        queues,
        leaseTimeoutSeconds:
          options.leaseTimeout === undefined ? leaseTimeoutSeconds(env) : positiveNumber(options.leaseTimeout, '--lease-timeout'),
        maxBatch: env.KFASHION_MAX_BATCH,
      }).catch(async (error: unknown) => {
        await dataSource.destroy();
        throw error;
      });
      const { http } = server;
      const access = http.requiresToken ? 'token required' : 'no token';
      console.log(
        `model server on ${http.url} (bound to ${http.host}:${http.port}, ${access}; ${server.registry.engine} engine, ${server.backend.name}, worker ${server.worker?.name ?? 'off'})`,
      );
      const shutdown = onShutdown('handing running jobs back to the queue and closing', async () => {
        await server.stop();
        await dataSource.destroy();
      });
      exitWithParent(env.KFASHION_PARENT_PID, () => shutdown('parent process gone'));
    });
}
