/**
 * Synchronous positioned reads of a file, and a buffered sequential reader over it. Synchronous because
 * the weight loaders are (a model is built and filled in one call, also inside the training worker).
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { openRegularFileSync } from '../../util/regular-file';
import type { ByteSource } from './pickle';

export class FileReader {
  readonly size: number;
  private constructor(
    private readonly fd: number,
    readonly path: string,
  ) {
    this.size = fstatSync(fd).size;
  }

  static open(path: string): FileReader {
    try {
      // A regular file only: the loaders read synchronously, and a FIFO would block the thread for ever.
      return new FileReader(openRegularFileSync(path).fd, path);
    } catch (error) {
      throw new Error(`${path}: cannot open: ${(error as Error).message}`);
    }
  }

  /** Exactly `target.length` bytes at `position` into `target`, or an error naming the file. */
  readInto(target: Uint8Array, position: number): void {
    let done = 0;
    while (done < target.length) {
      const n = readSync(this.fd, target, done, target.length - done, position + done);
      if (n === 0) throw new Error(`${this.path}: truncated: wanted ${target.length} bytes at byte ${position}, the file has ${this.size}`);
      done += n;
    }
  }

  /** A fresh (hence aligned) buffer holding `length` bytes at `position`. */
  readAt(position: number, length: number): Uint8Array {
    const out = new Uint8Array(new ArrayBuffer(length));
    this.readInto(out, position);
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

const CHUNK_BYTES = 1 << 16;

/** Reads a file front to back in chunks (pickles are read byte by byte; one syscall per byte would crawl). */
export class SequentialFileSource implements ByteSource {
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart = 0;
  private position = 0;

  constructor(private readonly file: FileReader) {}

  read(length: number): Uint8Array {
    const offset = this.position - this.chunkStart;
    if (offset + length <= this.chunk.length) {
      this.position += length;
      return this.chunk.subarray(offset, offset + length);
    }
    if (length > CHUNK_BYTES) return this.readBlock(length);
    const available = Math.min(CHUNK_BYTES, this.file.size - this.position);
    if (available < length) throw new Error(`${this.file.path}: ends unexpectedly at byte ${this.file.size}`);
    this.chunk = this.file.readAt(this.position, available);
    this.chunkStart = this.position;
    this.position += length;
    return this.chunk.subarray(0, length);
  }

  /** `length` bytes in a buffer of their own (tensor storages), not kept in the chunk. */
  readBlock(length: number): Uint8Array {
    const out = this.file.readAt(this.position, length);
    this.position += length;
    return out;
  }
}
