/**
 * Vocabulary ids by (kind, value), cached for the whole import. New values are upserted in one
 * statement per batch, outside the batch's transaction: a vocabulary row nobody uses yet is
 * harmless (count 0), and committing it at once keeps the cache true even if a batch rolls back.
 */
import type { DataSource } from 'typeorm';
import { englishLabel } from '../../kfashion/vocabulary';
import type { AttributeKind, ParsedAnnotation, ParsedGarment } from '../../kfashion/types';

/** The parts of an annotation that name vocabulary terms. */
export type AnnotationTerms = Pick<ParsedAnnotation, 'styles'> & {
  garments: readonly Pick<ParsedGarment, 'category' | 'attributes'>[];
};

export interface VocabularyTerm {
  kind: AttributeKind;
  value: string;
}

/** Every vocabulary term an annotation refers to (category, attribute values, styles). */
export function* termsOf(annotation: AnnotationTerms): Generator<VocabularyTerm> {
  for (const garment of annotation.garments) {
    if (garment.category !== null) yield { kind: 'category', value: garment.category };
    yield* garment.attributes;
  }
  for (const style of annotation.styles) {
    yield { kind: 'style', value: style.style };
    if (style.subStyle !== null) yield { kind: 'subStyle', value: style.subStyle };
  }
}

type VocabularyRow = { id: number; kind: string; value: string };

export class VocabularyIds {
  /** kind → value → id (nested maps: no key strings built per look-up). */
  private readonly ids = new Map<string, Map<string, number>>();

  constructor(private readonly dataSource: DataSource) {}

  private remember(rows: VocabularyRow[]): void {
    for (const row of rows) {
      let values = this.ids.get(row.kind);
      if (!values) this.ids.set(row.kind, (values = new Map<string, number>()));
      values.set(row.value, Number(row.id));
    }
  }

  async load(): Promise<void> {
    this.remember(await this.dataSource.query('SELECT id, kind, value FROM vocabulary'));
  }

  /** Makes sure every term of these annotations has an id (inserting the missing ones with their English labels). */
  async ensure(annotations: Iterable<AnnotationTerms>): Promise<void> {
    const missing = new Map<string, VocabularyTerm>();
    for (const annotation of annotations) {
      for (const term of termsOf(annotation)) {
        if (this.ids.get(term.kind)?.has(term.value)) continue;
        missing.set(`${term.kind}\u0000${term.value}`, term);
      }
    }
    if (missing.size === 0) return;
    const records = [...missing.values()].map((term) => ({
      kind: term.kind,
      value: term.value,
      value_en: englishLabel(term.kind, term.value),
    }));
    // DO UPDATE (not DO NOTHING) so that rows another process inserted meanwhile come back too. DO
    // UPDATE locks the existing rows: in one order for every writer, so concurrent upserts of
    // overlapping terms (predictions stored in parallel) wait for each other instead of deadlocking.
    this.remember(
      await this.dataSource.query(
        `INSERT INTO vocabulary (kind, value, value_en)
         SELECT kind, value, value_en FROM json_to_recordset($1::json) AS t(kind text, value text, value_en text)
         ORDER BY kind, value
         ON CONFLICT (kind, value) DO UPDATE SET value_en = COALESCE(vocabulary.value_en, EXCLUDED.value_en)
         RETURNING id, kind, value`,
        [JSON.stringify(records)],
      ),
    );
  }

  id(kind: AttributeKind, value: string): number {
    const id = this.ids.get(kind)?.get(value);
    if (id === undefined) throw new Error(`vocabulary term ${kind}=${value} was not ensured before use`);
    return id;
  }
}
