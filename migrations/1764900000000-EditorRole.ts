import { MigrationInterface, QueryRunner } from 'typeorm';

/** The `editor` role (src/auth/roles.ts): corrects garments and reviews images, between analyst and admin. */
export class EditorRole1764900000000 implements MigrationInterface {
  name = 'EditorRole1764900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check`);
    await queryRunner.query(
      `ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('viewer', 'analyst', 'editor', 'admin'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check`);
    await queryRunner.query(`ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('viewer', 'analyst', 'admin'))`);
  }
}
