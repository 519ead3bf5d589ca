import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One bit string per search term (see src/db/search-counts.ts): bit `i` is set when garment id `i`
 * carries the term. An AND of terms (with any-of groups) is then `bit_and`/`bit_or` over a few
 * rows of about (max garment id / 8) bytes each: its exact count and the ids of any page, without
 * visiting the matching garment rows. PostgreSQL 15's bitmap heap scans visit every matching heap
 * page even when the visibility map marks it all-visible, so a live exact count costs one heap
 * page per match.
 *
 * Built with the precomputed counts, from the same `search_generation`; `bits_generation` says
 * which generation the bits describe (NULL: never built, or too many ids to build them).
 * STORAGE EXTERNAL: the strings are read whole on every search; compressing them would cost a
 * decompression per read.
 */
export class GarmentTermBits1764870000000 implements MigrationInterface {
  name = 'GarmentTermBits1764870000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE garment_term_bits (term integer PRIMARY KEY, bits bit varying NOT NULL)`);
    await queryRunner.query(`ALTER TABLE garment_term_bits ALTER COLUMN bits SET STORAGE EXTERNAL`);
    await queryRunner.query(`ALTER TABLE garment_facet_counts_state ADD COLUMN bits_generation bigint`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE garment_facet_counts_state DROP COLUMN bits_generation`);
    await queryRunner.query(`DROP TABLE garment_term_bits`);
  }
}
