/**
 * Training runs for the API: starting one (checked against the data it would train on, recorded as
 * queued, handed to the model servers through the job queue), cancelling, reading, following its
 * progress live, and activating model versions. Built once per server (server.ts), closed with it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { activateModelVersion, countModelVersions, listModelVersions, type ModelVersionSummary } from '../../db/model-version-admin';
import type { RunStatus } from '../../db/entities';
import type { NewestFirstPage, RowPage } from '../../db/newest-first';
import {
  countTrainingRuns,
  insertQueuedRun,
  listTrainingRuns,
  requestRunCancel,
  setRunJob,
  trainingRunsByIds,
  type TrainingRunRow,
} from '../../db/training-runs';
import { RunNotifications } from '../../db/training-run-notifications';
import { TRAINING_QUEUE } from '../../jobs/queue';
import type { TrainingParams } from '../../jobs/training-params';
import { databaseExampleSource } from '../../db/training-examples';
import { buildLabelSpace, countDatasetImages } from '../../ml/data/dataset';
import { CATALOGUE } from '../../ml/weights/catalogue';
import { confinedPath } from '../../util/confined-path';
import { fileKind } from '../../util/regular-file';
import { badInput } from '../errors';
import { runUpdates, updatesLost } from '../training/run-updates';
import type { JobQueueHandle } from './job-queue';
import type { MemoryBudget } from '../../ml/train/step-memory';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export class TrainingService {
  private readonly notifications: RunNotifications;

  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueueHandle,
    databaseUrl: string,
    /** The only folder `initWeights` may name a file in. */
    private readonly weightsDir: string,
    /** What one training step may use on the model servers (null: unknown, not checked here). */
    readonly memoryBudget: () => Promise<MemoryBudget | null>,
  ) {
    this.notifications = new RunNotifications(databaseUrl, updatesLost);
  }

  /**
   * `initWeights` as a catalogue name (its file is in the weights folder once fetched) or a path
   * inside the weights folder; anything outside is the caller's error.
   */
  async initWeights(requested: string | null | undefined): Promise<string | undefined> {
    if (requested == null) return undefined;
    // A catalogue name is its file in this server's weights folder (fetched there by `kfashion weights fetch`).
    const entry = CATALOGUE.find((candidate) => candidate.name === requested);
    if (entry) return path.join(this.weightsDir, entry.fileName);
    const file = await confinedPath(this.weightsDir, requested);
    if (!file)
      throw badInput(
        'initWeights',
        `name a file in the server's weights folder (KFASHION_WEIGHTS_DIR), relative to it; "${requested}" is outside it`,
      );
    // A file that is here must be one a worker can read; one that is not may be on the model servers' side of a shared folder.
    const stats = await fs.promises.stat(file).catch(() => null);
    if (stats && !stats.isFile()) throw badInput('initWeights', `"${requested}" is ${fileKind(stats)}, not a regular file`);
    return file;
  }

  /** Records a queued run of `params` and hands it to the model servers; refuses a selection without training data. */
  async start(params: TrainingParams): Promise<TrainingRunRow> {
    const examples = databaseExampleSource(this.dataSource);
    const space = await buildLabelSpace(examples, params.data, 'train');
    if (space.classes.length === 0) {
      throw badInput(
        params.data.superCategories ? 'superCategories' : 'input',
        'the training split has no annotated garment in scope: the dataset is empty',
      );
    }
    if ((await countDatasetImages(examples, params.data, space, 'train')) === 0) {
      throw badInput('input', 'the training split has no image with garments in scope: the dataset is empty');
    }
    const queue = await this.queue.get();
    const id = await insertQueuedRun(this.dataSource, params);
    await setRunJob(this.dataSource, id, await queue.sendTraining({ runId: id }));
    return (await this.run(id))!;
  }

  /** A queued run is cancelled at once (and its job); a running one stops after its current step. Null when the run does not exist. */
  async cancel(runId: number): Promise<TrainingRunRow | null> {
    const changed = await requestRunCancel(this.dataSource, runId);
    if (!changed) return null;
    if (changed.status === 'cancelled' && changed.jobId) {
      // A job left in the queue is harmless (its run is no longer queued); cancelling spares a worker the fetch.
      await (await this.queue.get()).cancel(TRAINING_QUEUE, changed.jobId).catch(() => undefined);
    }
    return this.run(runId);
  }

  async run(id: number): Promise<TrainingRunRow | null> {
    return (await trainingRunsByIds(this.dataSource, [id]))[0] ?? null;
  }

  list(status: RunStatus | null, page: NewestFirstPage): Promise<RowPage<TrainingRunRow>> {
    return listTrainingRuns(this.dataSource, status, page);
  }

  count(status: RunStatus | null): Promise<number> {
    return countTrainingRuns(this.dataSource, status);
  }

  /** The run now and after every update, until it has finished. */
  async *updates(runId: number): AsyncGenerator<TrainingRunRow> {
    const current = async () => (await this.run(runId))!;
    for await (const _ of runUpdates(this.notifications, runId, async () => FINISHED.has((await current()).status))) yield await current();
  }

  modelVersions(page: NewestFirstPage): Promise<RowPage<ModelVersionSummary>> {
    return listModelVersions(this.dataSource, page);
  }

  countModelVersions(): Promise<number> {
    return countModelVersions(this.dataSource);
  }

  /** Makes this version the one analyses and model servers use by default; null when it does not exist. */
  activate(versionId: number): Promise<ModelVersionSummary | null> {
    return activateModelVersion(this.dataSource, versionId);
  }

  async close(): Promise<void> {
    await this.notifications.close();
  }
}
