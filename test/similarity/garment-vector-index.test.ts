/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 *
 * The in-memory index's exhaustive search over chosen garments, against a float64 reference computed
 * here (the int8 codec's cosine, not the index's code): ranges mostly chosen (ranked in place),
 * ranges sparsely chosen (copied first), freed and reused slots, and ids without a vector. Small
 * ranges (64 slots) make one search cross dozens of them. Also the garment-id → slot table, on both
 * sides of its dense limit, and vectors kept by group (a group's garments in chunks of their own,
 * which grow as they fill; garments moving between groups). (The host's typed arrays: usearch's native binding makes them in the host realm.)
 */
import { cosineSimilarity } from '../../src/ml/embedding/int8';
import { DotWorkers } from '../../src/similarity/dot-workers';
import { DEFAULT_GRAPH, GarmentVectorIndex } from '../../src/similarity/garment-vector-index';
import { DENSE_IDS, GarmentSlots } from '../../src/similarity/garment-slots';
import { seededRandom } from '../../src/util/random';

const DIMENSIONS = 24;
const random = seededRandom(5);
const randomVector = () => Int8Array.from({ length: DIMENSIONS }, () => Math.round(random() * 254 - 127));

// Whole chunks compared on the main thread, and on two worker threads reading them in shared memory.
const workers = DotWorkers.open(2);
const comparers: [string, DotWorkers | null][] = [
  ['on the main thread', null],
  ['on worker threads', workers],
];

afterAll(() => workers?.close());

it('has worker threads that read shared memory on this Node.js', () => {
  expect(workers).not.toBeNull();
});

describe.each(comparers)('GarmentVectorIndex.nearestAmong, whole chunks compared %s', (_, comparer) => {
  const vectors = new Map<number, Int8Array>();
  const index = new GarmentVectorIndex(DIMENSIONS, { ...DEFAULT_GRAPH, threads: 1 }, 64, comparer);
  let seq = 0;
  const put = (garmentId: number) => {
    const vector = randomVector();
    vectors.set(garmentId, vector);
    index.upsert([{ garmentId, seq: ++seq, vector }]);
  };

  beforeAll(() => {
    for (let id = 1; id <= 1500; id++) put(id);
    // Freed slots (some reused by later garments) sit among the chosen ones.
    for (let id = 3; id <= 1500; id += 7) {
      index.remove(id, ++seq);
      vectors.delete(id);
    }
    for (let id = 2001; id <= 2100; id++) put(id);
  });

  const reference = (query: Int8Array, ids: Iterable<number>, k: number) =>
    [...ids]
      .filter((id) => vectors.has(id))
      .map((id) => ({ garmentId: id, similarity: cosineSimilarity(query, vectors.get(id)!) }))
      .sort((a, b) => b.similarity - a.similarity || a.garmentId - b.garmentId)
      .slice(0, k);

  const all = () => [...vectors.keys()];
  const choices: [string, () => number[]][] = [
    ['every garment (every range ranked in place)', all],
    ['all but every 5th (mostly chosen ranges)', () => all().filter((id) => id % 5 !== 0)],
    ['every 9th (sparse ranges, copied)', () => all().filter((id) => id % 9 === 0)],
    ['ranges alternately full and empty', () => all().filter((id) => Math.floor(id / 64) % 2 === 0)],
    ['ids without a vector mixed in', () => [...all().filter((id) => id % 3 === 0), 3, 10, 999_999]],
  ];

  it.each(choices)('ranks %s exactly as the reference', async (_, chosen) => {
    for (const queryId of [1, 501, 2050]) {
      // A view into the index's own chunk, as a search by garment passes it.
      const query = index.vectorOf(queryId)!;
      for (const k of [1, 10, 40]) {
        const found = await index.nearestAmong(query, chosen(), k);
        const expected = reference(query, chosen(), k);
        expect(found.map((n) => n.garmentId)).toEqual(expected.map((n) => n.garmentId));
        found.forEach((n, i) => expect(n.similarity).toBeCloseTo(expected[i].similarity, 12));
      }
    }
  });

  it('leaves no choice behind for the next search, and keeps overlapping searches apart', async () => {
    const query = vectors.get(1)!;
    const [every, two, none] = await Promise.all([
      index.nearestAmong(query, all(), 10),
      index.nearestAmong(query, [2, 4], 10),
      index.nearestAmong(query, [], 10),
    ]);
    expect(every.map((n) => n.garmentId)).toEqual(reference(query, all(), 10).map((n) => n.garmentId));
    expect(two.map((n) => n.garmentId)).toEqual(reference(query, [2, 4], 10).map((n) => n.garmentId));
    expect(none).toEqual([]);
    expect((await index.nearestAmong(query, [2, 4], 10)).map((n) => n.garmentId)).toEqual(two.map((n) => n.garmentId));
  });
});

