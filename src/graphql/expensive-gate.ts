/**
 * A bound on concurrent expensive operations: at most `limit` run at once, the next ones wait in
 * line (first come, first served) and are refused with SERVER_BUSY (503) after `maxWaitMs`, so a
 * burst of costly queries cannot take every database connection from the cheap ones.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from './errors';

export class ExpensiveGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly limit: number,
    readonly maxWaitMs: number,
  ) {}

  /** Waits for a slot; the returned function frees it (once, however often called). */
  async acquire(): Promise<() => void> {
    if (this.running >= this.limit) await this.wait();
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.waiting.shift()?.();
    };
  }

  private wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const admit = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(admit), 1);
        reject(
          new GraphQLError(`the server is busy with other costly queries; retry in a moment or ask for less`, {
            extensions: { code: ErrorCode.ServerBusy, http: { status: 503 } },
          }),
        );
      }, this.maxWaitMs);
      this.waiting.push(admit);
    });
  }
}
