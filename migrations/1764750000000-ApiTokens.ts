import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API tokens (`kfashion token create`): only a SHA-256 of the token is kept, so a copy of the
 * database does not hand out access; revoking keeps the row so `token list` still shows it.
 */
export class ApiTokens1764750000000 implements MigrationInterface {
  name = 'ApiTokens1764750000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_tokens (
        id bigserial PRIMARY KEY,
        name text NOT NULL DEFAULT '',
        role text NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_tokens`);
  }
}
