import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Appearance embeddings of garments (src/ml/embedding): one per (model version, garment), the box head's
 * representation of the garment's box, L2-normed and stored as int8 with its scale (src/ml/embedding/int8.ts),
 * 1 byte per dimension.
 *
 * Every insert or update takes a new `seq` from `garment_embedding_seq`, and every delete (a garment deleted,
 * a model version dropped, an embedding replaced by delete+insert) leaves a row with a new `seq` in
 * `garment_embedding_removals`; a vector index that remembers the last `seq` it saw catches up by reading
 * both tables past it, without a rebuild. `NOTIFY garment_embeddings` wakes such readers.
 */
export class GarmentEmbeddings1764930000000 implements MigrationInterface {
  name = 'GarmentEmbeddings1764930000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE SEQUENCE garment_embedding_seq`,
      `CREATE TABLE garment_embeddings (
         model_version_id integer NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
         garment_id bigint NOT NULL REFERENCES garments (id) ON DELETE CASCADE,
         scale real NOT NULL CHECK (scale > 0),
         vector bytea NOT NULL CHECK (octet_length(vector) BETWEEN 1 AND 8192),
         seq bigint NOT NULL DEFAULT nextval('garment_embedding_seq'),
         created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (model_version_id, garment_id)
       )`,
      `CREATE INDEX garment_embeddings_seq ON garment_embeddings (model_version_id, seq)`,
      `CREATE INDEX garment_embeddings_garment ON garment_embeddings (garment_id)`,
      `CREATE TABLE garment_embedding_removals (
         seq bigint PRIMARY KEY DEFAULT nextval('garment_embedding_seq'),
         model_version_id integer NOT NULL,
         garment_id bigint NOT NULL,
         removed_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE INDEX garment_embedding_removals_model ON garment_embedding_removals (model_version_id, seq)`,
      `CREATE FUNCTION garment_embeddings_touch() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.seq := nextval('garment_embedding_seq');
         RETURN NEW;
       END $$`,
      `CREATE TRIGGER garment_embeddings_touch BEFORE UPDATE ON garment_embeddings
         FOR EACH ROW EXECUTE FUNCTION garment_embeddings_touch()`,
      `CREATE FUNCTION garment_embeddings_removed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO garment_embedding_removals (model_version_id, garment_id) VALUES (OLD.model_version_id, OLD.garment_id);
         RETURN NULL;
       END $$`,
      `CREATE TRIGGER garment_embeddings_removed AFTER DELETE ON garment_embeddings
         FOR EACH ROW EXECUTE FUNCTION garment_embeddings_removed()`,
      `CREATE FUNCTION garment_embeddings_notify() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM pg_notify('garment_embeddings', '');
         RETURN NULL;
       END $$`,
      `CREATE TRIGGER garment_embeddings_notify AFTER INSERT OR UPDATE OR DELETE ON garment_embeddings
         FOR EACH STATEMENT EXECUTE FUNCTION garment_embeddings_notify()`,
      // Fired under session_replication_role = replica too (bulk loads), or a reader would miss changes.
      `ALTER TABLE garment_embeddings ENABLE ALWAYS TRIGGER garment_embeddings_touch`,
      `ALTER TABLE garment_embeddings ENABLE ALWAYS TRIGGER garment_embeddings_removed`,
      `ALTER TABLE garment_embeddings ENABLE ALWAYS TRIGGER garment_embeddings_notify`,
    ];
    for (const sql of statements) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE garment_embedding_removals`);
    await queryRunner.query(`DROP TABLE garment_embeddings`);
    for (const fn of ['garment_embeddings_touch', 'garment_embeddings_removed', 'garment_embeddings_notify']) {
      await queryRunner.query(`DROP FUNCTION ${fn}()`);
    }
    await queryRunner.query(`DROP SEQUENCE garment_embedding_seq`);
  }
}
