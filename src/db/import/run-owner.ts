/**
 * Who owns a `running` import run: the database session holding the run's advisory lock. A session
 * ends with its process (kill -9 included) or its machine, and PostgreSQL then drops the lock, so
 * a run still `running` without its lock has lost its owner and is marked `interrupted`.
 */
import type { DataSource, QueryRunner } from 'typeorm';

/** First key of the import runs' advisory locks (the second is the run id): "kf" in ASCII. */
export const IMPORT_RUN_LOCK = 0x6b66;

/** Marks `running` runs whose owning session is gone as `interrupted`; how many there were. */
export async function markInterruptedRuns(dataSource: DataSource): Promise<number> {
  const rows = await dataSource.query<{ n: number }[]>(
    `WITH changed AS (
       UPDATE import_runs r SET status = 'interrupted', finished_at = now()
        WHERE r.status = 'running'
          AND NOT EXISTS (SELECT 1 FROM pg_locks l
                           WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = r.id AND l.objsubid = 2 AND l.granted)
        RETURNING r.id)
     SELECT count(*)::int AS n FROM changed`,
    [IMPORT_RUN_LOCK],
  );
  return rows[0].n;
}

/**
 * Records a new `running` run and holds its lock on a session of its own until `release` (once the
 * run is finished or failed). The lock is taken in the INSERT itself, so no other session ever sees
 * the run without its owner.
 */
export async function startOwnedRun(
  dataSource: DataSource,
  datasetId: number,
  root: string,
): Promise<{ id: number; release(): Promise<void> }> {
  const session: QueryRunner = dataSource.createQueryRunner();
  await session.connect();
  try {
    const [run] = (await session.query(
      `INSERT INTO import_runs (dataset_id, root_path) VALUES ($1, $2) RETURNING id, pg_advisory_lock($3, id)`,
      [datasetId, root, IMPORT_RUN_LOCK],
    )) as { id: number }[];
    return {
      id: run.id,
      async release() {
        // The session goes back to the pool: the lock must not stay on it.
        await session.query(`SELECT pg_advisory_unlock($1, $2)`, [IMPORT_RUN_LOCK, run.id]).catch(() => undefined);
        await session.release();
      },
    };
  } catch (error) {
    await session.release();
    throw error;
  }
}
