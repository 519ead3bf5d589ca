import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Precomputed co-occurrence counts for the broad end of garment search (see src/db/search-counts.ts).
 *
 * `garment_facet_counts` holds, per (split, source, super_category), how many garments carry both
 * term `a` and term `b` of their `search_terms` (term 0 stands for "any garment"), in both orders.
 * A filter made of at most one term plus split/source/super-category is then answered (facets and
 * totalCount) from a few hundred index rows instead of unnesting 100k+ garment rows.
 *
 * The counts are exact or unused: every statement that writes garments bumps
 * `search_generation` (statement-level trigger, ENABLE ALWAYS so it also fires under
 * session_replication_role = replica), and a reader uses the counts only when the generation
 * they were built from equals the current one, read in the same snapshot.
 */
export class GarmentFacetCounts1764500000000 implements MigrationInterface {
  name = 'GarmentFacetCounts1764500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE search_generation (
         only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
         value bigint NOT NULL
       )`,
      `INSERT INTO search_generation (value) VALUES (1)`,
      `CREATE FUNCTION garments_bump_search_generation() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE search_generation SET value = value + 1;
         RETURN NULL;
       END $$`,
      `CREATE TRIGGER garments_search_generation AFTER INSERT OR UPDATE OR DELETE ON garments
         FOR EACH STATEMENT EXECUTE FUNCTION garments_bump_search_generation()`,
      `CREATE TRIGGER garments_search_generation_truncate AFTER TRUNCATE ON garments
         FOR EACH STATEMENT EXECUTE FUNCTION garments_bump_search_generation()`,
      `ALTER TABLE garments ENABLE ALWAYS TRIGGER garments_search_generation`,
      `ALTER TABLE garments ENABLE ALWAYS TRIGGER garments_search_generation_truncate`,
      `CREATE TABLE garment_facet_counts (
         split text,
         source text NOT NULL,
         super_category text NOT NULL,
         a integer NOT NULL,
         b integer NOT NULL,
         n integer NOT NULL
       )`,
      `CREATE INDEX garment_facet_counts_pair ON garment_facet_counts (a, b)`,
      // generation NULL: never built.
      `CREATE TABLE garment_facet_counts_state (
         only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
         generation bigint,
         refreshed_at timestamptz,
         seconds real
       )`,
      `INSERT INTO garment_facet_counts_state (generation) VALUES (NULL)`,
    ];
    for (const sql of statements) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE garment_facet_counts_state`);
    await queryRunner.query(`DROP TABLE garment_facet_counts`);
    await queryRunner.query(`DROP TRIGGER garments_search_generation_truncate ON garments`);
    await queryRunner.query(`DROP TRIGGER garments_search_generation ON garments`);
    await queryRunner.query(`DROP FUNCTION garments_bump_search_generation()`);
    await queryRunner.query(`DROP TABLE search_generation`);
  }
}
