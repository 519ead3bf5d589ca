import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A prediction job is of one of two kinds: `predict` (predictImages: detect and store PREDICTION garments with their
 * embeddings) or `embed` (embedGarments: embed the stored garments of the images by their boxes). Both are cut into
 * the same chunks, leased and settled by the same machinery (src/db/prediction-jobs.ts).
 */
export class EmbeddingJobs1764940000000 implements MigrationInterface {
  name = 'EmbeddingJobs1764940000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE prediction_jobs ADD COLUMN kind text NOT NULL DEFAULT 'predict' CHECK (kind IN ('predict', 'embed'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE prediction_jobs DROP COLUMN kind`);
  }
}
