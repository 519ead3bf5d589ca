/**
 * Batch prediction jobs for the API: created over the images matching a filter (cut into chunks the
 * model servers take from the job queue), cancelled, and read.
 */
import type { DataSource } from 'typeorm';
import { cancelPredictionJob, createPredictionJob } from '../../db/prediction-jobs';
import { countPredictionJobs, findPredictionJob, listPredictionJobs, type PredictionJobRow } from '../../db/prediction-job-views';
import type { RunStatus } from '../../db/entities';
import type { NewestFirstPage, RowPage } from '../../db/newest-first';
import { readModelVersion } from '../../db/model-versions';
import type { SearchService } from '../../db/search';
import type { ImageFilter } from '../../db/search-filter';
import type { PredictionJobKind } from '../../db/prediction-chunks';
import { notFound } from '../errors';
import { globalId } from '../ids';
import type { JobQueueHandle } from './job-queue';

export type { PredictionJobRow };

export class PredictionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueueHandle,
    private readonly search: SearchService,
    /** Images per chunk when a call gives no chunkSize (KFASHION_PREDICTION_CHUNK, as the CLI read it); undefined: the default. */
    readonly defaultChunkSize?: number,
  ) {}

  /** A job of `kind` (default `predict`; `embed`: embedGarments) over the images of `filter`. */
  async create(
    filter: ImageFilter | null,
    modelVersionId: number,
    chunkSize: number,
    kind: PredictionJobKind = 'predict',
  ): Promise<PredictionJobRow> {
    await readModelVersion(this.dataSource, modelVersionId).catch(() => {
      throw notFound(`model version ${globalId('ModelVersion', modelVersionId)}`);
    });
    // Compiles the filter now, so a bad filter is the caller's error and not a failed job.
    await this.search.images(filter, { first: 1 });
    return createPredictionJob(this.dataSource, await this.queue.get(), this.search, { kind, modelVersionId, filter, chunkSize });
  }

  /** Null when the job does not exist. */
  async cancel(id: number): Promise<PredictionJobRow | null> {
    return cancelPredictionJob(this.dataSource, await this.queue.get(), id);
  }

  async job(id: number): Promise<PredictionJobRow | null> {
    return findPredictionJob(this.dataSource, id);
  }

  /** A page of jobs newest first, optionally of one status. */
  list(status: RunStatus | null, page: NewestFirstPage): Promise<RowPage<PredictionJobRow>> {
    return listPredictionJobs(this.dataSource, status, page);
  }

  count(status: RunStatus | null): Promise<number> {
    return countPredictionJobs(this.dataSource, status);
  }
}
