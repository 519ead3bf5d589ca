import { GarmentIdSet } from '../../src/db/search-counts';

/** Bytes of PostgreSQL's bit string layout (bit 0 is the high bit of byte 0) for these ids. */
function bitBytes(ids: readonly number[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (const id of ids) bytes[Math.floor(id / 8)] += 2 ** (7 - (id % 8));
  return bytes;
}

describe('GarmentIdSet', () => {
  it('reads the ids of a bit string as PostgreSQL lays it out', () => {
    // B'0100000110000000' = ids 1, 7 and 8 (checked in psql: get_bit on this string is 1 at 1, 7, 8)
    const set = new GarmentIdSet(Uint8Array.from([0b01000001, 0b10000000]));
    expect(set.idsAfter(0, 10)).toEqual([1, 7, 8]);
  });

  it('reads a string that starts at a later id', () => {
    const set = new GarmentIdSet(Uint8Array.from([0b01000001, 0b10000000]), 1000);
    expect(set.idsAfter(999, 10)).toEqual([1001, 1007, 1008]);
    expect(set.idsAfter(1001, 1)).toEqual([1007]);
    expect(set.idsAfter(0, 10)).toEqual([1001, 1007, 1008]);
  });

  it('pages through random sets exactly as a sorted list of the ids does', () => {
    let state = 99;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const length = 1 + Math.floor(next() * 300);
      const density = next() * next();
      const ids = Array.from({ length: length * 8 }, (_, id) => id).filter(() => next() < density);
      const set = new GarmentIdSet(bitBytes(ids, length));
      const pageSize = 1 + Math.floor(next() * 20);
      const paged: number[] = [];
      const start = Math.floor(next() * 3) - 1;
      for (let after = start, page = set.idsAfter(after, pageSize); page.length; page = set.idsAfter(after, pageSize)) {
        expect(page.length).toBeLessThanOrEqual(pageSize);
        paged.push(...page);
        after = page[page.length - 1];
      }
      expect(paged).toEqual(ids.filter((id) => id > start));
    }
  });
});
