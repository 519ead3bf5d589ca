import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sharded batch prediction: a prediction job is split into chunks, each a range of image ids (in id
 * order) with its own pg-boss job, so every model server takes chunks of the same job. A chunk
 * carries the lease columns of the training runs (worker, heartbeat, cancel flag), so a dead
 * server's chunk is retried elsewhere from `position_image_id`, the last image recorded. The
 * prediction_jobs row keeps the job's totals; its status is settled from its chunks.
 * Unfinished jobs from before are failed with a message saying so (their queue jobs carry no chunk).
 */
export class PredictionChunks1764700000000 implements MigrationInterface {
  name = 'PredictionChunks1764700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE prediction_chunks (
         id serial PRIMARY KEY,
         prediction_job_id integer NOT NULL REFERENCES prediction_jobs (id) ON DELETE CASCADE,
         first_image_id bigint NOT NULL,
         last_image_id bigint NOT NULL CHECK (last_image_id >= first_image_id),
         position_image_id bigint,
         total integer NOT NULL,
         done integer NOT NULL DEFAULT 0,
         status text NOT NULL DEFAULT 'queued'
           CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
         worker text,
         heartbeat_at timestamptz,
         cancel_requested boolean NOT NULL DEFAULT false,
         job_id text,
         error text,
         started_at timestamptz,
         finished_at timestamptz
       )`,
      `CREATE INDEX prediction_chunks_job ON prediction_chunks (prediction_job_id)`,
      `CREATE INDEX prediction_chunks_running ON prediction_chunks (heartbeat_at) WHERE status = 'running'`,
      `ALTER TABLE prediction_jobs ADD COLUMN chunk_size integer, ADD COLUMN chunks integer`,
      // A job queued or running before this migration has no chunks: no model server would ever take it.
      `UPDATE prediction_jobs SET status = 'failed', finished_at = now(),
              error = 'stopped by the upgrade to chunked prediction (migration PredictionChunks): run predictImages again'
        WHERE status IN ('queued', 'running')`,
    ];
    for (const sql of statements) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE prediction_jobs DROP COLUMN chunk_size, DROP COLUMN chunks`);
    await queryRunner.query(`DROP TABLE prediction_chunks`);
  }
}
