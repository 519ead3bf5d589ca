/**
 * runLeased records a leased job's end on its row, the same for the model server's worker and for
 * `kfashion train`: cancelled and succeeded (a chunk) finished, interrupted handed back to the queue,
 * failed with the reported message, and nothing written once another worker holds the row.
 */
import { claim, LeaseLost, type Lease } from '../../src/db/leases';
import { insertQueuedRun } from '../../src/db/training-runs';
import { runLeased } from '../../src/model-server/lease-end';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
beforeAll(async () => {
  db = await createPostgresTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

class Interrupted extends Error {}

async function leasedRun(): Promise<Lease> {
  const lease: Lease = { table: 'training_runs', id: await insertQueuedRun(db.dataSource, { epochs: 1 }), worker: 'test-worker' };
  expect(await claim(db.dataSource, lease, 'job-1', 60)).not.toBeNull();
  return lease;
}

async function row(lease: Lease): Promise<{ status: string; worker: string | null; error: string | null }> {
  const [found] = await db.dataSource.query(`SELECT status, worker, error FROM training_runs WHERE id = $1`, [lease.id]);
  return found;
}

const options = { handBack: (error: unknown) => error instanceof Interrupted };

it('marks a cancelled run cancelled, and leaves a succeeded run to record its own success', async () => {
  const cancelled = await leasedRun();
  expect(await runLeased(db.dataSource, cancelled, async () => 'cancelled', options)).toEqual({ kind: 'finished', status: 'cancelled' });
  expect(await row(cancelled)).toMatchObject({ status: 'cancelled', error: null });
  const succeeded = await leasedRun();
  expect(await runLeased(db.dataSource, succeeded, async () => 'succeeded', options)).toEqual({ kind: 'finished', status: 'succeeded' });
  expect(await row(succeeded)).toMatchObject({ status: 'running', worker: 'test-worker' });
});

it('hands an interrupted run back to the queue', async () => {
  const lease = await leasedRun();
  expect(
    await runLeased(
      db.dataSource,
      lease,
      async () => {
        throw new Interrupted('stopping');
      },
      options,
    ),
  ).toEqual({ kind: 'handed back', reason: 'stopping' });
  expect(await row(lease)).toMatchObject({ status: 'queued', worker: null });
});

it('records a failure with the reported message', async () => {
  const lease = await leasedRun();
  const boom = new Error('boom');
  const end = await runLeased(
    db.dataSource,
    lease,
    async () => {
      throw boom;
    },
    { ...options, reported: async () => new Error('backend replaced: boom') },
  );
  expect(end).toMatchObject({ kind: 'failed', message: 'backend replaced: boom' });
  expect(await row(lease)).toMatchObject({ status: 'failed', error: 'backend replaced: boom' });
});

it('writes nothing once another worker holds the row', async () => {
  const lease = await leasedRun();
  await db.dataSource.query(`UPDATE training_runs SET worker = 'other' WHERE id = $1`, [lease.id]);
  expect(
    await runLeased(
      db.dataSource,
      lease,
      async () => {
        throw new LeaseLost('taken');
      },
      options,
    ),
  ).toEqual({ kind: 'lost', reason: 'taken' });
  // A cancelled end of a row another worker holds is lost too, not recorded.
  expect((await runLeased(db.dataSource, lease, async () => 'cancelled', options)).kind).toBe('lost');
  expect(await row(lease)).toMatchObject({ status: 'running', worker: 'other' });
});
