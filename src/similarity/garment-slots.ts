/**
 * Garment id → slot of its vector in a GarmentVectorIndex. Garment ids are dense (a serial), so the
 * ids below DENSE_IDS index a typed array (4 bytes per id up to the largest seen): a filtered search
 * looks up every matching garment, and at 1 M garments a Map took about 230 ns per lookup against
 * 15–40 ns here. Larger ids, which a database only reaches after tens of millions of inserts, use a
 * Map, so memory stays bounded by DENSE_IDS.
 */

/** Ids below this use the array (at most 128 MiB); the rest a Map. */
export const DENSE_IDS = 2 ** 25;

export class GarmentSlots {
  /** Slot + 1 by garment id; 0: no slot. */
  private dense = new Int32Array(1024);
  private readonly sparse = new Map<number, number>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(garmentId: number): number | undefined {
    if (garmentId < DENSE_IDS) {
      const stored = garmentId < this.dense.length ? this.dense[garmentId] : 0;
      return stored === 0 ? undefined : stored - 1;
    }
    return this.sparse.get(garmentId);
  }

  has(garmentId: number): boolean {
    return this.get(garmentId) !== undefined;
  }

  set(garmentId: number, slot: number): void {
    if (!this.has(garmentId)) this.count++;
    if (garmentId >= DENSE_IDS) {
      this.sparse.set(garmentId, slot);
      return;
    }
    if (garmentId >= this.dense.length) this.growTo(garmentId);
    this.dense[garmentId] = slot + 1;
  }

  delete(garmentId: number): void {
    if (!this.has(garmentId)) return;
    this.count--;
    if (garmentId >= DENSE_IDS) this.sparse.delete(garmentId);
    else this.dense[garmentId] = 0;
  }

  private growTo(garmentId: number): void {
    let length = this.dense.length;
    while (length <= garmentId) length *= 2;
    const grown = new Int32Array(Math.min(length, DENSE_IDS));
    grown.set(this.dense);
    this.dense = grown;
  }
}