describe('GarmentVectorIndex groups', () => {
  const groups = ['TOP', 'BOTTOM', 'OUTER', 'ONE_PIECE'];
  const vectors = new Map<number, Int8Array>();
  const groupOf = new Map<number, string>();
  const index = new GarmentVectorIndex(DIMENSIONS, { ...DEFAULT_GRAPH, threads: 1 }, 256); // chunks start at 64 vectors and grow
  let seq = 0;
  const put = (garmentId: number, group: string) => {
    const vector = randomVector();
    vectors.set(garmentId, vector);
    groupOf.set(garmentId, group);
    index.upsert([{ garmentId, seq: ++seq, vector, group }]);
  };

  beforeAll(() => {
    for (let id = 1; id <= 1200; id++) put(id, groups[Math.floor(random() * groups.length)]);
    // Freed slots in every group, garments that move to another group (a new vector), and new ones
    // taking the freed slots.
    for (let id = 5; id <= 1200; id += 11) {
      index.remove(id, ++seq);
      vectors.delete(id);
    }
    for (let id = 2; id <= 1200; id += 13) if (vectors.has(id)) put(id, groups[(groups.indexOf(groupOf.get(id)!) + 1) % groups.length]);
    for (let id = 3001; id <= 3080; id++) put(id, groups[id % groups.length]);
  });

  const reference = (query: Int8Array, ids: Iterable<number>, k: number) =>
    [...ids]
      .filter((id) => vectors.has(id))
      .map((id) => ({ garmentId: id, similarity: cosineSimilarity(query, vectors.get(id)!) }))
      .sort((a, b) => b.similarity - a.similarity || a.garmentId - b.garmentId)
      .slice(0, k)
      .map((n) => n.garmentId);
  const ofGroup = (group: string) => [...vectors.keys()].filter((id) => groupOf.get(id) === group);

  it.each(groups)('ranks the garments of group %s (its own chunks, in place) exactly as the reference', async (group) => {
    for (const queryId of [1, 600, 3050]) {
      const query = index.vectorOf(queryId)!;
      expect((await index.nearestAmong(query, ofGroup(group), 25)).map((n) => n.garmentId)).toEqual(reference(query, ofGroup(group), 25));
    }
  });

  it('ranks a group with a few garments of another, and every garment, exactly as the reference', async () => {
    const chosen = [...ofGroup('TOP'), ...ofGroup('OUTER').filter((id) => id % 4 === 0)];
    for (const queryId of [7, 3001]) {
      const query = index.vectorOf(queryId)!;
      expect((await index.nearestAmong(query, chosen, 30)).map((n) => n.garmentId)).toEqual(reference(query, chosen, 30));
      expect((await index.nearestExhaustive(query, 30)).map((n) => n.garmentId)).toEqual(reference(query, vectors.keys(), 30));
    }
    expect(index.size).toBe(vectors.size);
  });
});

