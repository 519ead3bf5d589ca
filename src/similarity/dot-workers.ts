/**
 * Dot products of one query with whole chunks of int8 vectors, shared between the calling thread and
 * worker threads that read the chunks where they lie: the chunks live in SharedArrayBuffers, so
 * nothing is copied but the query and the results.
 *
 * Why: comparing every vector of a chunk is bound by memory bandwidth, and one thread reads about
 * 8 GB/s on this project's 2-core machine; two threads reading at once read more (bench/RESULTS.md,
 * "## Similarity", measures both in one run). The calling thread takes a share itself rather than
 * wait: with two workers and a waiting main thread on two cores, the slower share came back late
 * more often (p95 25.5 ms against 17.6 for a third of 300,000 vectors, measured here).
 *
 * usearch's binding reads a SharedArrayBuffer on Node.js 22 and 24; on a Node.js whose N-API
 * refuses it (20 does), `open` answers null and the index compares on the main thread alone.
 */
import { Worker } from 'node:worker_threads';
import { exactSearch, MetricKind } from 'usearch';

/** The worker's whole program: `innerProductDistances` of the query with each chunk it is sent (a worker cannot import this module's TypeScript). */
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

/**
 * usearch's distance (1 − dot product) of `query` with each vector of `vectors` (which must start its
 * buffer), by position. usearch's int8 inner-product kernel sums in integers, so 1 − dot is exact in
 * float32 (|dot| ≤ 1024 × 127² < 2²⁴). Each vector is a query of the kernel against the one `query`,
 * so every distance comes back unsorted, in one task on one thread (usearch would start a second
 * thread on every call only for it to idle). The workers run the same call (WORKER_SOURCE).
 */
export function innerProductDistances(query: Int8Array, vectors: Int8Array, dimensions: number): Float32Array {
  return exactSearch(query, vectors, dimensions, 1, MetricKind.IP, 1).distances;
}

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

  /**
   * Comparisons on `threads` threads: the calling one and `threads` − 1 workers, started on first
   * use; null for fewer than 2, or when usearch cannot read shared memory here.
   */
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
   * shared by size among the workers and this thread, each reading its share at once.
   */
  async distances(query: Int8Array, chunks: readonly Int8Array[], dimensions: number): Promise<Float32Array[]> {
    const [here, ...elsewhere] = this.share(chunks);
    const asked = Promise.all(
      elsewhere.map((share, i) =>
        share.length
          ? this.ask(
              i,
              query,
              share.map((c) => chunks[c]),
              dimensions,
            )
          : Promise.resolve([]),
      ),
    );
    let mine: Float32Array[];
    try {
      mine = here.map((c) => innerProductDistances(query, chunks[c], dimensions));
    } catch (error) {
      await asked.catch(() => undefined); // nothing is left running, nor rejected unheard
      throw error;
    }
    const answers = [mine, ...(await asked)];
    const distances = new Array<Float32Array>(chunks.length);
    [here, ...elsewhere].forEach((share, i) => share.forEach((chunk, j) => (distances[chunk] = answers[i][j])));
    return distances;
  }

  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  /** The chunks' positions, one list per thread (this one's first), each the next chunk to the least loaded. */
  private share(chunks: readonly Int8Array[]): number[][] {
    const shares: number[][] = Array.from({ length: this.threads }, () => []);
    const loads = new Array<number>(this.threads).fill(0);
    chunks.forEach((chunk, position) => {
      const least = loads.indexOf(Math.min(...loads));
      shares[least].push(position);
      loads[least] += chunk.length;
    });
    return shares;
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

/** Whether usearch's binding reads a typed array over a SharedArrayBuffer (Node.js 22 and 24 do; 20 refuses). */
function readsSharedMemory(): boolean {
  try {
    const shared = DotWorkers.allocate(4);
    shared.fill(1);
    return innerProductDistances(Int8Array.of(1, 1, 1, 1), shared, 4)[0] === 1 - 4;
  } catch {
    return false;
  }
}
