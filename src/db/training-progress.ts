/**
 * What a training run's worker reads and writes on its training_runs row: the params it starts from,
 * the log, the per-step metrics and progress, and the model version it ends with. Every write after
 * the claim is fenced on the lease (`worker = <its name>` and status running): a worker whose row was
 * taken away gets LeaseLost and stops.
 */
import type { DataSource } from 'typeorm';
import { TRAINING_CHANNEL } from '../jobs/channels';
import { LeaseLost, type Lease } from './leases';

/** One value of one step (a loss, the learning rate, images/s), keyed by run, step and name. */
export interface StepMetric {
  step: number;
  epoch: number;
  name: string;
  value: number;
}

/** The run's params as stored (the caller normalises them). */
export async function readTrainingRunParams(dataSource: DataSource, runId: number): Promise<unknown> {
  const rows: { params: unknown }[] = await dataSource.query(`SELECT params FROM training_runs WHERE id = $1`, [runId]);
  if (rows.length === 0) throw new Error(`training run ${runId} does not exist`);
  return rows[0].params;
}

/** Appends one timestamped line to a training run's log. */
export async function appendRunLog(dataSource: DataSource, runId: number, line: string): Promise<void> {
  await dataSource.query(`UPDATE training_runs SET log = log || $2 WHERE id = $1`, [runId, `${new Date().toISOString()} ${line}\n`]);
}

/**
 * Upserts the step's metrics (a resumed run overwrites, never duplicates) and the progress, refreshes
 * the heartbeat and publishes a notification, in one statement fenced on the lease. Returns whether a
 * cancel was asked.
 */
export async function publishTrainingStep(dataSource: DataSource, lease: Lease, progress: object, metrics: StepMetric[]): Promise<boolean> {
  const rows: { cancel_requested: boolean }[] = await dataSource.query(
    `WITH run AS (
       UPDATE training_runs SET progress = $3::jsonb, heartbeat_at = now()
        WHERE id = $1 AND worker = $2 AND status = 'running'
        RETURNING id, cancel_requested),
     written AS (
       INSERT INTO training_metrics (training_run_id, step, epoch, name, value)
       SELECT run.id, m.step, m.epoch, m.name, m.value
         FROM run, json_to_recordset($4::json) AS m(step integer, epoch integer, name text, value double precision)
       ON CONFLICT (training_run_id, step, name)
         DO UPDATE SET value = EXCLUDED.value, epoch = EXCLUDED.epoch, recorded_at = now())
     SELECT run.cancel_requested, pg_notify('${TRAINING_CHANNEL}', run.id::text) FROM run`,
    [lease.id, lease.worker, JSON.stringify(progress), JSON.stringify(metrics)],
  );
  if (rows.length === 0) throw new LeaseLost(`training run ${lease.id} is no longer leased to ${lease.worker}`);
  return rows[0].cancel_requested;
}

export interface TrainedModelVersion {
  name: string;
  backbone: string;
  config: object;
  weightsPath: string;
  metrics: object | null;
  labelSpace: { classes: { name: string; superCategory: string }[] };
}

/**
 * Stores the run's model version and marks the run succeeded with its final progress, in one
 * transaction that first checks the lease is still this worker's; returns the model version id.
 */
export async function recordTrainedModelVersion(dataSource: DataSource, lease: Lease, version: TrainedModelVersion, progress: object): Promise<number> {
  return dataSource.transaction(async (manager) => {
    const owned = await manager.query(`SELECT id FROM training_runs WHERE id = $1 AND worker = $2 AND status = 'running' FOR UPDATE`, [lease.id, lease.worker]);
    if (owned.length === 0) throw new LeaseLost(`training run ${lease.id} is no longer leased to ${lease.worker}`);
    const inserted: { id: number }[] = await manager.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path, metrics, training_run_id, label_space)
       VALUES ($1, $2, $3::jsonb, $4, $5::jsonb, $6, $7::jsonb) RETURNING id`,
      [version.name, version.backbone, JSON.stringify(version.config), version.weightsPath, version.metrics ? JSON.stringify(version.metrics) : null, lease.id,
        JSON.stringify(version.labelSpace)],
    );
    const id = Number(inserted[0].id);
    await manager.query(
      `UPDATE training_runs SET status = 'succeeded', model_version_id = $2, progress = $3::jsonb, finished_at = now(), heartbeat_at = now()
        WHERE id = $1`,
      [lease.id, id, JSON.stringify(progress)],
    );
    await manager.query(`SELECT pg_notify('${TRAINING_CHANNEL}', $1)`, [String(lease.id)]);
    return id;
  });
}
