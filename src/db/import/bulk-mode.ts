/**
 * Whether a batch may skip PostgreSQL's per-row trigger work while it COPYs rows in.
 *
 * Every inserted garment and attribute row fires foreign-key triggers (one index probe and one
 * row lock each); measured on this machine they are two thirds of the database's time for an
 * import (garment_attributes: 2.5 s with them, 0.26 s without, for 150k rows). The importer
 * writes only ids it allocated in the same transaction and vocabulary ids it read or inserted,
 * so those references hold by construction — the situation `pg_restore --disable-triggers`
 * is made for. Like pg_restore, the batch then runs its inserts under
 * `SET LOCAL session_replication_role = replica`, which PostgreSQL allows only to superusers.
 *
 * That also silences ordinary triggers, so the fast path is taken only when every non-internal
 * trigger on the tables written is one whose effect the importer reproduces itself; any other
 * trigger (or a non-superuser role) means the ordinary, checked inserts.
 */
import type { DataSource } from 'typeorm';

/** Triggers the importer knows the effect of, and reproduces when it bypasses them. */
const REPRODUCED_TRIGGERS: Readonly<Record<string, string>> = {
  // migration GarmentSplit: garments.split := images.split on insert; the importer writes the
  // split itself (it is the image's split, known at that point).
  garments_image_split: 'garments.split',
  // Fires on UPDATE OF images.split only; batch updates run before the bypass is switched on.
  images_split_to_garments: '',
  // migration GarmentFacetCounts: statement-level, ENABLE ALWAYS, so it fires under replica mode
  // too (bumps search_generation, marking the precomputed search counts stale). Nothing to redo.
  garments_search_generation: '',
  garments_search_generation_truncate: '',
};

export interface BulkMode {
  /** Inserts run with session_replication_role = replica (no per-row trigger work). */
  bypassTriggers: boolean;
  /** garments has the split column (migration GarmentSplit): written explicitly in bypass mode. */
  garmentSplitColumn: boolean;
  /** Why the bypass is off, for the run's log. */
  reason: string;
}

export async function probeBulkMode(dataSource: DataSource, allowBypass: boolean): Promise<BulkMode> {
  const [row]: { superuser: boolean; garment_split: boolean; triggers: string[] }[] = await dataSource.query(
    `SELECT current_setting('is_superuser') = 'on' AS superuser,
            EXISTS (SELECT 1 FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = 'garments' AND column_name = 'split')
              AS garment_split,
            ARRAY(SELECT tgname::text FROM pg_trigger
                   WHERE NOT tgisinternal
                     AND tgrelid IN ('images'::regclass, 'image_styles'::regclass,
                                     'garments'::regclass, 'garment_attributes'::regclass)) AS triggers`,
  );
  const unknown = row.triggers.filter((name) => !(name in REPRODUCED_TRIGGERS));
  const reason = !allowBypass
    ? 'per-row checks requested'
    : !row.superuser
      ? 'the database role is not a superuser'
      : unknown.length > 0
        ? `unknown triggers ${unknown.join(', ')}`
        : '';
  return { bypassTriggers: reason === '', garmentSplitColumn: row.garment_split, reason };
}
