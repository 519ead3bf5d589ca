/**
 * Precomputed counts for broad garment filters (migration GarmentFacetCounts).
 *
 * A filter that is at most one vocabulary term plus split, source and one super-category matches
 * a large share of the garments; counting its facets live means unnesting every matching row
 * (hundreds of milliseconds at 1M garments). `garment_facet_counts` holds the co-occurrence
 * counts of term pairs per (split, source, super_category), so such a filter's facets and
 * totalCount are sums over a handful of index rows.
 *
 * The counts are used only when exact: the reading statement itself compares the generation the
 * counts were built from with the current `search_generation` (bumped by every statement that
 * writes garments), in one snapshot. When stale, callers fall back to the live query and ask for
 * a rebuild, which runs in the background (one at a time across processes: advisory lock).
 *
 * The same rebuild writes `garment_term_bits` (migration GarmentTermBits): per term, one bit per
 * garment id. A filter made only of term conditions (all of these, any of those) is then a
 * `bit_and`/`bit_or` over a few of those strings: its exact count and its pages come from them,
 * without visiting one heap page per match as a live count does.
 */
import { DataSource, QueryRunner } from 'typeorm';
import { SuperCategory } from '../kfashion/types';
import { LABEL_SOURCES, SPLITS, type LabelSource, type Split } from './entities';

/** The dimensions a precomputed row is keyed by, plus the one term (0 = any garment). */
export interface SimpleFilter {
  split: Split | null;
  source: LabelSource | null;
  superCategory: SuperCategory | null;
  term: number;
}

/** Advisory-lock key of the rebuild: one rebuild at a time across API processes. */
const REBUILD_LOCK = [0x4b46494d, 0x46414354] as const;

const DIMENSIONS = `($2::text IS NULL OR split = $2) AND ($3::text IS NULL OR source = $3)
  AND ($4::text IS NULL OR super_category = $4)`;
const FRESH = `(SELECT value FROM search_generation) IS NOT DISTINCT FROM (SELECT generation FROM garment_facet_counts_state)`;
const BITS_FRESH = `(SELECT value FROM search_generation) IS NOT DISTINCT FROM (SELECT bits_generation FROM garment_facet_counts_state)`;

/**
 * Above this garment id no bit strings are built (each would take max id / 8 bytes, per term):
 * searches then count live, and the counts alone are current.
 */
export const MAX_BIT_ID = 8_000_000;
/** Garments read per statement while the bit strings are built. */
const BIT_BUILD_CHUNK = 100_000;
/**
 * Fewest bits of the matches sent to find a page's ids: the window is sized from the share of
 * garments that match (4× the expected span of a page), so a page rarely needs a second window,
 * and the whole string (about max id / 8 bytes, hex-encoded on the wire) is rarely sent.
 */
const MIN_WINDOW_BITS = 8_192;

/**
 * The garment columns a filter may name beside its values, whose bit strings sit in
 * garment_term_bits too, under negative keys (vocabulary ids are positive): split, source and
 * super-category filters are then answered from the bits like values (the similarity search reads
 * every match of a filter; migration TermBitsDimensions).
 */
const DIMENSION_VALUES = {
  split: SPLITS,
  source: LABEL_SOURCES,
  superCategory: Object.values(SuperCategory),
} as const;
export type BitDimension = keyof typeof DIMENSION_VALUES;

/** The bit-string key of a column's value: -101, -102… for split, -201… for source, -301… for super-category. */
export function dimensionBitKey(dimension: BitDimension, value: string): number {
  const dimensionIndex = Object.keys(DIMENSION_VALUES).indexOf(dimension);
  const valueIndex = (DIMENSION_VALUES[dimension] as readonly string[]).indexOf(value);
  if (valueIndex < 0) throw new Error(`${dimension} has no value "${value}"`);
  return -(100 * (dimensionIndex + 1) + valueIndex + 1);
}

/** Garments carrying every term of `allOf` and at least one term of each `anyOf` group (terms or dimension keys). */
export interface TermCondition {
  allOf: readonly number[];
  anyOf: readonly (readonly number[])[];
}

/**
 * Garment ids as the bytes of a PostgreSQL bit string that starts at id `firstId`: id
 * `firstId + i` is bit `7 - i % 8` of byte `i / 8`.
 */
