/**
 * What the training and prediction mutations need beyond the request context: the job queue (pg-boss,
 * on the API's own database), the model server's URL and the data folder (uploads). Configured from
 * the environment (MODEL_SERVER_URL, KFASHION_DATA_DIR) on first use, or explicitly by
 * `configureTrainingApi` (tests, embedding).
 */
import * as path from 'node:path';
import { GraphQLError } from 'graphql';
import type { DataSource } from 'typeorm';
import { databaseUrlOf } from '../../db/data-source';
import { JobQueue } from '../../jobs/queue';
import { weightsDir } from '../../ml/weights/catalogue';
import { dataDir } from '../../util/data-dir';

export interface TrainingApiConfig {
  modelServerUrl?: string;
  dataDir: string;
  /** The only folder `startTraining(initWeights:)` may name a file in (KFASHION_WEIGHTS_DIR, default <data dir>/weights). */
  weightsDir: string;
}

let config: TrainingApiConfig | null = null;
let queue: Promise<JobQueue> | null = null;

export function configureTrainingApi(next: Partial<TrainingApiConfig>): void {
  const previous = trainingApiConfig();
  config = { ...previous, ...next };
  if (next.dataDir && !next.weightsDir) config.weightsDir = path.join(next.dataDir, 'weights');
}

export function trainingApiConfig(): TrainingApiConfig {
  config ??= {
    modelServerUrl: process.env.MODEL_SERVER_URL || undefined,
    dataDir: dataDir(),
    weightsDir: weightsDir(),
  };
  return config;
}

/** The job queue on the API's database, opened once per process. */
export async function jobQueue(dataSource: DataSource): Promise<JobQueue> {
  if (!queue) {
    queue = JobQueue.open(databaseUrlOf(dataSource), { poolSize: 2 });
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
