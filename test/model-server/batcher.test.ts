/** Concurrent requests become one call of the batch function; results go back to their callers. */
import { RequestBatcher } from '../../src/model-server/batcher';

it('batches requests that arrive together and while a batch runs, at most maxBatch at once', async () => {
  const calls: number[][] = [];
  const batcher = new RequestBatcher<number, number>(
    async (inputs) => {
      calls.push([...inputs]);
      await new Promise((resolve) => setTimeout(resolve, 30));
      return inputs.map((x) => x * 10);
    },
    { maxBatch: 4, maxWaitMs: 5 },
  );
  const first = await Promise.all([1, 2, 3].map((x) => batcher.run(x)));
  expect(first).toEqual([10, 20, 30]);
  expect(calls).toEqual([[1, 2, 3]]);
  // 10 requests: one full batch at once, the rest while it runs, in order, never more than 4.
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.run(100 + i)));
  expect(results).toEqual(Array.from({ length: 10 }, (_, i) => (100 + i) * 10));
  expect(calls.slice(1).map((c) => c.length)).toEqual([4, 4, 2]);
  expect(calls.slice(1).flat()).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
  expect(batcher.stats).toEqual({ batches: 4, items: 13, largestBatch: 4 });
});

it('rejects every request of a failed batch and keeps serving', async () => {
  let fail = true;
  const batcher = new RequestBatcher<string, string>(
    async (inputs) => {
      if (fail) throw new Error('model exploded');
      return inputs.map((s) => s.toUpperCase());
    },
    { maxBatch: 8, maxWaitMs: 1 },
  );
  const failed = await Promise.allSettled([batcher.run('a'), batcher.run('b')]);
  expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect((failed[0] as PromiseRejectedResult).reason.message).toBe('model exploded');
  fail = false;
  expect(await batcher.run('c')).toBe('C');
});
