/**
 * The services the resolvers delegate to, built once when the server starts (server.ts), handed to
 * every request in the GraphQL context, and closed when the server stops.
 */
import type { DataSource } from 'typeorm';
import { databaseUrlOf } from '../../db/data-source';
import type { SearchService } from '../../db/search';
import type { UploadStore } from '../../uploads/upload-store';
import { AnalysisService } from './analysis-service';
import { JobQueueHandle } from './job-queue';
import { LeaseWatchdog } from '../../jobs/lease-watchdog';
import { ModelServerClient, type ModelServerSettings } from './model-server-client';
import { PredictionService } from './prediction-service';
import { TrainingService } from './training-service';

export interface ApiServices {
  training: TrainingService;
  predictions: PredictionService;
  analysis: AnalysisService;
  close(): Promise<void>;
}

export interface ApiServicesConfig {
  dataSource: DataSource;
  search: SearchService;
  uploads: UploadStore;
  /** The model server analyzeImage sends photos to (no URL: analyzeImage answers MODEL_SERVER_UNAVAILABLE), its token and deadlines. */
  modelServer: ModelServerSettings;
  /** The only folder `startTraining(initWeights:)` may name a file in. */
  weightsDir: string;
  /** Run a lease watchdog in this process with this lease timeout (seconds); undefined: none. */
  leaseTimeoutSeconds?: number;
  /** Images per prediction chunk when predictImages gives no chunkSize (undefined: the default). */
  predictionChunkSize?: number;
  log: (message: string, error?: unknown) => void;
}

export function createApiServices(config: ApiServicesConfig): ApiServices {
  const databaseUrl = databaseUrlOf(config.dataSource);
  const queue = new JobQueueHandle(databaseUrl);
  const modelServer = new ModelServerClient(config.modelServer, config.log);
  const training = new TrainingService(config.dataSource, queue, databaseUrl, config.weightsDir, () => modelServer.trainingMemory());
  const watchdog =
    config.leaseTimeoutSeconds === undefined
      ? null
      : new LeaseWatchdog(
          config.dataSource,
          () => queue.get(),
          config.leaseTimeoutSeconds,
          (line) => config.log(`lease watchdog: ${line}`),
        );
  watchdog?.start();
  return {
    training,
    predictions: new PredictionService(config.dataSource, queue, config.search, config.predictionChunkSize),
    analysis: new AnalysisService(config.dataSource, config.uploads, modelServer, config.log),
    async close() {
      await watchdog?.stop();
      await training.close();
      await queue.close();
    },
  };
}