export class GarmentIdSet {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly firstId = 0,
  ) {}

  /** Up to `limit` ids greater than `afterId`, ascending. */
  idsAfter(afterId: number, limit: number): number[] {
    // Bit positions from `firstBit` on stand for ids above afterId. The set bits are counted first
    // and the array made at its size: a filter of a million garments decodes a third of a million
    // ids per similarity search, in half the time of growing the array id by id.
    const firstBit = Math.max(0, afterId + 1 - this.firstId);
    const startByte = Math.floor(firstBit / 8);
    const byteAt = (at: number) => (at === startByte ? this.bytes[at] & (0xff >> (firstBit % 8)) : this.bytes[at]);
    let count = 0;
    for (let at = startByte; at < this.bytes.length && count < limit; at++) {
      for (let byte = byteAt(at); byte !== 0; byte &= byte - 1) count++;
    }
    const ids = new Array<number>(Math.max(0, Math.min(count, limit)));
    for (let at = startByte, filled = 0; filled < ids.length; at++) {
      for (let byte = byteAt(at); byte !== 0 && filled < ids.length;) {
        const bit = Math.clz32(byte) - 24;
        ids[filled++] = this.firstId + at * 8 + bit;
        byte ^= 0x80 >> bit;
      }
    }
    return ids;
  }
}

/** The matches of a TermCondition: how many, and the ids of one page. */
export interface TermPage {
  count: number;
  /** Up to the `limit` asked for, ascending. */
  ids: number[];
}

interface MatchWindowRow {
  fresh: boolean;
  counts_fresh: boolean;
  count: number | null;
  length: number | null;
  window: Buffer | null;
}

export interface RebuildResult {
  rows: number;
  seconds: number;
  generation: string;
}

export class FacetCounts {
  private rebuilding?: Promise<RebuildResult | null>;
  private rebuildBackend?: number;
  private lastRequest = 0;

  constructor(
    private readonly dataSource: DataSource,
    /** Least time between two background rebuilds started by this process. */
    private readonly minRebuildIntervalMs = 60_000,
    private readonly log: (message: string, error?: unknown) => void = () => {},
    /** See MIN_WINDOW_BITS (tests make it small to page across windows). */
    private readonly minWindowBits = MIN_WINDOW_BITS,
  ) {}

  /** Counts of `terms` among the garments matching `filter`, or null when the counts are stale. */
  async facetCounts(filter: SimpleFilter, terms: readonly number[]): Promise<Map<number, number> | null> {
    const rows: { term: number; n: number }[] = await this.dataSource.query(
      `SELECT -1 AS term, (${FRESH})::int AS n
       UNION ALL
       SELECT b, sum(n)::int FROM garment_facet_counts
        WHERE ${FRESH} AND a = $1 AND b = ANY($5::int[]) AND ${DIMENSIONS}
        GROUP BY b`,
      [filter.term, filter.split, filter.source, filter.superCategory, terms],
    );
    if (rows.find((row) => row.term === -1)?.n !== 1) {
      this.requestRebuild();
      return null;
    }
    return new Map(rows.filter((row) => row.term !== -1).map((row) => [row.term, row.n]));
  }

  /** Number of garments matching `filter`, or null when the counts are stale. */
  async count(filter: SimpleFilter): Promise<number | null> {
    const counts = await this.facetCounts(filter, [filter.term]);
    return counts === null ? null : (counts.get(filter.term) ?? 0);
  }

  /**
   * The number of garments matching `condition` (at least one term) and up to `limit` of their
   * ids greater than `afterId`, from the bit strings; null when those are stale or never built.
   */
  async termMatches(condition: TermCondition, afterId: number, limit: number): Promise<TermPage | null> {
    let ids: number[] = [];
    let count: number | null = null;
    for (let start = afterId + 1, minWindow = this.minWindowBits; ;) {
      const window = await this.matchWindow(condition, start, minWindow, limit);
      if (!window) return null;
      count ??= window.count;
      const page = new GarmentIdSet(window.bytes, start).idsAfter(afterId, limit - ids.length);
      // One at a time: a spread of a large window's ids would exceed the call's argument limit.
      if (ids.length) for (const id of page) ids.push(id);
      else ids = page;
      if (ids.length >= limit || start + window.bits >= window.length) return { count, ids };
      start += window.bits;
      minWindow = window.bits * 8;
    }
  }

