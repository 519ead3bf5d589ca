/**
 * What the training and prediction mutations need beyond the request context: the job queue (pg-boss,
 * only with PostgreSQL), the model server's URL and the data folder (uploads). Configured from the
 * environment (DATABASE_URL, MODEL_SERVER_URL, KFASHION_DATA_DIR) on first use, or explicitly by
 * `configureTrainingApi` (tests, embedding).
 */
import * as path from 'node:path';
import { GraphQLError } from 'graphql';
import { JobQueue, QueueUnavailableError, requireDatabaseUrl } from '../../model-server/queue';

export interface TrainingApiConfig {
  /** PostgreSQL URL for the job queue; unset → training and batch prediction are unavailable. */
  databaseUrl?: string;
  modelServerUrl?: string;
  dataDir: string;
  /** Largest uploaded image accepted by analyzeImage (decoded bytes). */
  maxUploadBytes: number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 * 1024;

let config: TrainingApiConfig | null = null;
let queue: Promise<JobQueue> | null = null;

export function configureTrainingApi(next: Partial<TrainingApiConfig>): void {
  const previous = trainingApiConfig();
  config = { ...previous, ...next };
  if (config.databaseUrl !== previous.databaseUrl) void closeTrainingApi();
}

export function trainingApiConfig(): TrainingApiConfig {
  config ??= {
    databaseUrl: process.env.DATABASE_URL || undefined,
    modelServerUrl: process.env.MODEL_SERVER_URL || undefined,
    dataDir: path.resolve(process.env.KFASHION_DATA_DIR || '.kfashion'),
    maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
  };
  return config;
}

/** The job queue, opened once per process; a GraphQL error when there is no PostgreSQL. */
export async function jobQueue(): Promise<JobQueue> {
  if (!queue) {
    let url: string;
    try {
      url = requireDatabaseUrl(trainingApiConfig().databaseUrl, 'training and batch prediction');
    } catch (error) {
      if (error instanceof QueueUnavailableError) throw new GraphQLError(error.message, { extensions: { code: 'JOB_QUEUE_UNAVAILABLE' } });
      throw error;
    }
    queue = JobQueue.open(url, { poolSize: 2 });
    queue.catch(() => (queue = null));
  }
  return queue;
}

export async function closeTrainingApi(): Promise<void> {
  const open = queue;
  queue = null;
  if (open) await (await open.catch(() => null))?.stop();
}

export function badInput(field: string, message: string): GraphQLError {
  return new GraphQLError(message.startsWith(`${field}:`) ? message : `${field}: ${message}`, { extensions: { code: 'BAD_USER_INPUT', field } });
}

export function notFound(what: string): GraphQLError {
  return new GraphQLError(`${what} does not exist`, { extensions: { code: 'NOT_FOUND' } });
}
