/**
 * The vocabulary as search reads it: a process-wide snapshot of (kind, value) → id, refreshed when
 * stale or when a filter names a value the snapshot lacks (an import may just have added it).
 */
import type { DataSource } from 'typeorm';

interface VocabularyRow {
  id: number;
  kind: string;
  value: string;
  value_en: string | null;
}

/** Snapshot of the vocabulary table: (kind, value) → id. Small (hundreds of rows). */
export class VocabularyIndex {
  private readonly ids = new Map<string, number>();
  private readonly byKind = new Map<string, number[]>();
  private readonly rows = new Map<number, VocabularyRow>();
  /** The highest id in the snapshot: rows are only ever added, so a higher one in the table means new values. */
  readonly maxId: number;

  constructor(rows: readonly VocabularyRow[]) {
    this.maxId = rows.reduce((max, row) => Math.max(max, Number(row.id)), 0);
    for (const row of rows) {
      this.rows.set(row.id, row);
      this.ids.set(`${row.kind}\u0000${row.value}`, row.id);
      const list = this.byKind.get(row.kind) ?? [];
      list.push(row.id);
      this.byKind.set(row.kind, list);
    }
  }

  idOf(kind: string, value: string): number | undefined {
    return this.ids.get(`${kind}\u0000${value}`);
  }

  idsOfKind(kind: string): readonly number[] {
    return this.byKind.get(kind) ?? [];
  }

  entry(id: number): VocabularyRow | undefined {
    return this.rows.get(id);
  }
}

/**
 * Process-wide vocabulary snapshot, refreshed when older than `maxAgeMs`, or sooner when a filter
 * names a value the snapshot lacks (an import may just have added it).
 */
export class VocabularyCache {
  private snapshot?: { index: VocabularyIndex; loadedAt: number };
  private loading?: Promise<VocabularyIndex>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly maxAgeMs = 30_000,
    private readonly minReloadMs = 200,
  ) {}

  async get(): Promise<VocabularyIndex> {
    if (this.snapshot && Date.now() - this.snapshot.loadedAt < this.maxAgeMs) return this.snapshot.index;
    return this.reload();
  }

  /**
   * A fresher snapshot. One loaded moments ago is kept unless the table has gained rows since (one
   * index probe instead of a reload), so a burst of unknown values costs little, yet a value an
   * import added just after the last load is found.
   */
  async refreshed(): Promise<VocabularyIndex> {
    if (this.snapshot && Date.now() - this.snapshot.loadedAt < this.minReloadMs) {
      const [{ max_id }] = await this.dataSource.query<{ max_id: string | null }[]>(`SELECT max(id) AS max_id FROM vocabulary`);
      if (Number(max_id ?? 0) <= this.snapshot.index.maxId) return this.snapshot.index;
    }
    return this.reload();
  }

  private reload(): Promise<VocabularyIndex> {
    this.loading ??= this.dataSource
      .query(`SELECT id, kind, value, value_en FROM vocabulary`)
      .then((rows: VocabularyRow[]) => {
        const index = new VocabularyIndex(rows);
        this.snapshot = { index, loadedAt: Date.now() };
        return index;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}

// ---------------------------------------------------------------------------------------------
// Compiling a filter
