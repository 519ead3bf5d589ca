import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `imageByExternalId` looks an image up by its K-Fashion identifier alone (any dataset); the
 * unique (dataset_id, external_id) index cannot serve that, so it scanned every image.
 */
export class ImageExternalId1764600000000 implements MigrationInterface {
  name = 'ImageExternalId1764600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX images_external_id ON images (external_id)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX images_external_id`);
  }
}
