/**
 * Live training-run updates for the `trainingRunUpdated` subscription, from the process's one
 * LISTEN connection (src/db/training-run-notifications.ts).
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors';
import type { RunListener, RunNotifications } from '../../db/training-run-notifications';

export { RECONNECT_BACKOFF } from '../../db/training-run-notifications';

export const updatesLost = (): Error =>
  new GraphQLError('live updates stopped: the connection to the database was lost and could not be restored; subscribe again later', {
    extensions: { code: ErrorCode.UpdatesUnavailable },
  });

/** Yields once at once, then after every update of the run, until `isFinished` says it is over; throws when updates are lost for good. */
export async function* runUpdates(hub: RunNotifications, runId: number, isFinished: () => Promise<boolean>): AsyncGenerator<void> {
  let wake: (() => void) | null = null;
  let pending = true;
  let failure: Error | undefined;
  const signal: RunListener = (error) => {
    failure ??= error;
    pending = true;
    wake?.();
  };
  const unsubscribe = await hub.subscribe(runId, signal);
  try {
    for (;;) {
      if (!pending) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      pending = false;
      if (failure) throw failure;
      yield;
      if (await isFinished()) return;
    }
  } finally {
    unsubscribe();
  }
}
