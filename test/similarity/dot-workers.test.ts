/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 *
 * The comparison of whole chunks in shared memory by this thread and a worker, against usearch's
 * kernel on this thread: chunks of many sizes shared among the threads come back in their order; a
 * request a thread cannot answer is refused with an error, and the next one is answered.
 */
import { exactSearch, MetricKind } from 'usearch';
import { DotWorkers } from '../../src/similarity/dot-workers';
import { seededRandom } from '../../src/util/random';

const DIMENSIONS = 16;
const random = seededRandom(9);
const workers = DotWorkers.open(2)!;

afterAll(() => workers.close());

const chunkOf = (vectors: number) => {
  const chunk = DotWorkers.allocate(vectors * DIMENSIONS);
  for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(random() * 255) - 127;
  return chunk;
};
const query = Int8Array.from({ length: DIMENSIONS }, () => Math.floor(random() * 255) - 127);
const here = (chunk: Int8Array) => [...exactSearch(query, chunk, DIMENSIONS, 1, MetricKind.IP, 1).distances];

it('answers every chunk, in order, as usearch does on this thread', async () => {
  expect(workers).not.toBeNull();
  const chunks = [700, 3, 64, 1, 250, 250, 9, 1024].map(chunkOf);
  const distances = await workers.distances(query, chunks, DIMENSIONS);
  expect(distances.map((d) => [...d])).toEqual(chunks.map(here));
  // Overlapping requests get their own answers.
  const [first, second] = await Promise.all([
    workers.distances(query, chunks.slice(0, 3), DIMENSIONS),
    workers.distances(query, chunks.slice(5), DIMENSIONS),
  ]);
  expect(first.map((d) => [...d])).toEqual(chunks.slice(0, 3).map(here));
  expect(second.map((d) => [...d])).toEqual(chunks.slice(5).map(here));
});

it('refuses a request a thread cannot answer, here or in a worker, and answers the next', async () => {
  const ragged = DotWorkers.allocate(DIMENSIONS * 2 + 5); // not a whole number of vectors
  const good = chunkOf(40);
  // The first chunk is compared on this thread, the second in a worker.
  await expect(workers.distances(query, [ragged, good], DIMENSIONS)).rejects.toThrow(/multiple of the dimension/);
  await expect(workers.distances(query, [good, ragged], DIMENSIONS)).rejects.toThrow(/dot-product worker: .*multiple of the dimension/);
  expect((await workers.distances(query, [good, good], DIMENSIONS)).map((d) => [...d])).toEqual([here(good), here(good)]);
});
