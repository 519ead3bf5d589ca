/**
 * The locking of garment edits against the importer on real PostgreSQL: an edit takes its image's
 * lock before the garment's, in the order the importer (and stored predictions) take them, so an
 * edit waiting behind an import that replaces the image's garments ends as "not found" instead of
 * deadlocking; and the revision check inside the lock.
 */
import { addGarment, deleteGarment, EditConflict, EditTargetMissing, updateGarment } from '../../src/db/garment-edits';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';

let db: TestDatabase;
let imageId: string;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  const [image] = await db.dataSource.query(`INSERT INTO images (file_name, width, height) VALUES ('a.jpg', 100, 80) RETURNING id`);
  imageId = String(image.id);
});

afterAll(async () => db?.drop());

/** Resolves once `sessions` statements of other sessions wait for a lock. */
async function someoneWaitsForALock(sessions = 1): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const [row] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (row.n >= sessions) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no session started waiting for a lock');
}

it('waits behind an import holding the image, then finds the garment replaced (no deadlock)', async () => {
  const garmentId = await addGarment(db.dataSource, { imageId, category: '블라우스', box: { x1: 1, y1: 1, x2: 50, y2: 60 } }, {});
  const importer = db.dataSource.createQueryRunner();
  await importer.connect();
  try {
    await importer.startTransaction();
    await importer.query(`SELECT id FROM images WHERE id = $1 FOR UPDATE`, [imageId]);
    const edit = updateGarment(db.dataSource, garmentId, 1, { box: { x1: 2, y1: 2, x2: 40, y2: 40 } }, {}).then(
      () => 'edited',
      (error: unknown) => error,
    );
    await someoneWaitsForALock();
    // The importer replaces the image's annotations: it must not wait for the edit.
    await importer.query(`DELETE FROM garments WHERE image_id = $1 AND source = 'annotation'`, [imageId]);
    await importer.commitTransaction();
    const outcome = await edit;
    expect(outcome).toBeInstanceOf(EditTargetMissing);
    expect((outcome as EditTargetMissing).field).toBe('input.id');
  } finally {
    await importer.release();
  }
});

it('checks the revision under the lock: of two edits in flight on one revision the second is refused with the current one', async () => {
  const garmentId = await addGarment(db.dataSource, { imageId, category: '스커트', box: { x1: 1, y1: 1, x2: 50, y2: 60 } }, {});
  const holder = db.dataSource.createQueryRunner();
  await holder.connect();
  try {
    await holder.startTransaction();
    // Another edit of the garment under way: it holds the garment's row lock.
    await holder.query(`SELECT id FROM garments WHERE id = $1 FOR UPDATE`, [garmentId]);
    const first = updateGarment(db.dataSource, garmentId, 1, { box: { x1: 3, y1: 3, x2: 30, y2: 30 } }, {});
    await someoneWaitsForALock(); // the update queues first
    const second = deleteGarment(db.dataSource, garmentId, 1, {}).then(
      () => 'deleted',
      (error: unknown) => error,
    );
    await someoneWaitsForALock(2);
    await holder.commitTransaction();
    await first;
    const refused = await second;
    expect(refused).toBeInstanceOf(EditConflict);
    expect((refused as EditConflict).currentRevision).toBe(2);
  } finally {
    await holder.release();
  }
  const [row] = await db.dataSource.query(`SELECT x1, revision FROM garments WHERE id = $1`, [garmentId]);
  expect(row).toEqual({ x1: 3, revision: 2 });
});
