/**
 * `kfashion demo`'s admin token over a real PostgreSQL database and real files: one token across
 * runs, kept with mode 0600, replaced when the database no longer accepts it, never two live.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApiToken, liveApiToken } from '../../src/db/api-tokens';
import { DEMO_TOKEN_NAME, demoToken, demoTokenFile } from '../../src/cli/demo-token';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let dataDir: string;
let file: string;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.dataSource.query('DELETE FROM api_tokens');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-demo-token-'));
  file = demoTokenFile(dataDir);
});
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function liveDemoTokenIds(): Promise<string[]> {
  const rows = await db.dataSource.query(
    `SELECT id::text AS id FROM api_tokens WHERE name = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) ORDER BY id`,
    [DEMO_TOKEN_NAME],
  );
  return rows.map((row: { id: string }) => row.id);
}

const modeOf = (target: string) => fs.statSync(target).mode & 0o777;

describe('the demo token', () => {
  it('is minted once into the data folder (mode 0600) and reused by the next run: one live demo token', async () => {
    const first = await demoToken(db.dataSource, file);
    expect(first.reused).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${first.token}\n`);
    expect(modeOf(file)).toBe(0o600);
    expect(await liveApiToken(db.dataSource, first.token)).toMatchObject({ id: first.id, role: 'admin', name: DEMO_TOKEN_NAME });
    const lifetimeDays = (first.expiresAt!.getTime() - Date.now()) / 86_400_000;
    expect(lifetimeDays).toBeGreaterThan(29.9);
    expect(lifetimeDays).toBeLessThanOrEqual(30);

    const second = await demoToken(db.dataSource, file);
    expect(second).toMatchObject({ id: first.id, token: first.token, reused: true, revokedIds: [] });
    expect(second.expiresAt?.getTime()).toBe(first.expiresAt!.getTime());
    expect(await liveDemoTokenIds()).toEqual([first.id]);
    expect(modeOf(file)).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual(['demo-token']);
  });

  it('revokes the tokens earlier demos minted on every run, keeping the one it shows', async () => {
    const older = [
      await createApiToken(db.dataSource, { role: 'admin', name: DEMO_TOKEN_NAME }),
      await createApiToken(db.dataSource, { role: 'admin', name: DEMO_TOKEN_NAME }),
    ];
    const other = await createApiToken(db.dataSource, { role: 'admin', name: 'ci' });
    const current = await demoToken(db.dataSource, file);
    expect(current.revokedIds.sort()).toEqual(older.map((token) => token.id).sort());
    expect(await liveDemoTokenIds()).toEqual([current.id]);
    // Only demo tokens: an admin's own tokens stay.
    expect(await liveApiToken(db.dataSource, other.token)).not.toBeNull();
  });

  it.each([
    ['revoked', `UPDATE api_tokens SET revoked_at = now()`],
    ['expired', `UPDATE api_tokens SET expires_at = now() - interval '1 day'`],
    ['unknown to the database (another data folder)', `DELETE FROM api_tokens`],
  ])('is replaced when the stored one is %s', async (_, statement) => {
    const stale = await demoToken(db.dataSource, file);
    await db.dataSource.query(statement);
    const fresh = await demoToken(db.dataSource, file);
    expect(fresh.reused).toBe(false);
    expect(fresh.token).not.toBe(stale.token);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(fresh.token);
    expect(modeOf(file)).toBe(0o600);
    expect(await liveApiToken(db.dataSource, stale.token)).toBeNull();
    expect(await liveDemoTokenIds()).toEqual([fresh.id]);
  });

  it('replaces a file that holds no token of this database, or a non-admin one, and tightens a loose mode', async () => {
    fs.writeFileSync(file, 'not a token\n', { mode: 0o644 });
    const minted = await demoToken(db.dataSource, file);
    expect(minted.reused).toBe(false);
    expect(modeOf(file)).toBe(0o600);

    fs.chmodSync(file, 0o644);
    expect((await demoToken(db.dataSource, file)).reused).toBe(true);
    expect(modeOf(file)).toBe(0o600);

    const viewer = await createApiToken(db.dataSource, { role: 'viewer', name: DEMO_TOKEN_NAME });
    fs.writeFileSync(file, `${viewer.token}\n`);
    const admin = await demoToken(db.dataSource, file);
    expect(admin.reused).toBe(false);
    expect((await liveApiToken(db.dataSource, admin.token))?.role).toBe('admin');
    expect(await liveDemoTokenIds()).toEqual([admin.id]);
  });

  it('names the path when the data folder holds something else there', async () => {
    fs.mkdirSync(file);
    await expect(demoToken(db.dataSource, file)).rejects.toThrow(
      `${file}: expected the demo token file, found something else: move it away`,
    );
    expect(await liveDemoTokenIds()).toEqual([]);
  });
});
