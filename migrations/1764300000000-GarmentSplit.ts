import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Copies each image's split onto its garments so that a search restricted to a split stays a
 * filter on the rows the GIN bitmap already visits (no join to images per match, which would
 * dominate `totalCount` over large matches). Triggers keep the copy in step with `images.split`,
 * so writers (the importer, the model server) need not know the column exists.
 */
export class GarmentSplit1764300000000 implements MigrationInterface {
  name = 'GarmentSplit1764300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE garments ADD COLUMN split text CHECK (split IN ('train', 'validation'))`,
      `UPDATE garments g SET split = i.split FROM images i WHERE i.id = g.image_id AND i.split IS NOT NULL`,
      `CREATE FUNCTION garments_copy_image_split() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         SELECT split INTO NEW.split FROM images WHERE id = NEW.image_id;
         RETURN NEW;
       END $$`,
      `CREATE TRIGGER garments_image_split BEFORE INSERT OR UPDATE OF image_id ON garments
         FOR EACH ROW EXECUTE FUNCTION garments_copy_image_split()`,
      `CREATE FUNCTION images_propagate_split() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE garments SET split = NEW.split WHERE image_id = NEW.id;
         RETURN NULL;
       END $$`,
      `CREATE TRIGGER images_split_to_garments AFTER UPDATE OF split ON images
         FOR EACH ROW WHEN (OLD.split IS DISTINCT FROM NEW.split) EXECUTE FUNCTION images_propagate_split()`,
    ];
    for (const sql of statements) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER images_split_to_garments ON images`);
    await queryRunner.query(`DROP FUNCTION images_propagate_split()`);
    await queryRunner.query(`DROP TRIGGER garments_image_split ON garments`);
    await queryRunner.query(`DROP FUNCTION garments_copy_image_split()`);
    await queryRunner.query(`ALTER TABLE garments DROP COLUMN split`);
  }
}
