/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 *
 * The worker threads that compare whole chunks in shared memory, against usearch's kernel on this
 * thread: chunks of many sizes shared among the workers come back in their order; a request a
 * worker cannot answer is refused with an error, and the next one is answered.
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

it('refuses a request a worker cannot answer, and answers the next', async () => {
  const ragged = DotWorkers.allocate(DIMENSIONS * 2 + 5); // not a whole number of vectors
  await expect(workers.distances(query, [ragged], DIMENSIONS)).rejects.toThrow(/dot-product worker/);
  const chunk = chunkOf(40);
  expect((await workers.distances(query, [chunk], DIMENSIONS)).map((d) => [...d])).toEqual([here(chunk)]);
});
