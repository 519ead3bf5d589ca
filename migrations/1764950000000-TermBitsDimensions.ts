import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The bit strings (migration GarmentTermBits) now also hold split, source and super-category values,
 * under negative keys (src/db/search-counts.ts, dimensionBitKey). Bits built before lack them, so a
 * filter on those columns would find no garment there: they are dropped and marked unbuilt, and the
 * API server rebuilds them when it starts (as it does whenever they are stale).
 */
export class TermBitsDimensions1764950000000 implements MigrationInterface {
  name = 'TermBitsDimensions1764950000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM garment_term_bits`);
    await queryRunner.query(`UPDATE garment_facet_counts_state SET bits_generation = NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM garment_term_bits WHERE term < 0`);
  }
}
