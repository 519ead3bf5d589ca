/**
 * Vocabulary ids by (kind, value), cached for the whole import. New values are upserted in one
 * statement per batch, outside the batch's transaction: a vocabulary row nobody uses yet is
 * harmless (count 0), and committing it at once keeps the cache true even if a batch rolls back.
 */
import type { DataSource } from 'typeorm';
import { englishLabel } from '../../kfashion/vocabulary';
import type { AttributeKind } from '../../kfashion/types';

export interface VocabularyTerm {
  kind: AttributeKind;
  value: string;
}

function keyOf(kind: string, value: string): string {
  return `${kind}\u0000${value}`;
}

export class VocabularyCache {
  private readonly ids = new Map<string, number>();

  constructor(private readonly dataSource: DataSource) {}

  async load(): Promise<void> {
    const rows: { id: number; kind: string; value: string }[] = await this.dataSource.query(
      'SELECT id, kind, value FROM vocabulary',
    );
    for (const row of rows) this.ids.set(keyOf(row.kind, row.value), Number(row.id));
  }

  /** Makes sure every term has an id (inserting the missing ones with their English labels). */
  async ensure(terms: Iterable<VocabularyTerm>): Promise<void> {
    const missing = new Map<string, VocabularyTerm>();
    for (const term of terms) {
      const key = keyOf(term.kind, term.value);
      if (!this.ids.has(key)) missing.set(key, term);
    }
    if (missing.size === 0) return;
    const records = [...missing.values()].map((term) => ({
      kind: term.kind,
      value: term.value,
      value_en: englishLabel(term.kind, term.value),
    }));
    // DO UPDATE (not DO NOTHING) so that rows another process inserted meanwhile come back too.
    const rows: { id: number; kind: string; value: string }[] = await this.dataSource.query(
      `INSERT INTO vocabulary (kind, value, value_en)
       SELECT kind, value, value_en FROM json_to_recordset($1::json) AS t(kind text, value text, value_en text)
       ON CONFLICT (kind, value) DO UPDATE SET value_en = COALESCE(vocabulary.value_en, EXCLUDED.value_en)
       RETURNING id, kind, value`,
      [JSON.stringify(records)],
    );
    for (const row of rows) this.ids.set(keyOf(row.kind, row.value), Number(row.id));
  }

  id(kind: AttributeKind, value: string): number {
    const id = this.ids.get(keyOf(kind, value));
    if (id === undefined) throw new Error(`vocabulary term ${kind}=${value} was not ensured before use`);
    return id;
  }
}
