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
 */
import { DataSource } from 'typeorm';
import { SuperCategory } from '../kfashion/types';
import type { LabelSource, Split } from './entities';

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

  /** True when the counts match the garments as they are now. */
  async isFresh(): Promise<boolean> {
    const [{ fresh }] = await this.dataSource.query(`SELECT ${FRESH} AS fresh`);
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
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock($1, $2) AS locked`, [...REBUILD_LOCK]);
      if (!locked) return null;
      this.rebuildBackend = (await runner.query(`SELECT pg_backend_pid() AS pid`))[0].pid;
      try {
        const started = process.hrtime.bigint();
        await runner.startTransaction();
        await runner.query(`SET LOCAL statement_timeout = 0`);
        await runner.query(`SET LOCAL work_mem = '256MB'`);
        // Read before counting: a write committed later makes the result stale, never wrongly fresh.
        const [{ value: generation }] = await runner.query(`SELECT value FROM search_generation`);
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
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        await runner.query(
          `UPDATE garment_facet_counts_state SET generation = $1, refreshed_at = now(), seconds = $2`,
          [generation, seconds],
        );
        await runner.commitTransaction();
        await runner.query(`ANALYZE garment_facet_counts`);
        const [{ rows }] = await runner.query(`SELECT count(*)::int AS rows FROM garment_facet_counts`);
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
}
