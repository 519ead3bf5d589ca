/**
 * How many images a process decodes at once. Each decode holds one of libuv's threads, a pool of the
 * whole process (4, unless UV_THREADPOOL_SIZE, which Node reads itself, says otherwise): half of them
 * stay free for files and DNS. The CLI sets the pool's size from the environment at start-up; a light
 * module, so that setting it loads no image decoder.
 */
const DEFAULT_THREADPOOL_SIZE = 4;

let threadpoolSize = DEFAULT_THREADPOOL_SIZE;

/** Sets the size of libuv's thread pool as this process started with (UV_THREADPOOL_SIZE). */
export function setThreadpoolSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) throw new Error(`UV_THREADPOOL_SIZE: expected a positive whole number, got ${size}`);
  threadpoolSize = size;
}

/** Decodes running at once in this process; the others wait. */
export function maxConcurrentDecodes(): number {
  return Math.max(1, Math.floor(threadpoolSize / 2));
}
