/**
 * `kfashion token create|list|revoke`: the API tokens of the configured database. A created token
 * is printed once; only its hash is stored.
 */
import { Command } from 'commander';
import { environment } from './environment';
import { isRole, ROLES, type Role } from '../auth/roles';
import * as fs from 'node:fs';
import { createApiToken, hasLiveAdminToken, listApiTokens, revokeApiToken } from '../db/api-tokens';
import type { DataSource } from 'typeorm';
import { isBigintId } from '../util/ids';

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--expires`: a duration from now (30m, 12h, 90d, 4w) or a date/time (2027-01-31, 2027-01-31T12:00Z). */
export function parseExpiry(value: string, now = new Date()): Date {
  const duration = /^(\d{1,6})([mhdw])$/.exec(value);
  if (duration) return new Date(now.getTime() + Number(duration[1]) * DURATION_UNITS_MS[duration[2]]);
  const date = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime()))
    throw new Error(`--expires: expected a duration (30m, 12h, 90d, 4w) or a date (2027-01-31), got "${value}"`);
  if (date.getTime() <= now.getTime()) throw new Error(`--expires: ${value} is already past`);
  return date;
}

function parseRole(value: string): Role {
  if (!isRole(value)) throw new Error(`--role: expected one of ${ROLES.join(', ')}, got "${value}"`);
  return value;
}

function parseTokenId(value: string): string {
  if (!isBigintId(value)) throw new Error(`ID: expected a token id as shown by \`kfashion token list\`, got "${value}"`);
  return value;
}

async function withDatabase(work: (dataSource: DataSource) => Promise<void>): Promise<void> {
  const { openDatabase } = await import('../db/data-source');
  const dataSource = await openDatabase({ env: environment() });
  try {
    await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

function formatDate(date: Date | null): string {
  return date ? date.toISOString() : '-';
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens (Authorization: Bearer): create, list, revoke');
  token
    .command('create')
    .description('create a token and print it once (only its hash is stored)')
    .requiredOption('--role <role>', `${ROLES.join(' | ')}`, parseRole)
    .option('--expires <when>', 'a duration (30m, 12h, 90d, 4w) or a date (2027-01-31); default: never', (value) => parseExpiry(value))
    .option('--name <name>', 'what the token is for (shown by `token list`)', '')
    .action(async (options: { role: Role; expires?: Date; name: string }) => {
      await withDatabase(async (dataSource) => {
        const created = await createApiToken(dataSource, { role: options.role, name: options.name, expiresAt: options.expires ?? null });
        console.error(
          `token ${created.id} (${options.role}${options.expires ? `, expires ${options.expires.toISOString()}` : ''}); it is not shown again:`,
        );
        console.log(created.token);
      });
    });
  token
    .command('init-admin')
    .description('first start (docker compose): create an admin token into FILE unless a live admin token exists')
    .requiredOption('--out <file>', 'where to write the token (created with mode 600; never overwritten)')
    .action(async (options: { out: string }) => {
      await withDatabase(async (dataSource) => {
        if (await hasLiveAdminToken(dataSource)) return void console.log('an admin token exists already: nothing created');
        if (fs.existsSync(options.out))
          throw new Error(`--out: ${options.out} exists (a token of an earlier database?): move it away first`);
        const created = await createApiToken(dataSource, { role: 'admin', name: 'first start' });
        // 'wx': an existing file (an older token) is an error rather than silently replaced.
        fs.writeFileSync(options.out, `${created.token}\n`, { mode: 0o600, flag: 'wx' });
        console.log(`admin token ${created.id} written to ${options.out}`);
      });
    });
  token
    .command('list')
    .description('list tokens (id, role, name, created, expires, revoked); never the tokens themselves')
    .action(async () => {
      await withDatabase(async (dataSource) => {
        console.log(['id', 'role', 'name', 'created', 'expires', 'revoked'].join('\t'));
        for (const row of await listApiTokens(dataSource)) {
          console.log(
            [row.id, row.role, row.name, formatDate(row.createdAt), formatDate(row.expiresAt), formatDate(row.revokedAt)].join('\t'),
          );
        }
      });
    });
  token
    .command('revoke')
    .argument('<ID>', 'token id (from `kfashion token list`)', parseTokenId)
    .description('revoke a token at once')
    .action(async (id: string) => {
      await withDatabase(async (dataSource) => {
        if (!(await revokeApiToken(dataSource, id))) throw new Error(`ID: no token ${id}`);
        console.log(`token ${id} revoked`);
      });
    });
}