  /** The matches' count, total bit length, and their bits from id `start` on (at least `minWindow` of them, when there are). */
  private async matchWindow(
    condition: TermCondition,
    start: number,
    minWindow: number,
    limit: number,
  ): Promise<{ count: number; length: number; bits: number; bytes: Uint8Array } | null> {
    const params: unknown[] = [];
    const add = (value: unknown) => `$${params.push(value)}`;
    const parts: string[] = [];
    // A term no garment carries has no row: the count check makes the AND empty, bit_or skips it.
    if (condition.allOf.length) {
      parts.push(
        `(SELECT CASE WHEN count(*) = ${add(condition.allOf.length)}::int THEN bit_and(bits) END
            FROM garment_term_bits WHERE term = ANY(${add(condition.allOf)}::int[]))`,
      );
    }
    for (const group of condition.anyOf) {
      parts.push(`(SELECT bit_or(bits) FROM garment_term_bits WHERE term = ANY(${add(group)}::int[]))`);
    }
    if (!parts.length) throw new Error('termMatches needs at least one term');
    // Bit position p (1-based) of the strings stands for garment id p - 1.
    const span = `greatest(${add(minWindow)}::bigint, 4 * ${add(limit)}::bigint * length(matches) / greatest(bit_count(matches), 1))`;
    // OFFSET 0 keeps the subquery from being flattened: `matches` is computed once, not once per use.
    const [row]: MatchWindowRow[] = await this.dataSource.query(
      `SELECT fresh, ${FRESH} AS counts_fresh, bit_count(matches)::int AS count, length(matches) AS length,
              varbit_send(substring(matches FROM ${add(start)}::int + 1 FOR least(${span}, 2147483647)::int)) AS window
         FROM (SELECT fresh, CASE WHEN fresh THEN ${parts.join(' & ')} END AS matches
                 FROM (SELECT ${BITS_FRESH} AS fresh) state
               OFFSET 0) m`,
      params,
    );
    if (!row.fresh) {
      // Current counts without current bits: ids too large for bits (or counts built by an older
      // version, which a server's start-up check rebuilds). Rebuilding again would change nothing.
      if (!row.counts_fresh) this.requestRebuild();
      return null;
    }
    // NULL matches: some required term has no garment. varbit_send: a 4-byte bit length, then the bytes.
    if (!row.window) return { count: 0, length: 0, bits: 0, bytes: new Uint8Array(0) };
    return { count: row.count ?? 0, length: row.length ?? 0, bits: row.window.readInt32BE(0), bytes: row.window.subarray(4) };
  }

  /**
   * An upper bound on the garments carrying all of `terms`: the smallest pair count among them,
   * or null when the counts were never built. From the last build even if stale: it only guides
   * the choice of plan, never a number shown to anyone.
   */
  async upperBound(terms: readonly number[]): Promise<number | null> {
    const [row]: { bound: number | null; built: boolean }[] = await this.dataSource.query(
      `SELECT (SELECT generation IS NOT NULL FROM garment_facet_counts_state) AS built,
              (SELECT min(n) FROM (SELECT sum(n)::int AS n FROM garment_facet_counts
                                    WHERE a = ANY($1::int[]) AND b = ANY($1::int[]) GROUP BY a, b) pairs) AS bound`,
      [terms],
    );
    return row.built ? (row.bound ?? 0) : null;
  }

  /** Starts a background rebuild unless one ran or started recently. */
  requestRebuild(): void {
    if (this.rebuilding || Date.now() - this.lastRequest < this.minRebuildIntervalMs) return;
    this.lastRequest = Date.now();
    this.rebuilding = this.rebuild()
      .catch((error) => {
        this.log('rebuilding garment_facet_counts failed:', error);
        return null;
      })
      .finally(() => {
        this.rebuilding = undefined;
      });
  }

  /** Waits for a background rebuild in progress (tests). */
  async settled(): Promise<void> {
    await this.rebuilding;
  }

  /** Cancels a rebuild in progress (shutdown): its transaction rolls back, the old counts stay. */
  async cancel(): Promise<void> {
    if (this.rebuildBackend !== undefined) {
      await this.dataSource.query(`SELECT pg_cancel_backend($1)`, [this.rebuildBackend]).catch(() => undefined);
    }
    await this.rebuilding;
  }

  /** True when the counts and the bit strings (unless ids are too large for them) match the garments as they are now. */
  async isFresh(): Promise<boolean> {
    const [{ fresh }] = await this.dataSource.query<{ fresh: boolean }[]>(
      `SELECT ${FRESH} AND (${BITS_FRESH} OR (SELECT coalesce(max(id), 0) FROM garments) > ${MAX_BIT_ID}) AS fresh`,
    );
    return fresh === true;
  }

