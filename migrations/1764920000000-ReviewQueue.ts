import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The review queue (src/db/review-queue.ts): how unsure each model version is about each image it
 * predicted, computed when its predictions are stored, so the queue is an index scan in score order
 * over a million images instead of a scoring pass per request.
 *
 * - `review_scores`: one row per (model version, image) with the image's score and its reasons (the
 *   strongest few, jsonb, as src/ml/review/uncertainty.ts gives them). `reviewed` mirrors
 *   `images.reviewed_at IS NOT NULL` (kept by a trigger on images), so the queue's partial index holds
 *   only images still to review: the images reviewed first are the top-scored ones, which a scan of
 *   all rows would otherwise step over on every page.
 * - `prediction_runner_ups`: per predicted garment and single-label kind, the second most probable
 *   value and its probability (the most probable one is the garment's attribute, with its score).
 *   The margin between the two is an uncertainty reason. The runner-up is not a garment attribute:
 *   it is no search term, no facet value and no vocabulary row.
 * - `training_runs.label_counts`: how many images and garments of each kind of label (annotated,
 *   reviewed) a run learns from, recorded when it starts (StartTrainingInput.labels chooses them).
 */
export class ReviewQueue1764920000000 implements MigrationInterface {
  name = 'ReviewQueue1764920000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE review_scores (
         model_version_id integer NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
         image_id bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE,
         score real NOT NULL CHECK (score >= 0 AND score <= 1),
         reasons jsonb NOT NULL,
         reviewed boolean NOT NULL DEFAULT false,
         computed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (model_version_id, image_id)
       )`,
      // Read backwards: score descending, then image id descending (the queue's order and keyset).
      `CREATE INDEX review_scores_queue ON review_scores (model_version_id, score, image_id) WHERE NOT reviewed`,
      `CREATE INDEX review_scores_image ON review_scores (image_id)`,
      `CREATE TABLE prediction_runner_ups (
         garment_id bigint NOT NULL REFERENCES garments (id) ON DELETE CASCADE,
         kind text NOT NULL,
         value text NOT NULL,
         probability real NOT NULL CHECK (probability >= 0 AND probability <= 1),
         PRIMARY KEY (garment_id, kind)
       )`,
      `CREATE FUNCTION review_scores_reviewed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE review_scores SET reviewed = (NEW.reviewed_at IS NOT NULL) WHERE image_id = NEW.id;
         RETURN NULL;
       END $$`,
      `CREATE TRIGGER review_scores_reviewed AFTER UPDATE OF reviewed_at ON images
         FOR EACH ROW WHEN ((OLD.reviewed_at IS NULL) <> (NEW.reviewed_at IS NULL))
         EXECUTE FUNCTION review_scores_reviewed()`,
      `ALTER TABLE images ENABLE ALWAYS TRIGGER review_scores_reviewed`,
      `ALTER TABLE training_runs ADD COLUMN label_counts jsonb`,
    ];
    for (const sql of statements) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE training_runs DROP COLUMN label_counts`);
    await queryRunner.query(`DROP TRIGGER review_scores_reviewed ON images`);
    await queryRunner.query(`DROP FUNCTION review_scores_reviewed()`);
    await queryRunner.query(`DROP TABLE prediction_runner_ups`);
    await queryRunner.query(`DROP TABLE review_scores`);
  }
}
