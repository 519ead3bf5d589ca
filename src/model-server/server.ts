/**
 * `kfashion model-server` as a library: the TensorFlow.js backend, the model registry, the HTTP
 * inference routes and the job worker, over one PostgreSQL database shared with the API and with
 * any number of other model servers.
 */
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { initBackend, type BackendInfo } from '../ml/backend';
import { checkAccess, DEFAULT_MODEL_SERVER_HOST, startModelHttp, type RunningModelHttp } from './http';
import { ModelRegistry } from './models';
import { onnxThreads, resolveEngine } from '../ml/onnx/engine';
import { loadOnnxRuntime } from '../ml/onnx/runtime';
import { databaseUrlOf } from '../db/data-source';
import { JobQueue, type QueueName } from '../jobs/queue';
import { JobWorker } from './worker';

export interface ModelServerOptions {
  dataSource: DataSource;
  dataDir: string;
  port?: number;
  /** Address to bind (default loopback); any other needs `token`. */
  host?: string;
  /** The bearer token /predict and /ready require (see http.ts). */
  token?: string;
  backend?: string;
  /** Inference engine: tfjs or onnx (default: `env`'s KFASHION_ENGINE, else tfjs). */
  engine?: string;
  /** The variables the CLI read for the backend, the engine and ONNX Runtime's threads. */
  env?: { readonly KFASHION_TF_BACKEND?: string; readonly KFASHION_ENGINE?: string; readonly KFASHION_ONNX_THREADS?: number };
  maxBodyBytes?: number;
  maxBatch?: number;
  maxWaitMs?: number;
  leaseTimeoutSeconds?: number;
  pollIntervalMs?: number;
  /** false: serve inference only, take no jobs. */
  work?: boolean;
  queues?: QueueName[];
  workerName?: string;
  log?: (line: string) => void;
}

export interface RunningModelServer {
  http: RunningModelHttp;
  backend: BackendInfo;
  worker: JobWorker | null;
  queue: JobQueue;
  registry: ModelRegistry;
  stop(): Promise<void>;
}

export async function startModelServer(options: ModelServerOptions): Promise<RunningModelServer> {
  // Before anything is opened: a refused bind must not leave a queue connection behind.
  checkAccess(options.host ?? DEFAULT_MODEL_SERVER_HOST, options.token);
  const backend = await initBackend(options.backend, { env: options.env });
  const engine = resolveEngine(options.engine, options.env);
  // Fail at start, with the reason, rather than at the first request.
  if (engine === 'onnx') loadOnnxRuntime();
  const queue = await JobQueue.open(databaseUrlOf(options.dataSource));
  const registry = new ModelRegistry(
    options.dataSource,
    { maxBatch: options.maxBatch, maxWaitMs: options.maxWaitMs },
    undefined,
    engine,
    onnxThreads(options.env),
  );
  const http = await startModelHttp({
    registry,
    backend,
    port: options.port,
    host: options.host,
    token: options.token,
    maxBodyBytes: options.maxBodyBytes,
  });
  const worker =
    options.work === false
      ? null
      : new JobWorker({
          dataSource: options.dataSource,
          queue,
          registry,
          dataDir: path.resolve(options.dataDir),
          name: options.workerName,
          leaseTimeoutSeconds: options.leaseTimeoutSeconds,
          pollIntervalMs: options.pollIntervalMs,
          queues: options.queues,
          log: options.log,
        });
  worker?.start();
  return {
    http,
    backend,
    worker,
    queue,
    registry,
    async stop() {
      await worker?.stop();
      await http.close();
      await queue.stop();
      await registry.dispose();
    },
  };
}
