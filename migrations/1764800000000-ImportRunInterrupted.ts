import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An import killed mid-way (kill -9, a lost machine) left its run `running` forever. Runs are now
 * owned through an advisory lock held by the importing session; the next import marks runs whose
 * owner is gone `interrupted` (src/db/import/run-owner.ts).
 */
export class ImportRunInterrupted1764800000000 implements MigrationInterface {
  name = 'ImportRunInterrupted1764800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE import_runs DROP CONSTRAINT import_runs_status_check`);
    await queryRunner.query(
      `ALTER TABLE import_runs ADD CONSTRAINT import_runs_status_check CHECK (status IN ('running', 'finished', 'failed', 'interrupted'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE import_runs SET status = 'failed' WHERE status = 'interrupted'`);
    await queryRunner.query(`ALTER TABLE import_runs DROP CONSTRAINT import_runs_status_check`);
    await queryRunner.query(
      `ALTER TABLE import_runs ADD CONSTRAINT import_runs_status_check CHECK (status IN ('running', 'finished', 'failed'))`,
    );
  }
}
