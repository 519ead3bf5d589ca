/**
 * The admin token `kfashion demo` shows for the web console's "API token" field: ONE token across
 * runs, kept in DATA_DIR/demo-token (mode 0600, like a private key: it is an admin's password) so a
 * second demo prints the token the console already holds instead of minting another. When the
 * stored token no longer works (revoked, expired, or of another database), a fresh one replaces it;
 * either way every other demo token is revoked, so at most one is live.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { createApiToken, liveApiToken, revokeApiToken, revokeOtherTokensNamed } from '../db/api-tokens';

/** The name of the demo's tokens in `kfashion token list` (and what an older demo named its tokens). */
export const DEMO_TOKEN_NAME = 'demo';
/** A fresh demo token's lifetime: a month of trying the console, then the next demo mints another. */
const DEMO_TOKEN_LIFETIME_MS = 30 * 86_400_000;
/** Far more than a token's 46 characters: a larger file is not a token this module wrote. */
const MAX_TOKEN_FILE_BYTES = 1024;
const PRIVATE_FILE_MODE = 0o600;

export interface DemoToken {
  id: string;
  token: string;
  expiresAt: Date | null;
  /** False when this run minted it (no stored token, or the stored one was dead). */
  reused: boolean;
  /** Older demo tokens this run revoked. */
  revokedIds: string[];
}

export function demoTokenFile(root: string): string {
  return path.join(root, 'demo-token');
}

/** The stored token, or null when there is none (or the file cannot hold one). */
function readStoredToken(file: string): string | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: cannot read the demo token (${(error as NodeJS.ErrnoException).code})`);
  }
  if (!stat.isFile()) throw new Error(`${file}: expected the demo token file, found something else: move it away`);
  if (stat.size > MAX_TOKEN_FILE_BYTES) return null;
  if ((stat.mode & 0o777) !== PRIVATE_FILE_MODE) fs.chmodSync(file, PRIVATE_FILE_MODE);
  return fs.readFileSync(file, 'utf8').trim() || null;
}

/** Replaces the file at once (written beside it, then renamed), created with mode 0600. */
function writeTokenFile(file: string, token: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${token}\n`, { mode: PRIVATE_FILE_MODE, flag: 'w' });
  fs.renameSync(temporary, file);
}

async function mintDemoToken(dataSource: DataSource, file: string, now: Date): Promise<Omit<DemoToken, 'revokedIds'>> {
  const expiresAt = new Date(now.getTime() + DEMO_TOKEN_LIFETIME_MS);
  const created = await createApiToken(dataSource, { role: 'admin', name: DEMO_TOKEN_NAME, expiresAt });
  try {
    writeTokenFile(file, created.token);
  } catch (error) {
    // A token nobody can read back must not stay live.
    await revokeApiToken(dataSource, created.id);
    throw error;
  }
  return { id: created.id, token: created.token, expiresAt, reused: false };
}

/** The demo's admin token: the stored one while it is a live admin token, else a fresh one written to `file`. */
export async function demoToken(dataSource: DataSource, file: string, now = new Date()): Promise<DemoToken> {
  const stored = readStoredToken(file);
  const live = stored === null ? null : await liveApiToken(dataSource, stored);
  const current =
    stored !== null && live !== null && live.role === 'admin'
      ? { id: live.id, token: stored, expiresAt: live.expiresAt, reused: true }
      : await mintDemoToken(dataSource, file, now);
  const revokedIds = await revokeOtherTokensNamed(dataSource, DEMO_TOKEN_NAME, current.id);
  return { ...current, revokedIds };
}
