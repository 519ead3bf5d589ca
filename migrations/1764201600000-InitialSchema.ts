import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The platform's first schema. Annotations and predictions share one garments table (`source`
 * tells them apart) so that a search over predictions is the same query as over annotations.
 *
 * Search design: every garment carries `search_terms`, the vocabulary ids of its category, its
 * attribute values and its image's styles, indexed with GIN. An AND of conditions becomes one
 * `search_terms @> ARRAY[...]` and an OR within a kind one `&&`, answered from the index
 * without joining the attribute rows. `garment_attributes` stays the source of truth (with
 * per-value scores for predictions) and is what facets and the API read back.
 */
export class InitialSchema1764201600000 implements MigrationInterface {
  name = 'InitialSchema1764201600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE datasets (
         id serial PRIMARY KEY,
         name text NOT NULL UNIQUE,
         root_path text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE vocabulary (
         id serial PRIMARY KEY,
         kind text NOT NULL,
         value text NOT NULL,
         value_en text,
         count integer NOT NULL DEFAULT 0,
         CONSTRAINT vocabulary_kind_value_unique UNIQUE (kind, value)
       )`,
      `CREATE TABLE model_versions (
         id serial PRIMARY KEY,
         name text NOT NULL,
         backbone text NOT NULL,
         config jsonb NOT NULL,
         weights_path text NOT NULL,
         metrics jsonb,
         is_active boolean NOT NULL DEFAULT false,
         training_run_id integer,
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
      // At most one active model version.
      `CREATE UNIQUE INDEX model_versions_one_active ON model_versions (is_active) WHERE is_active`,
      `CREATE TABLE training_runs (
         id serial PRIMARY KEY,
         status text NOT NULL DEFAULT 'queued'
           CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
         params jsonb NOT NULL,
         progress jsonb,
         error text,
         job_id text,
         worker text,
         model_version_id integer REFERENCES model_versions (id) ON DELETE SET NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         started_at timestamptz,
         finished_at timestamptz
       )`,
      `ALTER TABLE model_versions ADD CONSTRAINT model_versions_training_run_fk
         FOREIGN KEY (training_run_id) REFERENCES training_runs (id) ON DELETE SET NULL`,
      // One row per (run, step, metric): a resumed run overwrites instead of duplicating.
      `CREATE TABLE training_metrics (
         training_run_id integer NOT NULL REFERENCES training_runs (id) ON DELETE CASCADE,
         step integer NOT NULL,
         epoch integer NOT NULL,
         name text NOT NULL,
         value double precision NOT NULL,
         recorded_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (training_run_id, step, name)
       )`,
      `CREATE TABLE prediction_jobs (
         id serial PRIMARY KEY,
         model_version_id integer NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
         status text NOT NULL DEFAULT 'queued'
           CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
         filter jsonb NOT NULL DEFAULT '{}',
         total integer,
         done integer NOT NULL DEFAULT 0,
         error text,
         job_id text,
         created_at timestamptz NOT NULL DEFAULT now(),
         finished_at timestamptz
       )`,
      `CREATE TABLE images (
         id bigserial PRIMARY KEY,
         dataset_id integer REFERENCES datasets (id) ON DELETE CASCADE,
         external_id text,
         file_name text NOT NULL,
         image_path text,
         annotation_path text,
         width integer NOT NULL CHECK (width > 0),
         height integer NOT NULL CHECK (height > 0),
         split text CHECK (split IN ('train', 'validation')),
         annotation_hash text,
         annotated_at timestamptz,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT images_dataset_external_unique UNIQUE (dataset_id, external_id)
       )`,
      `CREATE INDEX images_split ON images (split, id)`,
      `CREATE TABLE image_styles (
         image_id bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE,
         position smallint NOT NULL,
         style_id integer NOT NULL REFERENCES vocabulary (id),
         sub_style_id integer REFERENCES vocabulary (id),
         PRIMARY KEY (image_id, position)
       )`,
      `CREATE INDEX image_styles_style ON image_styles (style_id)`,
      `CREATE TABLE garments (
         id bigserial PRIMARY KEY,
         image_id bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE,
         super_category text NOT NULL CHECK (super_category IN ('TOP', 'BOTTOM', 'OUTER', 'ONE_PIECE')),
         slot_index smallint NOT NULL DEFAULT 0,
         category_id integer REFERENCES vocabulary (id),
         x1 real NOT NULL,
         y1 real NOT NULL,
         x2 real NOT NULL,
         y2 real NOT NULL,
         polygon real[],
         source text NOT NULL DEFAULT 'annotation' CHECK (source IN ('annotation', 'prediction')),
         model_version_id integer REFERENCES model_versions (id) ON DELETE CASCADE,
         score real,
         search_terms integer[] NOT NULL DEFAULT '{}',
         CONSTRAINT garments_box_valid CHECK (x2 > x1 AND y2 > y1),
         CONSTRAINT garments_prediction_has_model CHECK ((source = 'prediction') = (model_version_id IS NOT NULL))
       )`,
      `CREATE INDEX garments_image ON garments (image_id)`,
      `CREATE INDEX garments_search_terms ON garments USING gin (search_terms)`,
      `CREATE INDEX garments_category ON garments (category_id, id)`,
      `CREATE INDEX garments_model_version ON garments (model_version_id, id) WHERE model_version_id IS NOT NULL`,
      `CREATE TABLE garment_attributes (
         garment_id bigint NOT NULL REFERENCES garments (id) ON DELETE CASCADE,
         vocabulary_id integer NOT NULL REFERENCES vocabulary (id),
         score real,
         PRIMARY KEY (garment_id, vocabulary_id)
       )`,
      `CREATE TABLE import_runs (
         id serial PRIMARY KEY,
         dataset_id integer NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
         root_path text NOT NULL,
         status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed')),
         stats jsonb,
         started_at timestamptz NOT NULL DEFAULT now(),
         finished_at timestamptz
       )`,
    ];
    for (const sql of statements) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'import_runs',
      'garment_attributes',
      'garments',
      'image_styles',
      'images',
      'prediction_jobs',
      'training_metrics',
    ]) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
    await queryRunner.query(`ALTER TABLE model_versions DROP CONSTRAINT model_versions_training_run_fk`);
    for (const table of ['training_runs', 'model_versions', 'vocabulary', 'datasets']) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
