/**
 * Opening files a client or a stored row names (weights, model configs) as regular files only. A
 * FIFO opened for reading blocks until a writer appears, and a synchronous open blocks the whole
 * event loop with it: the model server stopped answering anyone. O_NONBLOCK makes that open return
 * at once, and fstat on the opened descriptor (not a stat before it, which a swap could outrun) then
 * refuses anything but a regular file; on a regular file O_NONBLOCK changes nothing.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';

/** What a non-regular file is, for the error. */
function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a plain file';
}

/** Why `stats` cannot be read as a file, or null when it is a regular file. */
export function notRegularFile(stats: Stats): string | null {
  return stats.isFile() ? null : `is ${kindOf(stats)}, not a regular file`;
}

/** A read-only descriptor of `path`, which must be a regular file; the error says what it is instead. */
export function openRegularFile(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  const problem = notRegularFile(fstatSync(fd));
  if (problem) {
    closeSync(fd);
    throw new Error(problem);
  }
  return fd;
}

/** The bytes of the regular file `path`. */
export function readRegularFile(path: string): Buffer {
  const fd = openRegularFile(path);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
