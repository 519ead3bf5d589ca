/**
 * Training runs as the API reads and changes them: the run rows (through the TrainingRun entity),
 * a new queued run, a cancel request, and the per-run extras (log, attempts, metrics, loss curves)
 * for many runs at once so a list of runs costs one statement per field.
 */
import { In, LessThan, type DataSource } from 'typeorm';
import { TrainingRun, type RunStatus } from './entities';
import { pageOfRows, type NewestFirstPage, type RowPage } from './newest-first';
import { changedRows } from './sql';

/** The columns a run is shown with (the log and the lease stay out: the log can be long). */
const RUN_FIELDS = [
  'id',
  'status',
  'params',
  'progress',
  'labelCounts',
  'error',
  'createdAt',
  'startedAt',
  'finishedAt',
  'modelVersionId',
] as const;

export type TrainingRunRow = Pick<TrainingRun, (typeof RUN_FIELDS)[number]>;

export async function trainingRunsByIds(dataSource: DataSource, ids: readonly number[]): Promise<TrainingRunRow[]> {
  return dataSource.getRepository(TrainingRun).find({ select: [...RUN_FIELDS], where: { id: In([...ids]) } });
}

/** A page of runs newest first, optionally of one status. */
export async function listTrainingRuns(
  dataSource: DataSource,
  status: RunStatus | null,
  page: NewestFirstPage,
): Promise<RowPage<TrainingRunRow>> {
  const rows = await dataSource.getRepository(TrainingRun).find({
    select: [...RUN_FIELDS],
    where: { ...(status === null ? {} : { status }), ...(page.beforeId === null ? {} : { id: LessThan(page.beforeId) }) },
    order: { id: 'DESC' },
    take: page.limit + 1,
  });
  return pageOfRows(rows, page.limit);
}

/** How many runs there are, optionally of one status. */
export async function countTrainingRuns(dataSource: DataSource, status: RunStatus | null): Promise<number> {
  return dataSource.getRepository(TrainingRun).count({ where: status === null ? {} : { status } });
}

/** Records a queued run and returns its id. */
export async function insertQueuedRun(dataSource: DataSource, params: object): Promise<number> {
  const rows: { id: number }[] = await dataSource.query(`INSERT INTO training_runs (params) VALUES ($1::jsonb) RETURNING id`, [
    JSON.stringify(params),
  ]);
  return Number(rows[0].id);
}

export async function setRunJob(dataSource: DataSource, runId: number, jobId: string): Promise<void> {
  await dataSource.getRepository(TrainingRun).update({ id: runId }, { jobId });
}

/**
 * Asks a run to stop: a queued run is cancelled at once, a running one sees the request after its
 * current step. Returns the run's status and job afterwards, or null when it does not exist.
 */
export async function requestRunCancel(dataSource: DataSource, runId: number): Promise<{ status: string; jobId: string | null } | null> {
  const rows = await changedRows<{ status: string; job_id: string | null }>(
    dataSource,
    `UPDATE training_runs SET cancel_requested = true,
            status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
            finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
      WHERE id = $1 RETURNING status, job_id`,
    [runId],
  );
  return rows.length === 0 ? null : { status: rows[0].status, jobId: rows[0].job_id };
}

export interface RunLogRow {
  id: number;
  log: string;
  attempt: number;
}

/** Log and attempt count of each run. */
export async function runLogs(dataSource: DataSource, runIds: readonly number[]): Promise<RunLogRow[]> {
  return dataSource.getRepository(TrainingRun).find({ select: ['id', 'log', 'attempt'], where: { id: In([...runIds]) } });
}

export interface RunMetricRow {
  training_run_id: number;
  step: number;
  epoch: number;
  name: string;
  value: number;
}

/** Recorded metrics of each run in step order (at most `perRun` per run), optionally of one name. */
export async function runMetrics(
  dataSource: DataSource,
  runIds: readonly number[],
  name: string | null,
  perRun = 10_000,
): Promise<RunMetricRow[]> {
  return dataSource.query(
    `SELECT training_run_id, step, epoch, name, value FROM (
       SELECT m.*, row_number() OVER (PARTITION BY training_run_id ORDER BY step, name) AS n
         FROM training_metrics m WHERE training_run_id = ANY($1::int[]) AND ($2::text IS NULL OR name = $2)) ranked
      WHERE n <= $3 ORDER BY training_run_id, step, name`,
    [runIds, name, perRun],
  );
}

export interface RunCurveRow {
  training_run_id: number;
  name: string;
  steps: number[];
  values: number[];
}

/** Each metric of each run as arrays of steps and values in step order. */
export async function runCurves(dataSource: DataSource, runIds: readonly number[]): Promise<RunCurveRow[]> {
  return dataSource.query(
    `SELECT training_run_id, name, array_agg(step ORDER BY step) AS steps, array_agg(value ORDER BY step) AS values
       FROM training_metrics WHERE training_run_id = ANY($1::int[]) GROUP BY training_run_id, name ORDER BY training_run_id, name`,
    [runIds],
  );
}
