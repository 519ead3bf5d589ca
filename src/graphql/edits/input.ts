/**
 * Checks of the edit mutations' input that need no garment: ids, revisions, the attribute kinds and
 * how many values each takes, and vocabulary values resolved as search resolves them (Korean as
 * stored or the English label; a value neither published nor in this database is refused). Every
 * refusal names its field (`input.attributes[1].values[0]`). Boxes and polygons are checked
 * against the image by src/db/garment-edits.ts, which reads its size in the edit's transaction.
 */
import { GARMENT_ATTRIBUTE_KINDS, MULTI_VALUED_KINDS, type GarmentAttributeKind } from '../../kfashion/types';
import { InvalidSearchInput, ValueResolver, type ValueRef } from '../../db/search-filter';
import type { VocabularyCache } from '../../db/search-vocabulary';
import type { KindValues } from '../../db/garment-edits';
import { attributeKindName, type AttributeKind } from '../types';
import type { AttributeValuesInput } from './types';

/** Most values one multi-valued kind may be given (K-Fashion garments carry a handful). */
export const MAX_VALUES_PER_KIND = 20;

/** Kinds an edit sets through `attributes`: the garment kinds but the category, which has its own field. */
const EDITABLE_KINDS: ReadonlySet<string> = new Set(GARMENT_ATTRIBUTE_KINDS.filter((kind) => kind !== 'category'));

export function editableKind(field: string, kind: AttributeKind): GarmentAttributeKind {
  if (!EDITABLE_KINDS.has(kind)) {
    const reason =
      kind === 'category'
        ? 'the category is set through the category field'
        : `${attributeKindName(kind)} is a kind of the image, not of a garment`;
    throw new InvalidSearchInput(field, reason);
  }
  return kind as GarmentAttributeKind;
}

/** A revision as garments carry them: a whole number from 1. */
export function checkRevision(field: string, revision: number): number {
  if (!Number.isInteger(revision) || revision < 1)
    throw new InvalidSearchInput(field, `must be a revision (a whole number from 1), got ${revision}`);
  return revision;
}

export interface EditValues {
  category: string | null;
  attributes: KindValues[] | null;
}

/** The category and attribute values of an edit, as stored (Korean), every one checked against the vocabulary. */
export async function resolveEditValues(
  vocabulary: VocabularyCache,
  input: { category?: string | null; attributes?: readonly AttributeValuesInput[] | null },
): Promise<EditValues> {
  const refs: ValueRef[] = [];
  if (input.category !== undefined && input.category !== null)
    refs.push({ field: 'input.category', kind: 'category', input: input.category });
  const seen = new Set<string>();
  const kinds = (input.attributes ?? []).map((entry, i) => {
    const at = `input.attributes[${i}]`;
    const kind = editableKind(`${at}.kind`, entry.kind);
    if (seen.has(kind)) throw new InvalidSearchInput(`${at}.kind`, `${attributeKindName(kind)} is given twice`);
    seen.add(kind);
    const most = MULTI_VALUED_KINDS.has(kind) ? MAX_VALUES_PER_KIND : 1;
    if (entry.values.length > most) {
      throw new InvalidSearchInput(
        `${at}.values`,
        `${attributeKindName(kind)} takes at most ${most} value${most === 1 ? '' : 's'} per garment`,
      );
    }
    entry.values.forEach((value, j) => {
      if (value.trim() === '') throw new InvalidSearchInput(`${at}.values[${j}]`, 'must not be empty');
      refs.push({ field: `${at}.values[${j}]`, kind, input: value });
    });
    return kind;
  });
  if (input.category !== undefined && input.category !== null && input.category.trim() === '') {
    throw new InvalidSearchInput('input.category', 'must not be empty');
  }
  const resolver = await ValueResolver.create(vocabulary, refs);
  const stored = (field: string) => resolver.storedValue(refs.find((ref) => ref.field === field)!);
  return {
    category: input.category === undefined || input.category === null ? null : stored('input.category'),
    attributes:
      input.attributes == null
        ? null
        : input.attributes.map((entry, i) => ({
            kind: kinds[i],
            values: entry.values.map((_, j) => stored(`input.attributes[${i}].values[${j}]`)),
          })),
  };
}
