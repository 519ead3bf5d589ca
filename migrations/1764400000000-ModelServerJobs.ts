import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the model server needs beyond the initial schema:
 * - Leases: a worker that takes a training run or prediction job writes its name and refreshes
 *   `heartbeat_at` while it works. A run whose heartbeat is stale belongs to a dead worker: any
 *   model server fails its pg-boss job so that pg-boss retries it, and the next worker resumes from
 *   the last checkpoint. Every progress write is fenced on `worker`, so a worker that lost its
 *   lease notices and stops instead of writing over the new owner.
 * - `cancel_requested`: cancelling sets it; the training loop reads it between steps.
 * - `prediction_jobs.last_image_id`: keyset position of a batch prediction, so a retried job resumes.
 * - `log`: the run's human-readable log (start, resume, heads re-initialised, skipped images...).
 * - `model_versions.label_space`: the super-category of each class (the model config only keeps the
 *   class names), so that predictions are stored as garments of the right slot.
 */
export class ModelServerJobs1764400000000 implements MigrationInterface {
  name = 'ModelServerJobs1764400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE training_runs
         ADD COLUMN heartbeat_at timestamptz,
         ADD COLUMN attempt integer NOT NULL DEFAULT 0,
         ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false,
         ADD COLUMN log text NOT NULL DEFAULT ''`,
      `ALTER TABLE prediction_jobs
         ADD COLUMN worker text,
         ADD COLUMN heartbeat_at timestamptz,
         ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false,
         ADD COLUMN started_at timestamptz,
         ADD COLUMN last_image_id bigint`,
      `ALTER TABLE model_versions ADD COLUMN label_space jsonb`,
      `CREATE INDEX training_runs_running ON training_runs (heartbeat_at) WHERE status = 'running'`,
      `CREATE INDEX prediction_jobs_running ON prediction_jobs (heartbeat_at) WHERE status = 'running'`,
    ];
    for (const sql of statements) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX prediction_jobs_running`);
    await queryRunner.query(`DROP INDEX training_runs_running`);
    await queryRunner.query(`ALTER TABLE model_versions DROP COLUMN label_space`);
    await queryRunner.query(
      `ALTER TABLE prediction_jobs DROP COLUMN worker, DROP COLUMN heartbeat_at, DROP COLUMN cancel_requested, DROP COLUMN started_at, DROP COLUMN last_image_id`,
    );
    await queryRunner.query(
      `ALTER TABLE training_runs DROP COLUMN heartbeat_at, DROP COLUMN attempt, DROP COLUMN cancel_requested, DROP COLUMN log`,
    );
  }
}
