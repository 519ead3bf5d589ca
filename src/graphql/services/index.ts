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
import { ModelServerClient } from './model-server-client';
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
  /** Base URL of the model server analyzeImage sends photos to (none: analyzeImage answers MODEL_SERVER_UNAVAILABLE). */
  modelServerUrl: string | undefined;
  /** The only folder `startTraining(initWeights:)` may name a file in. */
  weightsDir: string;
  log: (message: string, error?: unknown) => void;
}

export function createApiServices(config: ApiServicesConfig): ApiServices {
  const databaseUrl = databaseUrlOf(config.dataSource);
  const queue = new JobQueueHandle(databaseUrl);
  const modelServer = new ModelServerClient(config.modelServerUrl, config.log);
  const training = new TrainingService(config.dataSource, queue, databaseUrl, config.weightsDir, () => modelServer.trainingMemory());
  return {
    training,
    predictions: new PredictionService(config.dataSource, queue, config.search),
    analysis: new AnalysisService(config.dataSource, config.uploads, modelServer, config.log),
    async close() {
      await training.close();
      await queue.close();
    },
  };
}
