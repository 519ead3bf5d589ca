/**
 * Reading files that a user or a dataset names, as regular files only. open() of a FIFO waits for a
 * writer, and a read of a FIFO, device or socket can wait or stream forever: on the main thread that
 * stops the process (SIGTERM included), on one of libuv's four threads it starves every other file
 * and DNS call. So the file is opened with O_NONBLOCK (open() of a FIFO then returns at once; a
 * regular file ignores the flag) and judged by fstat of the open descriptor, not by a stat of the
 * path, which could be swapped between the check and the open.
 */
import * as fs from 'node:fs';

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;

/** What a non-regular entry is, for messages ("a FIFO, not a regular file"). */
export function fileKind(stat: fs.Stats | fs.Dirent): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'an entry of unknown type';
}

/** A path that names something other than a regular file. The message names the kind, never the path. */
export class NotRegularFileError extends Error {
  readonly code = 'NOT_REGULAR_FILE';
  constructor(readonly kind: string) {
    super(`${kind}, not a regular file`);
  }
}

/** An open regular file; the caller closes `handle`. */
export interface OpenRegularFile {
  handle: fs.promises.FileHandle;
  stat: fs.Stats;
}

export async function openRegularFile(file: string): Promise<OpenRegularFile> {
  const handle = await fs.promises.open(file, OPEN_FLAGS);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotRegularFileError(fileKind(stat));
    return { handle, stat };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The bytes of a regular file; throws NotRegularFileError for anything else. */
export async function readRegularFile(file: string): Promise<Buffer> {
  const { handle } = await openRegularFile(file);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Synchronous openRegularFile, for the import's parse workers; the caller closes `fd`. */
export function openRegularFileSync(file: string): { fd: number; stat: fs.Stats } {
  const fd = fs.openSync(file, OPEN_FLAGS);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new NotRegularFileError(fileKind(stat));
    return { fd, stat };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/** Synchronous readRegularFile, for the synchronous weight loaders. */
export function readRegularFileSync(file: string): Buffer {
  const { fd } = openRegularFileSync(file);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
