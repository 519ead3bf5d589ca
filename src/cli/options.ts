/** Parsing of command-line values shared by the commands, and their shutdown (environment variables: environment.ts). */
import type { Environment } from './environment';

export function positiveNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got "${value}"`);
  return n;
}

/** The default lease timeout of the model servers and of the API's watchdog. */
export const DEFAULT_LEASE_TIMEOUT_SECONDS = 120;

/**
 * KFASHION_LEASE_TIMEOUT (seconds, default 120): how long a leased row may go without a heartbeat
 * before a watchdog (in any model server or in the API) hands it back. One setting for both, since
 * the API's watchdog must not judge a model server dead sooner than the servers judge each other.
 */
export function leaseTimeoutSeconds(env: Pick<Environment, 'KFASHION_LEASE_TIMEOUT'>): number {
  return env.KFASHION_LEASE_TIMEOUT ?? DEFAULT_LEASE_TIMEOUT_SECONDS;
}

/** An integer in [min, max]; an error names the option and the range. */
export function integerInRange(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name}: expected an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

/** The items of a comma-separated value, trimmed, empty ones dropped. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A comma-separated list of values from `allowed`, each at most once; an unknown one is named with `name`. */
export function listOf<T extends string>(value: string, allowed: readonly T[], name: string): T[] {
  const items = commaList(value);
  const unknown = items.find((item) => !(allowed as readonly string[]).includes(item));
  if (unknown !== undefined || items.length === 0) {
    throw new Error(`${name}: expected one or more of ${allowed.join(', ')} (comma-separated), got "${value}"`);
  }
  return [...new Set(items)] as T[];
}

/**
 * Runs `close` once on the first SIGINT or SIGTERM, then exits (status 0). Exiting lets the embedded
 * database server, when this process was the last to use it, stop cleanly.
 */
export function onShutdown(what: string, close: () => Promise<void>): (signal: string) => void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: ${what}`);
    close().then(
      () => process.exit(0),
      (error) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  return shutdown;
}
