import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Garment edits by people (role `editor`, src/db/garment-edits.ts) and image reviews.
 *
 * Each garment carries a `revision` that every edit bumps: an edit names the revision it read and
 * a stale one is refused, so two editors never silently overwrite each other. `edited_at` marks a
 * garment a person changed or added; the importer never overwrites or deletes such a garment (see
 * docs/import.md). `garment_edits` is the history: one row per change with the garment as it was
 * before and after (jsonb snapshots), who made it (the API token) and which edit a revert undid.
 * It has no foreign key to garments, so the history of a deleted garment stays readable (and a
 * deletion can be reverted). `images.reviewed_at`/`reviewed_by` record that a person checked the image.
 */
export class GarmentEdits1764910000000 implements MigrationInterface {
  name = 'GarmentEdits1764910000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE garments ADD COLUMN revision integer NOT NULL DEFAULT 1`,
      `ALTER TABLE garments ADD COLUMN edited_at timestamptz`,
      `CREATE TABLE garment_edits (
         id bigserial PRIMARY KEY,
         garment_id bigint NOT NULL,
         image_id bigint NOT NULL,
         token_id bigint REFERENCES api_tokens (id) ON DELETE SET NULL,
         action text NOT NULL CHECK (action IN ('update', 'create', 'delete', 'accept', 'revert')),
         before jsonb,
         after jsonb,
         revision integer NOT NULL,
         reverted_edit_id bigint REFERENCES garment_edits (id),
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE INDEX garment_edits_garment ON garment_edits (garment_id, id)`,
      `CREATE INDEX garment_edits_image ON garment_edits (image_id, id)`,
      `ALTER TABLE images ADD COLUMN reviewed_at timestamptz`,
      `ALTER TABLE images ADD COLUMN reviewed_by bigint REFERENCES api_tokens (id) ON DELETE SET NULL`,
      // The review queue and "not reviewed" filters walk images in id order among the unreviewed.
      `CREATE INDEX images_not_reviewed ON images (id) WHERE reviewed_at IS NULL`,
    ];
    for (const sql of statements) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX images_not_reviewed`);
    await queryRunner.query(`ALTER TABLE images DROP COLUMN reviewed_by`);
    await queryRunner.query(`ALTER TABLE images DROP COLUMN reviewed_at`);
    await queryRunner.query(`DROP TABLE garment_edits`);
    await queryRunner.query(`ALTER TABLE garments DROP COLUMN edited_at`);
    await queryRunner.query(`ALTER TABLE garments DROP COLUMN revision`);
  }
}
