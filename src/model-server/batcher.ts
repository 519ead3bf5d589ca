/**
 * Batches concurrent inference requests into one model call: requests that arrive while the model is
 * busy (or within `maxWaitMs` of the first one) are predicted together, up to `maxBatch` images. The
 * model runs one batch at a time, so the server never computes two forward passes at once.
 */
export type BatchPredict<I, O> = (inputs: I[]) => Promise<O[]>;

interface Pending<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

export interface BatcherOptions {
  maxBatch?: number;
  maxWaitMs?: number;
}

export interface BatcherStats {
  batches: number;
  items: number;
  largestBatch: number;
}

export class RequestBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly stats: BatcherStats = { batches: 0, items: 0, largestBatch: 0 };

  constructor(
    private readonly predict: BatchPredict<I, O>,
    options: BatcherOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 8;
    this.maxWaitMs = options.maxWaitMs ?? 5;
  }

  run(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length >= this.maxBatch) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.maxWaitMs);
    }
  }

  private async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, this.maxBatch);
    this.stats.batches++;
    this.stats.items += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    try {
      const outputs = await this.predict(batch.map((p) => p.input));
      if (outputs.length !== batch.length)
        throw new Error(`batch model call returned ${outputs.length} results for ${batch.length} inputs`);
      batch.forEach((p, i) => p.resolve(outputs[i]));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