  /**
   * Rebuilds the counts in one transaction (readers keep the previous version until it commits).
   * Returns null when another process holds the rebuild lock.
   */
  async rebuild(): Promise<RebuildResult | null> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query(`SELECT pg_try_advisory_lock($1, $2) AS locked`, [...REBUILD_LOCK])) as {
        locked: boolean;
      }[];
      if (!locked) return null;
      this.rebuildBackend = ((await runner.query(`SELECT pg_backend_pid() AS pid`)) as { pid: number }[])[0].pid;
      try {
        const started = process.hrtime.bigint();
        await runner.startTransaction();
        await runner.query(`SET LOCAL statement_timeout = 0`);
        await runner.query(`SET LOCAL work_mem = '256MB'`);
        // Read before counting: a write committed later makes the result stale, never wrongly fresh.
        const [{ value: generation }] = (await runner.query(`SELECT value FROM search_generation`)) as { value: string }[];
        await runner.query(`DELETE FROM garment_facet_counts`);
        await runner.query(
          `WITH pairs AS (
             SELECT g.split, g.source, g.super_category, a.term AS a, b.term AS b, count(*)::int AS n
               FROM garments g
               CROSS JOIN LATERAL unnest(array_prepend(0, g.search_terms)) AS a(term)
               CROSS JOIN LATERAL unnest(array_prepend(0, g.search_terms)) AS b(term)
              WHERE a.term <= b.term
              GROUP BY 1, 2, 3, 4, 5)
           INSERT INTO garment_facet_counts (split, source, super_category, a, b, n)
           SELECT split, source, super_category, a, b, n FROM pairs
           UNION ALL
           SELECT split, source, super_category, b, a, n FROM pairs WHERE a <> b`,
        );
        const bitsBuilt = await this.rebuildTermBits(runner);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        await runner.query(
          `UPDATE garment_facet_counts_state SET generation = $1, bits_generation = $2, refreshed_at = now(), seconds = $3`,
          [generation, bitsBuilt ? generation : null, seconds],
        );
        await runner.commitTransaction();
        await runner.query(`ANALYZE garment_facet_counts`);
        const [{ rows }] = (await runner.query(`SELECT count(*)::int AS rows FROM garment_facet_counts`)) as { rows: number }[];
        return { rows, seconds, generation: String(generation) };
      } catch (error) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      } finally {
        this.rebuildBackend = undefined;
        await runner.query(`SELECT pg_advisory_unlock($1, $2)`, [...REBUILD_LOCK]).catch(() => undefined);
      }
    } finally {
      await runner.release();
    }
  }

  /**
   * Writes one bit string per term and per dimension value (bit `id` set when garment `id` carries
   * it), all of the same length. Runs in the rebuild's transaction, after it read the generation: a garment written
   * meanwhile leaves the result stale, never wrongly fresh. False when ids are too large to build.
   */
  private async rebuildTermBits(runner: QueryRunner): Promise<boolean> {
    await runner.query(`DELETE FROM garment_term_bits`);
    const [{ max_id: maxIdText }] = (await runner.query(`SELECT coalesce(max(id), 0)::text AS max_id FROM garments`)) as {
      max_id: string;
    }[];
    const maxId = Number(maxIdText);
    if (maxId > MAX_BIT_ID) return false;
    const bytes = Math.floor(maxId / 8) + 1;
    const sets = new Map<number, Buffer>();
    for (let after = 0; ;) {
      const rows = (await runner.query(
        `SELECT id, search_terms, split, source, super_category FROM garments WHERE id > $1 AND id <= $2 ORDER BY id LIMIT ${BIT_BUILD_CHUNK}`,
        [after, maxId],
      )) as { id: string; search_terms: number[]; split: Split | null; source: LabelSource | null; super_category: SuperCategory | null }[];
      if (!rows.length) break;
      for (const row of rows) {
        const id = Number(row.id);
        const dimensions: number[] = [];
        if (row.split) dimensions.push(dimensionBitKey('split', row.split));
        if (row.source) dimensions.push(dimensionBitKey('source', row.source));
        if (row.super_category) dimensions.push(dimensionBitKey('superCategory', row.super_category));
        for (const term of [...row.search_terms, ...dimensions]) {
          let set = sets.get(term);
          if (!set) sets.set(term, (set = Buffer.alloc(bytes)));
          set[id >> 3] |= 0x80 >> (id & 7);
        }
      }
      after = Number(rows[rows.length - 1].id);
    }
    for (const [term, set] of sets) {
      await runner.query(`INSERT INTO garment_term_bits (term, bits) VALUES ($1, ('x' || encode($2::bytea, 'hex'))::bit varying)`, [
        term,
        set,
      ]);
    }
    return true;
  }
}
