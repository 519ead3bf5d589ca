/**
 * How a leased job ends, decided in one place for the model server's worker (queued runs and chunks)
 * and `kfashion train` (a run in the foreground): what is written to the row for each way it can end.
 */
import type { DataSource } from 'typeorm';
import { finish, LeaseLost, release, type Lease } from '../db/leases';

export type LeaseEnd =
  /** The work returned: a cancelled row is marked so, a succeeded chunk too (a run records its own success with its model version). */
  | { kind: 'finished'; status: 'succeeded' | 'cancelled' }
  /** Interrupted (shutdown, or an error worth retrying): the row is queued again, for a resume elsewhere. */
  | { kind: 'handed back'; reason: string }
  /** Another worker holds the row now: nothing is written. */
  | { kind: 'lost'; reason: string }
  /** Any other error: the row is marked failed with `message`. */
  | { kind: 'failed'; message: string; error: unknown };

export interface LeasedWorkOptions {
  /** Errors after which the row goes back to the queue instead of failing. */
  handBack: (error: unknown) => boolean;
  /** The error to record for a failure (the worker's backend check may replace it); default: the error itself. */
  reported?: (error: unknown) => Promise<unknown>;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Runs `work` on the leased row and records how it ended. */
export async function runLeased(
  dataSource: DataSource,
  lease: Lease,
  work: () => Promise<'succeeded' | 'cancelled'>,
  options: LeasedWorkOptions,
): Promise<LeaseEnd> {
  try {
    const status = await work();
    if (status === 'cancelled' || lease.table === 'prediction_chunks') await finish(dataSource, lease, status);
    return { kind: 'finished', status };
  } catch (error) {
    if (error instanceof LeaseLost) return { kind: 'lost', reason: error.message };
    if (options.handBack(error)) {
      await release(dataSource, lease);
      return { kind: 'handed back', reason: messageOf(error) };
    }
    const reported = options.reported ? await options.reported(error) : error;
    const message = messageOf(reported);
    // Best effort: the row may have been taken meanwhile, which its new worker then records.
    await finish(dataSource, lease, 'failed', message).catch(() => undefined);
    return { kind: 'failed', message, error: reported };
  }
}
