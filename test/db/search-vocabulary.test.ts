/**
 * The search's vocabulary snapshot on a real database: a value an import adds right after a load is
 * found at once (a re-import that brings a new style, then a search for it, within milliseconds).
 */
import { VocabularyCache } from '../../src/db/search-vocabulary';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

describe('VocabularyCache', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createPostgresTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('sees a value added moments after its last load, and keeps the snapshot when nothing was added', async () => {
    // A long rate limit: without the check of the table, the second refresh would return the old snapshot.
    const cache = new VocabularyCache(db.dataSource, 60_000, 60_000);
    const first = await cache.get();
    expect(first.idOf('style', '스트리트')).toBeUndefined();
    expect(await cache.refreshed()).toBe(first);

    const [{ id }] = await db.dataSource.query(
      `INSERT INTO vocabulary (kind, value, value_en) VALUES ('style', '스트리트', 'street') RETURNING id`,
    );
    const second = await cache.refreshed();
    expect(second.idOf('style', '스트리트')).toBe(id);
    expect(second.maxId).toBe(id);
    expect(await cache.refreshed()).toBe(second);
  });
});
