/**
 * Dot products of one query with whole chunks of int8 vectors, computed on worker threads that read
 * the chunks where they lie: the chunks live in SharedArrayBuffers, so nothing is copied but the
 * query and the results.
 *
 * Why: comparing every vector of a chunk is bound by memory bandwidth, and one thread reads about
 * 8 GB/s on this project's 2-core machine. Two threads reading at once took 22.5–25.5 ms for
 * 335,872 vectors of 1024 dimensions, against 40.5 ms for the main thread alone (bench/RESULTS.md,
 * "## Similarity"); meanwhile the main thread serves other requests instead of blocking on the scan.
 *
 * usearch's binding reads a SharedArrayBuffer on Node.js 24; on a Node.js whose N-API refuses it,
 * `open` answers null and the index compares on the main thread.
 */
import { Worker } from 'node:worker_threads';
import { exactSearch, MetricKind } from 'usearch';

/** The worker's whole program: usearch's int8 inner product of the query with each chunk it is sent. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { exactSearch, MetricKind } = require(workerData.usearch);
parentPort.on('message', ({ id, query, chunks, dimensions }) => {
  try {
    const distances = chunks.map((chunk) => exactSearch(query, chunk, dimensions, 1, MetricKind.IP, 1).distances);
    parentPort.postMessage({ id, distances }, distances.map((d) => d.buffer));
  } catch (error) {
    parentPort.postMessage({ id, failed: String(error && error.message) });
  }
});`;

interface Reply {
  id: number;
  distances?: Float32Array[];
  failed?: string;
}

interface Pending {
  resolve: (distances: Float32Array[]) => void;
  reject: (error: Error) => void;
}

export class DotWorkers {
  private workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  private constructor(private readonly threads: number) {}

  /** Workers for `threads` threads, started on first use; null when usearch cannot read shared memory here. */
  static open(threads: number): DotWorkers | null {
    return threads >= 2 && readsSharedMemory() ? new DotWorkers(threads) : null;
  }

  /** A zeroed vector buffer of `bytes` the workers can read. */
  static allocate(bytes: number): Int8Array {
    return new Int8Array(new SharedArrayBuffer(bytes));
  }

  /**
   * usearch's distance (1 − dot product) of `query` with every vector of each chunk, by position.
   * Each chunk must start its SharedArrayBuffer (usearch reads from a buffer's start). The chunks are
   * shared among the workers by size, each reading its share at once.
   */
  async distances(query: Int8Array, chunks: readonly Int8Array[], dimensions: number): Promise<Float32Array[]> {
    const shares = this.share(chunks);
    const answers = await Promise.all(
      shares.map((share, i) =>
        this.ask(
          i,
          query,
          share.map((c) => chunks[c]),
          dimensions,
        ),
      ),
    );
    const distances = new Array<Float32Array>(chunks.length);
    shares.forEach((share, i) => share.forEach((chunk, j) => (distances[chunk] = answers[i][j])));
    return distances;
  }

  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  /** The chunks' positions, one list per worker, each the next chunk to the least loaded. */
  private share(chunks: readonly Int8Array[]): number[][] {
    const shares: number[][] = Array.from({ length: this.threads }, () => []);
    const loads = new Array<number>(this.threads).fill(0);
    chunks.forEach((chunk, position) => {
      const least = loads.indexOf(Math.min(...loads));
      shares[least].push(position);
      loads[least] += chunk.length;
    });
    return shares.filter((share) => share.length);
  }

  private ask(worker: number, query: Int8Array, chunks: Int8Array[], dimensions: number): Promise<Float32Array[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker(worker).postMessage({ id, query, chunks, dimensions });
      this.holdProcess();
    });
  }

  private worker(index: number): Worker {
    while (this.workers.length <= index) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { usearch: require.resolve('usearch') } });
      worker.on('message', (reply: Reply) => this.answer(reply));
      worker.on('error', (error) => this.failAll(error));
      this.workers.push(worker);
    }
    return this.workers[index];
  }

  /**
   * The workers keep the process alive while a request waits on them, and only then: a process that
   * awaits a comparison does not exit under it, and one that stops without closing them still exits.
   */
  private holdProcess(): void {
    for (const worker of this.workers) {
      if (this.pending.size) worker.ref();
      else worker.unref();
    }
  }

  private answer({ id, distances, failed }: Reply): void {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    this.holdProcess();
    if (failed !== undefined || !distances) pending?.reject(new Error(`dot-product worker: ${failed}`));
    else pending?.resolve(distances);
  }

  /** A worker died: every request waiting is refused, and the workers start afresh on the next. */
  private failAll(error: Error): void {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
    this.holdProcess();
    void this.close();
  }
}

/** Whether usearch's binding reads a typed array over a SharedArrayBuffer (Node.js 24 does; 20 refuses). */
function readsSharedMemory(): boolean {
  try {
    const shared = DotWorkers.allocate(4);
    shared.fill(1);
    return exactSearch(Int8Array.of(1, 1, 1, 1), shared, 4, 1, MetricKind.IP, 1).distances[0] === 1 - 4;
  } catch {
    return false;
  }
}
