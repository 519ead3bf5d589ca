/**
 * What a training run's worker reads and writes on its training_runs row: the params it starts from,
 * the log, the per-step metrics and progress, and the model version it ends with. The writes of a
 * run's state (progress and metrics, the model version) are fenced on the lease (`worker = <its name>`
 * and status running): a worker whose row was taken away gets LeaseLost and stops. appendRunLog is not
 * fenced: the lease watchdog and the API, which hold no lease, write log lines too, and a line from a
 * worker that has just lost its lease still says truly what it did.
 */
import type { DataSource } from 'typeorm';
import { TRAINING_CHANNEL } from '../jobs/channels';
import { LeaseLost, type Lease } from './leases';
import { changedRows } from './sql';

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

/**
 * Bounds of a run log, in characters: its first `head` (how the run started) and its newest lines up
 * to `max` in all are kept, with one line in between saying how much was cut. A run that skips every
 * image of a large dataset, or is resumed many times, must not grow a row without bound (one reached 780 KB).
 */
export const RUN_LOG_LIMITS = { head: 16 * 1024, max: 64 * 1024 } as const;

/**
 * Separates a log line's own words from the raw detail behind them (a library's message, a path):
 * readers without the admin role see the line up to it only.
 */
export const RUN_LOG_DETAIL = ' | detail: ';

const CUT_LINE = /^\[… (\d+) characters cut …\]\n/m;
const cutLine = (characters: number) => `[… ${characters} characters cut …]\n`;

/** `log` within RUN_LOG_LIMITS.max: its head, the cut line (the total cut so far) and its tail, cut at line ends. */
export function boundRunLog(log: string): string {
  if (log.length <= RUN_LOG_LIMITS.max) return log;
  const earlier = CUT_LINE.exec(log);
  const headEnd = earlier ? earlier.index : log.lastIndexOf('\n', RUN_LOG_LIMITS.head - 1) + 1 || RUN_LOG_LIMITS.head;
  const rest = log.slice(earlier ? earlier.index + earlier[0].length : headEnd);
  const room = RUN_LOG_LIMITS.max - headEnd - cutLine(log.length).length;
  const lineStart = rest.indexOf('\n', rest.length - room - 1) + 1;
  const tailStart = lineStart > 0 ? lineStart : rest.length - room;
  const cut = (earlier ? Number(earlier[1]) : 0) + tailStart;
  return `${log.slice(0, headEnd)}${cutLine(cut)}${rest.slice(tailStart)}`;
}

/** Appends one timestamped line to a training run's log, keeping the log within RUN_LOG_LIMITS. */
export async function appendRunLog(dataSource: DataSource, runId: number, line: string): Promise<void> {
  await dataSource.transaction(async (manager) => {
    const rows: { log: string }[] = await manager.query(`SELECT log FROM training_runs WHERE id = $1 FOR UPDATE`, [runId]);
    if (rows.length === 0) return;
    const log = boundRunLog(`${rows[0].log}${new Date().toISOString()} ${line}\n`);
    await manager.query(`UPDATE training_runs SET log = $2 WHERE id = $1`, [runId, log]);
  });
}

/**
 * Records what the run learns from (LabelCounts of src/ml/data) when it starts, fenced on the lease;
 * a resumed run keeps the counts of its start (its images were frozen then, its label space too).
 */
export async function recordRunLabelCounts(dataSource: DataSource, lease: Lease, counts: object): Promise<void> {
  const rows = await changedRows(
    dataSource,
    `UPDATE training_runs SET label_counts = coalesce(label_counts, $3::jsonb) WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING id`,
    [lease.id, lease.worker, JSON.stringify(counts)],
  );
  if (rows.length === 0) throw new LeaseLost(`training run ${lease.id} is no longer leased to ${lease.worker}`);
}

/** What a model server does for a run, as it reports it in `training_runs.progress.phase`. */
export const TRAINING_PHASES = ['loading', 'training', 'evaluating', 'saving', 'done'] as const;
export type TrainingPhaseName = (typeof TRAINING_PHASES)[number];

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
export async function recordTrainedModelVersion(
  dataSource: DataSource,
  lease: Lease,
  version: TrainedModelVersion,
  progress: object,
): Promise<number> {
  return dataSource.transaction(async (manager) => {
    const owned = await manager.query<unknown[]>(
      `SELECT id FROM training_runs WHERE id = $1 AND worker = $2 AND status = 'running' FOR UPDATE`,
      [lease.id, lease.worker],
    );
    if (owned.length === 0) throw new LeaseLost(`training run ${lease.id} is no longer leased to ${lease.worker}`);
    const inserted: { id: number }[] = await manager.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path, metrics, training_run_id, label_space)
       VALUES ($1, $2, $3::jsonb, $4, $5::jsonb, $6, $7::jsonb) RETURNING id`,
      [
        version.name,
        version.backbone,
        JSON.stringify(version.config),
        version.weightsPath,
        version.metrics ? JSON.stringify(version.metrics) : null,
        lease.id,
        JSON.stringify(version.labelSpace),
      ],
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