describe.each(comparers)('GarmentVectorIndex ranking, whole chunks compared %s', (_, comparer) => {
  const index = new GarmentVectorIndex(DIMENSIONS, { ...DEFAULT_GRAPH, threads: 1 }, 256, comparer);
  const vectors = new Map<number, Int8Array>();
  const query = randomVector();
  const scaled = (vector: Int8Array, by: number) => Int8Array.from(vector, (value) => Math.round(value * by));
  const reference = (q: Int8Array, k: number) =>
    [...vectors.keys()]
      .map((id) => ({ garmentId: id, similarity: cosineSimilarity(q, vectors.get(id)!) }))
      .sort((a, b) => b.similarity - a.similarity || a.garmentId - b.garmentId)
      .slice(0, k)
      .map((n) => n.garmentId);

  beforeAll(() => {
    // Loud vectors, of large norm and near the query by a little (a cosine of about 0.3), whose dot
    // products with it outrank those of quiet vectors: the query itself, scaled down to a tenth, and
    // near copies of it, whose cosine is higher.
    let garmentId = 0;
    const rows = Array.from({ length: 240 }, () => {
      const loud = Int8Array.from(randomVector(), (value, i) => Math.max(-127, Math.min(127, value + query[i] * 0.4)));
      return { garmentId: ++garmentId, seq: garmentId, vector: loud };
    });
    for (let i = 0; i < 8; i++) {
      const quiet = scaled(query, 0.08 + i * 0.002).map((value, d) => (d === i ? value + 1 : value));
      rows.push({ garmentId: 1000 + i, seq: ++garmentId, vector: Int8Array.from(quiet) });
    }
    rows.push({ garmentId: 2000, seq: ++garmentId, vector: new Int8Array(DIMENSIONS) }); // all zeros: cosine 0
    for (const row of rows) vectors.set(row.garmentId, row.vector);
    index.upsert(rows);
  });

  it('ranks by cosine, not by dot product: quiet vectors near the query above loud ones', async () => {
    for (const k of [1, 5, 10]) {
      const found = (await index.nearestAmong(query, vectors.keys(), k)).map((n) => n.garmentId);
      expect(found).toEqual(reference(query, k));
      expect(found[0]).toBeGreaterThanOrEqual(1000);
    }
  });

  it('ranks equal similarities by garment id, as a query of all zeros makes every one', async () => {
    // Ids falling as slots rise: the lowest ids lie at the end of the second chunk.
    const falling = new GarmentVectorIndex(DIMENSIONS, { ...DEFAULT_GRAPH, threads: 1 }, 256, comparer);
    falling.upsert(Array.from({ length: 300 }, (_, i) => ({ garmentId: 300 - i, seq: i + 1, vector: randomVector() })));
    const zeros = new Int8Array(DIMENSIONS);
    const ids = Array.from({ length: 300 }, (_, i) => i + 1);
    expect((await falling.nearestAmong(zeros, ids, 5)).map((n) => n.garmentId)).toEqual([1, 2, 3, 4, 5]);
    expect((await falling.nearestExhaustive(zeros, 3)).map((n) => [n.garmentId, n.similarity])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
  });

  it('answers for the vectors as they are when changes land while whole chunks are compared', async () => {
    const changing = new GarmentVectorIndex(DIMENSIONS, { ...DEFAULT_GRAPH, threads: 1 }, 64, comparer);
    const now = new Map<number, Int8Array>();
    let seq = 0;
    const put = (garmentId: number, vector: Int8Array) => {
      now.set(garmentId, vector);
      changing.upsert([{ garmentId, seq: ++seq, vector }]);
    };
    for (let id = 1; id <= 300; id++) put(id, randomVector());
    const chosenIds = Array.from({ length: 300 }, (_, i) => i + 1);
    const first = changing.nearestAmong(query, chosenIds, 20); // the chunks are being compared
    put(5, query.slice()); // a new vector, into the slot it freed
    changing.remove(6, ++seq);
    now.delete(6);
    const second = changing.nearestAmong(query, chosenIds, 20); // overlapping the first
    changing.remove(7, ++seq);
    now.delete(7);
    put(301, query.slice()); // not chosen, in garment 7's slot
    const expected = chosenIds
      .filter((id) => now.has(id))
      .map((id) => ({ garmentId: id, similarity: cosineSimilarity(query, now.get(id)!) }))
      .sort((a, b) => b.similarity - a.similarity || a.garmentId - b.garmentId)
      .slice(0, 20);
    for (const found of await Promise.all([first, second])) {
      expect(found.map((n) => n.garmentId)).toEqual(expected.map((n) => n.garmentId));
      found.forEach((n, i) => expect(n.similarity).toBeCloseTo(expected[i].similarity, 12));
      expect(found[0]).toEqual({ garmentId: 5, similarity: expect.closeTo(1, 12) });
    }
    // The notes of displaced garments are dropped once no search awaits them.
    expect((changing as unknown as { displaced: unknown[] }).displaced).toEqual([]);
  });

  it('tells which garments a search chose, and searches only those', async () => {
    const chosenIds = [3, 1001, 1005, 2000, 99_999];
    const answer = await index.withChosen(chosenIds, async (chosen) => ({
      has: [3, 4, 1001, 2000, 99_999].map((id) => chosen.has(id)),
      nearest: (await chosen.nearest(query, 10)).map((n) => n.garmentId),
    }));
    expect(answer.has).toEqual([true, false, true, true, false]);
    expect(answer.nearest).toEqual(reference(query, 300).filter((id) => chosenIds.includes(id)));
    expect(await index.withChosen([], async (chosen) => chosen.has(3))).toBe(false);
  });
});

describe('GarmentSlots', () => {
  it('maps ids below and above the dense limit, and forgets deleted ones', () => {
    const slots = new GarmentSlots();
    const ids = [1, 5000, DENSE_IDS - 1, DENSE_IDS, DENSE_IDS + 12_345, 2 ** 40];
    ids.forEach((id, slot) => slots.set(id, slot));
    expect(ids.map((id) => slots.get(id))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(slots.size).toBe(6);
    slots.set(5000, 9);
    expect([slots.get(5000), slots.size]).toEqual([9, 6]);
    slots.delete(DENSE_IDS);
    slots.delete(1);
    slots.delete(7); // never set
    expect([slots.has(DENSE_IDS), slots.has(1), slots.get(0), slots.get(4999), slots.size]).toEqual([
      false,
      false,
      undefined,
      undefined,
      4,
    ]);
  });
});

describe('GarmentVectorIndex graph', () => {
  it('grows from a small graph (one vector per insert) to a large one (batches on every thread) and finds every garment', () => {
    const dimensions = 8;
    const index = new GarmentVectorIndex(dimensions, { ...DEFAULT_GRAPH, expansionAdd: 32, threads: 2 });
    const vectors: Int8Array[] = [];
    let garmentId = 0;
    // 10,000 vectors make a graph large; batches of 2,000 cross that size, as a build does.
    for (const size of [240, 2000, 2000, 2000, 2000, 2000, 2000, 760]) {
      const rows = Array.from({ length: size }, () => {
        const vector = Int8Array.from({ length: dimensions }, () => Math.round(random() * 254 - 127));
        vectors.push(vector);
        return { garmentId: ++garmentId, seq: garmentId, vector };
      });
      index.upsert(rows);
    }
    expect(index.size).toBe(13_000);
    for (let id = 1; id <= 13_000; id += 97) {
      const [nearest] = index.nearest(vectors[id - 1], 1);
      expect(nearest.garmentId).toBe(id);
      expect(nearest.similarity).toBeCloseTo(1, 12);
    }
  });
});
