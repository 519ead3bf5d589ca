/**
 * API tokens in the database: created at random and shown once, kept only as a SHA-256 hash (the
 * tokens are 256 random bits, so a fast hash is enough: there is nothing to guess), looked up by
 * that hash, revocable, with an optional expiry.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Principal, Role } from '../auth/roles';
import { changedRows } from './sql';

/** Prefix of every token, so a leaked one is recognisable in logs and secret scanners. */
const TOKEN_PREFIX = 'kf_';

/** A token that may be used: not revoked, not expired. */
const LIVE = 'revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())';

export interface ApiTokenRow {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Creates a token; the returned secret is never stored and cannot be shown again. */
export async function createApiToken(
  dataSource: DataSource,
  options: { role: Role; name?: string; expiresAt?: Date | null },
): Promise<{ id: string; token: string }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const rows = await dataSource.query<{ id: string }[]>(
    `INSERT INTO api_tokens (name, role, token_hash, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`,
    [options.name ?? '', options.role, hashToken(token), options.expiresAt ?? null],
  );
  return { id: String(rows[0].id), token };
}

export async function listApiTokens(dataSource: DataSource): Promise<ApiTokenRow[]> {
  return dataSource.query<ApiTokenRow[]>(
    `SELECT id::text AS id, name, role, created_at AS "createdAt", expires_at AS "expiresAt", revoked_at AS "revokedAt"
       FROM api_tokens ORDER BY id`,
  );
}

/** Revokes a token at once; false when there is no such token. */
export async function revokeApiToken(dataSource: DataSource, id: string): Promise<boolean> {
  const rows = await changedRows(dataSource, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id`, [
    id,
  ]);
  return rows.length > 0;
}

/** Whether some admin token is live (neither revoked nor expired). */
export async function hasLiveAdminToken(dataSource: DataSource): Promise<boolean> {
  const rows = await dataSource.query<unknown[]>(`SELECT 1 FROM api_tokens WHERE role = 'admin' AND ${LIVE} LIMIT 1`);
  return rows.length > 0;
}

/** Revokes every live token named `name` but the one with id `keepId`; the ids revoked. */
export async function revokeOtherTokensNamed(dataSource: DataSource, name: string, keepId: string): Promise<string[]> {
  const rows = await changedRows<{ id: string }>(
    dataSource,
    `UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND id <> $2 AND ${LIVE} RETURNING id::text AS id`,
    [name, keepId],
  );
  return rows.map((row) => row.id);
}

/** The row of a live (known, unrevoked, unexpired) token, or null. */
export async function liveApiToken(
  dataSource: DataSource,
  token: string,
): Promise<Pick<ApiTokenRow, 'id' | 'name' | 'role' | 'expiresAt'> | null> {
  const rows = await dataSource.query<Pick<ApiTokenRow, 'id' | 'name' | 'role' | 'expiresAt'>[]>(
    `SELECT id::text AS id, name, role, expires_at AS "expiresAt" FROM api_tokens WHERE token_hash = $1 AND ${LIVE}`,
    [hashToken(token)],
  );
  return rows[0] ?? null;
}

/** The principal of a live token, or null. */
export async function principalOfToken(dataSource: DataSource, token: string): Promise<Principal | null> {
  const row = await liveApiToken(dataSource, token);
  return row === null ? null : { role: row.role, tokenId: row.id };
}
