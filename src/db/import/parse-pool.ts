/**
 * Parsing annotation files off the main thread. JSON parsing and validation are most of the
 * importer's CPU; in worker processes (parse-worker.ts) they overlap with building and sending the
 * batches. Files go out in
 * chunks (one message per chunk, not per file) and come back in the order they were walked.
 * Without a compiled worker (ts-jest runs the TypeScript sources) or with `workers: 0`, files
 * are parsed on the main thread, with a macrotask turn now and then so the COPY of the batch
 * being written keeps moving.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChildProcess, fork } from 'node:child_process';
import { DEFAULT_MAX_FILE_BYTES, ParsedFile, parseFileAt } from './parse-file';
import type { ParseRequest } from './parse-worker';

const CHUNK = 64;
const CHUNKS_IN_FLIGHT_PER_WORKER = 4;
const YIELD_EVERY = 8;
const WORKER_SCRIPT = path.join(__dirname, 'parse-worker.js');
const WORKER_OLD_SPACE_MB = 64;

/** Default worker count: one per core beyond the main thread's, when the compiled worker exists. */
export function defaultParseWorkers(): number {
  if (!fs.existsSync(WORKER_SCRIPT)) return 0;
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

async function* parseInThread(root: string, files: AsyncIterable<string>, maxFileBytes: number): AsyncGenerator<ParsedFile> {
  let parsed = 0;
  for await (const file of files) {
    yield parseFileAt(root, file, maxFileBytes);
    if (++parsed % YIELD_EVERY === 0) await new Promise(setImmediate);
  }
}

async function* chunksOf<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** A parse worker stopped (out of heap, crashed) with requests of it unanswered. */
class ParseWorkerDied extends Error {
  constructor(readonly reason: string) {
    super(`import parse worker died: ${reason}`);
  }
}

/** V8's last words when a heap limit is reached (`FATAL ERROR: … JavaScript heap out of memory`). */
const OUT_OF_HEAP = /heap out of memory|Allocation failed/;
/** Bytes of a worker's stderr kept to tell why it died. */
const STDERR_TAIL = 4096;

function deathReason(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  if (OUT_OF_HEAP.test(stderr)) return `it ran out of memory (the worker's heap is ${WORKER_OLD_SPACE_MB} MB)`;
  return signal ? `it was killed by ${signal}` : `it exited with code ${code}`;
}

class ParseWorker {
  // The worker holds one chunk at a time; a small old generation makes V8 collect the parse
  // garbage often instead of letting the worker's heap swell to its default limit (a flag on the
  // command line wins over one in an inherited NODE_OPTIONS).
  private readonly worker: ChildProcess = fork(WORKER_SCRIPT, [], {
    execArgv: [`--max-old-space-size=${WORKER_OLD_SPACE_MB}`],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  private readonly waiting = new Map<number, { resolve(results: ParsedFile[]): void; reject(error: Error): void }>();
  private failure: ParseWorkerDied | null = null;
  private stderr = '';

  constructor() {
    this.worker.on('message', (message: { id: number; results: ParsedFile[] }) => {
      this.waiting.get(message.id)?.resolve(message.results);
      this.waiting.delete(message.id);
    });
    this.worker.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_TAIL)));
    const fail = (error: ParseWorkerDied) => {
      this.failure ??= error;
      for (const pending of this.waiting.values()) pending.reject(this.failure);
      this.waiting.clear();
    };
    this.worker.on('error', (error) => fail(new ParseWorkerDied(error.message)));
    // 'close' comes after the process's stdio ended, so its last words are in `stderr`.
    this.worker.on('close', (code, signal) => fail(new ParseWorkerDied(deathReason(code, signal, this.stderr))));
  }

  get dead(): boolean {
    return this.failure !== null;
  }

  parse(request: ParseRequest): Promise<ParsedFile[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.set(request.id, { resolve, reject });
      this.worker.send(request, (error) => {
        if (error) this.worker.kill();
      });
    });
  }

  async stop(): Promise<void> {
    this.worker.removeAllListeners('close');
    if (this.worker.exitCode !== null || this.worker.signalCode !== null) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.kill();
    await exited;
  }
}

/**
 * The workers of one import. A worker that dies takes its unanswered chunks with it; those chunks
 * are parsed again one file at a time, each in a worker of its own lifetime, so the file that
 * killed it is rejected with the reason and every other file of the chunk is imported.
 */
class ParseWorkerPool {
  private readonly workers: ParseWorker[];

  constructor(count: number) {
    this.workers = Array.from({ length: count }, () => new ParseWorker());
  }

  /** Parses one chunk on the worker its id maps to, replacing that worker first if it died. */
  parse(request: ParseRequest): Promise<ParsedFile[]> {
    const slot = request.id % this.workers.length;
    if (this.workers[slot].dead) {
      void this.workers[slot].stop();
      this.workers[slot] = new ParseWorker();
    }
    return this.workers[slot].parse(request).catch((error: unknown) => {
      if (!(error instanceof ParseWorkerDied)) throw error;
      return this.parseOneByOne(request);
    });
  }

  private async parseOneByOne(request: ParseRequest): Promise<ParsedFile[]> {
    const results: ParsedFile[] = [];
    let worker = new ParseWorker();
    try {
      for (const file of request.files) {
        try {
          results.push(...(await worker.parse({ ...request, files: [file] })));
        } catch (error) {
          if (!(error instanceof ParseWorkerDied)) throw error;
          results.push({ file, error: `the parse worker died on this file: ${error.reason}` });
          await worker.stop();
          worker = new ParseWorker();
        }
      }
    } finally {
      await worker.stop();
    }
    return results;
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }
}

async function* parseInWorkers(
  root: string,
  files: AsyncIterable<string>,
  count: number,
  maxFileBytes: number,
): AsyncGenerator<ParsedFile> {
  const pool = new ParseWorkerPool(count);
  const inFlight: Promise<ParsedFile[]>[] = [];
  let id = 0;
  try {
    for await (const chunk of chunksOf(files, CHUNK)) {
      const pending = pool.parse({ id: id++, root, files: chunk, maxFileBytes });
      pending.catch(() => undefined); // observed when its turn comes; avoid an unhandled rejection meanwhile
      inFlight.push(pending);
      if (inFlight.length >= count * CHUNKS_IN_FLIGHT_PER_WORKER) yield* await inFlight.shift()!;
    }
    while (inFlight.length > 0) yield* await inFlight.shift()!;
  } finally {
    await pool.stop();
  }
}

/** The annotation files of `files`, read and parsed, in the order given; files over `maxFileBytes` are rejected unread. */
export function parseFiles(
  root: string,
  files: AsyncIterable<string>,
  workers: number,
  maxFileBytes = DEFAULT_MAX_FILE_BYTES,
): AsyncGenerator<ParsedFile> {
  return workers > 0 ? parseInWorkers(root, files, workers, maxFileBytes) : parseInThread(root, files, maxFileBytes);
}
