/**
 * searchGarments and garmentFacets on a synthetic dataset (the real synthesiser and importer),
 * checked against an independent reference: the rows read back with plain SQL from
 * garment_attributes, image_styles and images, and every random filter evaluated in JavaScript.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importDataset } from '../../src/db/import';
import { FacetCounts, MAX_BIT_ID } from '../../src/db/search-counts';
import { SearchService } from '../../src/db/search';
import { synthesize } from '../../src/kfashion/synth';
import { LABELS_BY_KIND } from '../../src/kfashion/vocabulary';
import { AttributeKind, MULTI_VALUED_KINDS } from '../../src/kfashion/types';
import { attributeKindName } from '../../src/graphql/types';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { ApiClient, QueryCounter, startTestServer } from './support';

interface ReferenceGarment {
  id: string;
  superCategory: string;
  split: string;
  /** `kind\u0000value` for every attribute (category included) and the image's style and subStyle. */
  terms: Set<string>;
}

type Filter = Record<string, any>;

let db: TestDatabase;
let api: ApiClient;
let root: string;
let garments: ReferenceGarment[];
const valuesByKind = new Map<string, string[]>();

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-graphql-synth-'));
  await synthesize({ outDir: root, images: 400, seed: 5, withImages: false, validationFraction: 0.3 });
  db = await createPostgresTestDatabase();
  await importDataset(db.dataSource, { root, allowMissingImages: true });
  api = await startTestServer(db.dataSource, { countsRebuildIntervalMs: 0 });
  await api.server.facetCounts!.settled(); // the rebuild started because the counts were never built

  const rows: { id: string; super_category: string; split: string; kind: string; value: string }[] = await db.dataSource.query(
    `SELECT g.id, g.super_category, i.split, v.kind, v.value
       FROM garments g JOIN images i ON i.id = g.image_id
       JOIN garment_attributes ga ON ga.garment_id = g.id JOIN vocabulary v ON v.id = ga.vocabulary_id
     UNION ALL
     SELECT g.id, g.super_category, i.split, v.kind, v.value
       FROM garments g JOIN images i ON i.id = g.image_id
       JOIN image_styles s ON s.image_id = i.id JOIN vocabulary v ON v.id IN (s.style_id, s.sub_style_id)`,
  );
  const byId = new Map<string, ReferenceGarment>();
  for (const row of rows) {
    const id = String(row.id);
    const garment = byId.get(id) ?? { id, superCategory: row.super_category, split: row.split, terms: new Set<string>() };
    garment.terms.add(`${row.kind}\u0000${row.value}`);
    byId.set(id, garment);
    const values = valuesByKind.get(row.kind) ?? [];
    if (!values.includes(row.value)) values.push(row.value);
    valuesByKind.set(row.kind, values);
  }
  garments = [...byId.values()].sort((a, b) => Number(a.id) - Number(b.id));
});

afterAll(async () => {
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** Reference semantics of GarmentWhere, written independently of the SQL compiler. */
function matches(garment: ReferenceGarment, filter: Filter): boolean {
  const has = (kind: string, value: string) => garment.terms.has(`${kind}\u0000${korean(kind, value)}`);
  const anyOf = (kind: string, values?: string[]) => !values || values.some((value) => has(kind, value));
  const allOf = (kind: string, values?: string[]) => !values || values.every((value) => has(kind, value));
  return (
    (!filter.superCategory || filter.superCategory.includes(garment.superCategory)) &&
    (!filter.split || filter.split.toLowerCase() === garment.split) &&
    anyOf('category', filter.category) &&
    anyOf('style', filter.styles) &&
    ['color', 'fit', 'material', 'print', 'sleeveLength'].every((kind) => anyOf(kind, filter[kind])) &&
    (filter.attributes ?? []).every((c: any) => anyOf(c.kind, c.anyOf) && allOf(c.kind, c.allOf)) &&
    (filter.and ?? []).every((sub: Filter) => matches(garment, sub)) &&
    (!filter.or || filter.or.some((sub: Filter) => matches(garment, sub))) &&
    (!filter.not || !matches(garment, filter.not))
  );
}

function korean(kind: string, value: string): string {
  const labels = LABELS_BY_KIND[kind as AttributeKind];
  const entry = Object.entries(labels).find(([, english]) => english === value);
  return entry ? entry[0] : value;
}

/** Random filters over values present in the data, each value in Korean or (when it has one) English. */
function randomFilter(next: () => number, depth = 0): Filter {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const value = (kind: string) => {
    const stored = pick(valuesByKind.get(kind)!);
    const english = LABELS_BY_KIND[kind as AttributeKind][stored];
    return english && next() < 0.5 ? english : stored;
  };
  const values = (kind: string) => Array.from({ length: 1 + Math.floor(next() * 2) }, () => value(kind));
  const parts: (() => Filter)[] = [
    () => ({ superCategory: [pick(['TOP', 'BOTTOM', 'OUTER', 'ONE_PIECE'])] }),
    () => ({ split: pick(['TRAIN', 'VALIDATION']) }),
    () => ({ category: values('category') }),
    () => ({ color: values('color') }),
    () => ({ fit: values('fit') }),
    () => ({ styles: values('style') }),
    () => ({ attributes: [{ kind: 'material', allOf: values('material') }] }),
    () => {
      const kind = pick(['print', 'sleeveLength']);
      return { attributes: [{ kind, anyOf: values(kind) }] };
    },
  ];
  if (depth < 2) {
    parts.push(() => ({ or: [randomFilter(next, depth + 1), randomFilter(next, depth + 1)] }));
    parts.push(() => ({ not: randomFilter(next, depth + 1) }));
    parts.push(() => ({ and: [randomFilter(next, depth + 1)] }));
  }
  const filter: Filter = {};
  const count = 1 + Math.floor(next() * 3);
  for (let i = 0; i < count; i++) {
    const part = pick(parts)();
    for (const [key, val] of Object.entries(part)) {
      filter[key] = key === 'attributes' && filter.attributes ? [...filter.attributes, ...val] : val;
    }
  }
  return filter;
}

/** The filter as the API takes it: attribute kinds by their enum names (`sleeveLength`: SLEEVE_LENGTH). */
function apiWhere(where: Filter): Filter {
  const { attributes, and, or, not, ...conditions } = where as any;
  return {
    ...conditions,
    ...(attributes ? { attributes: attributes.map((condition: any) => ({ ...condition, kind: attributeKindName(condition.kind) })) } : {}),
    ...(and ? { and: and.map(apiWhere) } : {}),
    ...(or ? { or: or.map(apiWhere) } : {}),
    ...(not ? { not: apiWhere(not) } : {}),
  };
}

async function searchAll(where: Filter): Promise<{ ids: string[]; totalCount: number }> {
  const ids: string[] = [];
  let after: string | null = null;
  let totalCount = -1;
  for (;;) {
    const data: any = await api.data(
      `query($where: GarmentWhere!, $after: String) { searchGarments(where: $where, first: 100, after: $after) {
         totalCount edges { node { databaseId } } pageInfo { hasNextPage endCursor } } }`,
      { where: apiWhere(where), after },
    );
    totalCount = data.searchGarments.totalCount;
    ids.push(...data.searchGarments.edges.map((edge: any) => edge.node.databaseId));
    if (!data.searchGarments.pageInfo.hasNextPage) return { ids, totalCount };
    after = data.searchGarments.pageInfo.endCursor;
  }
}

it('imports a dataset large enough to exercise the search', () => {
  expect(garments.length).toBeGreaterThan(600);
  expect(new Set(garments.map((g) => g.split))).toEqual(new Set(['train', 'validation']));
  expect(MULTI_VALUED_KINDS.has('material')).toBe(true);
});

it('finds exactly the garments the reference finds, for 60 random filters', async () => {
  const next = seeded(42);
  let nonEmpty = 0;
  for (let i = 0; i < 60; i++) {
    const where = randomFilter(next);
    const expected = garments.filter((garment) => matches(garment, where)).map((garment) => garment.id);
    const { ids, totalCount } = await searchAll(where);
    expect({ where, ids }).toEqual({ where, ids: expected });
    expect(totalCount).toBe(expected.length);
    if (expected.length > 0) nonEmpty++;
  }
  expect(nonEmpty).toBeGreaterThan(30);
});

it('counts facet values among the matches as the reference does, for 15 random filters', async () => {
  const next = seeded(7);
  const kinds: AttributeKind[] = ['color', 'material', 'style', 'category'];
  for (let i = 0; i < 15; i++) {
    const where = i === 0 ? {} : randomFilter(next);
    const matching = garments.filter((garment) => matches(garment, where));
    const expected: string[] = [];
    for (const kind of kinds) {
      for (const value of valuesByKind.get(kind)!) {
        const count = matching.filter((garment) => garment.terms.has(`${kind}\u0000${value}`)).length;
        if (count > 0) expected.push(`${attributeKindName(kind)}:${value}=${count}`);
      }
    }
    const { garmentFacets } = await api.data(
      `query($where: GarmentWhere, $kinds: [AttributeKind!]!) { garmentFacets(where: $where, kinds: $kinds) { kind values { value count } } }`,
      { where: apiWhere(where), kinds: kinds.map(attributeKindName) },
    );
    const actual = garmentFacets.flatMap((facet: any) => facet.values.map((v: any) => `${facet.kind}:${v.value}=${v.count}`));
    expect({ where, facets: actual.sort() }).toEqual({ where, facets: expected.sort() });
  }
});

describe('precomputed counts for broad filters', () => {
  const FACETS = `query($where: GarmentWhere!, $kinds: [AttributeKind!]!) {
    garmentFacets(where: $where, kinds: $kinds) { kind values { value count } }
    searchGarments(where: $where, first: 1) { totalCount } }`;
  const kinds: AttributeKind[] = ['color', 'category', 'style'];
  const simpleFilters = (): Filter[] => [
    {},
    { category: [valuesByKind.get('category')![0]] },
    { split: 'VALIDATION', color: [valuesByKind.get('color')![1]] },
    { superCategory: ['TOP'], source: 'ANNOTATION', styles: [valuesByKind.get('style')![0]] },
    { attributes: [{ kind: 'material', allOf: [valuesByKind.get('material')![0]] }], split: 'TRAIN' },
  ];

  async function facetsAndCount(where: Filter) {
    const data = await api.data(FACETS, { where: apiWhere(where), kinds: kinds.map(attributeKindName) });
    const facets = data.garmentFacets.flatMap((facet: any) => facet.values.map((v: any) => `${facet.kind}:${v.value}=${v.count}`));
    return { facets: facets.sort(), totalCount: data.searchGarments.totalCount };
  }

  function reference(where: Filter) {
    const matching = garments.filter((garment) => matches(garment, where));
    const facets: string[] = [];
    for (const kind of kinds) {
      for (const value of valuesByKind.get(kind)!) {
        const count = matching.filter((garment) => garment.terms.has(`${kind}\u0000${value}`)).length;
        if (count > 0) facets.push(`${attributeKindName(kind)}:${value}=${count}`);
      }
    }
    return { facets: facets.sort(), totalCount: matching.length };
  }

  /** The live facet (unnest of every match) and live count statements; the page query is not one of them. */
  const liveStatements = (statements: string[]) =>
    statements.filter((sql) => /unnest\(g\.search_terms\)|SELECT count\(\*\)::int AS n FROM garments/.test(sql));

  it('answers simple filters from the counts, exactly, without scanning garments', async () => {
    const counts = api.server.facetCounts!;
    expect(await counts.isFresh()).toBe(true);
    const counter = new QueryCounter(db.dataSource);
    try {
      for (const where of simpleFilters()) {
        expect({ where, ...(await facetsAndCount(where)) }).toEqual({ where, ...reference(where) });
      }
      expect(liveStatements(counter.statements)).toEqual([]);
    } finally {
      counter.detach();
    }
  });

  it('bounds the matches of a set of terms from above by its rarest pair (the plan hint)', async () => {
    const counts = api.server.facetCounts!;
    const index = await db.dataSource.query(`SELECT id, kind, value FROM vocabulary`);
    const idOf = (kind: string, value: string) => index.find((row: any) => row.kind === kind && row.value === value).id;
    const next = seeded(3);
    for (let i = 0; i < 20; i++) {
      const picks = ['category', 'color', 'style'].slice(0, 1 + (i % 3)).map((kind) => {
        const values = valuesByKind.get(kind)!;
        return { kind, value: values[Math.floor(next() * values.length)] };
      });
      const carrying = garments.filter((garment) => picks.every((p) => garment.terms.has(`${p.kind}\u0000${p.value}`)));
      const bound = await counts.upperBound(picks.map((p) => idOf(p.kind, p.value)));
      expect(bound).toBeGreaterThanOrEqual(carrying.length);
      if (picks.length <= 2) expect(bound).toBe(carrying.length); // one pair: the bound is the count
    }
  });

  /** Statements that read garments by the filter itself (live page or count), not by the ids the term bits gave. */
  const filterScans = (statements: string[]) => statements.filter((sql) => /FROM garments g\b/.test(sql) && !/g\.id = ANY\(/.test(sql));
  const termOnlyFilters = (): Filter[] => {
    const first = (kind: string, i = 0) => valuesByKind.get(kind)![i];
    return [
      { category: [first('category')], color: [first('color')], fit: [first('fit')] },
      { category: [first('category', 1), first('category', 2)], styles: [first('style')] },
      { color: [first('color', 1)], attributes: [{ kind: 'material', allOf: [first('material'), first('material', 1)] }] },
      {
        attributes: [
          { kind: 'print', anyOf: [first('print')] },
          { kind: 'sleeveLength', anyOf: [first('sleeveLength'), first('sleeveLength', 1)] },
        ],
      },
      { category: [first('category')], color: [first('color')], print: [first('print', 1)], styles: [first('style', 1)] },
    ];
  };
  const expectReferenceResults = async (filters: Filter[]) => {
    for (const where of filters) {
      const expected = garments.filter((garment) => matches(garment, where)).map((garment) => garment.id);
      expect({ where, ...(await searchAll(where)) }).toEqual({ where, ids: expected, totalCount: expected.length });
    }
  };

  it('answers term-only filters (pages and totalCount) from the term bits; live again while they are stale', async () => {
    const counts = api.server.facetCounts!;
    expect(await counts.isFresh()).toBe(true);
    const counter = new QueryCounter(db.dataSource);
    try {
      await expectReferenceResults(termOnlyFilters());
      expect(filterScans(counter.statements)).toEqual([]);
      expect(counter.statements.some((sql) => sql.includes('garment_term_bits'))).toBe(true);

      const removed = garments.pop()!;
      await db.dataSource.query(`DELETE FROM garments WHERE id = $1`, [removed.id]);
      expect(await counts.isFresh()).toBe(false);
      counter.statements.length = 0;
      await expectReferenceResults(termOnlyFilters());
      expect(filterScans(counter.statements).length).toBeGreaterThan(0);

      await counts.settled(); // the stale read asked for a rebuild
      expect(await counts.isFresh()).toBe(true);
      counter.statements.length = 0;
      await expectReferenceResults(termOnlyFilters());
      expect(filterScans(counter.statements)).toEqual([]);
    } finally {
      counter.detach();
    }
  });

  it('pages term-only filters across several windows of the bits when each window is small', async () => {
    const counts = new FacetCounts(db.dataSource, 60_000, () => {}, 8);
    expect(await counts.isFresh()).toBe(true);
    const search = new SearchService(db.dataSource, undefined, counts);
    const windows = new QueryCounter(db.dataSource);
    try {
      for (const where of termOnlyFilters()) {
        const expected = garments.filter((garment) => matches(garment, where)).map((garment) => garment.id);
        const ids: string[] = [];
        for (let after: string | null = null; ;) {
          const page = await search.searchGarments(where, { first: 7, afterId: after, withCount: true });
          expect(await page.count()).toBe(expected.length);
          ids.push(...page.rows.map((row) => String(row.id)));
          if (!page.hasNextPage) break;
          after = String(page.rows[page.rows.length - 1].id);
        }
        expect({ where, ids }).toEqual({ where, ids: expected });
      }
      expect(filterScans(windows.statements)).toEqual([]);
      // More window reads than pages: the small windows made pages read several.
      const reads = windows.statements.filter((sql) => sql.includes('garment_term_bits')).length;
      const pages = windows.statements.filter((sql) => /g\.id = ANY\(/.test(sql)).length;
      expect(reads).toBeGreaterThan(pages);
    } finally {
      windows.detach();
    }
  });

  it('falls back to live counting as soon as garments change, then rebuilds in the background', async () => {
    const counts = api.server.facetCounts!;
    const [copy] = await db.dataSource.query(
      `INSERT INTO garments (image_id, super_category, category_id, x1, y1, x2, y2, search_terms)
       SELECT image_id, super_category, category_id, x1, y1, x2, y2, search_terms FROM garments ORDER BY id LIMIT 1
       RETURNING id, image_id`,
    );
    const [source] = await db.dataSource.query(`SELECT id FROM garments WHERE image_id = $1 ORDER BY id LIMIT 1`, [copy.image_id]);
    const original = garments.find((garment) => garment.id === String(source.id))!;
    garments.push({ ...original, id: String(copy.id) });
    expect(await counts.isFresh()).toBe(false);
    const counter = new QueryCounter(db.dataSource);
    try {
      for (const where of simpleFilters().slice(0, 3)) {
        expect({ where, ...(await facetsAndCount(where)) }).toEqual({ where, ...reference(where) });
      }
      expect(liveStatements(counter.statements).length).toBeGreaterThan(0);
      await counts.settled(); // the stale read asked for a rebuild
      expect(await counts.isFresh()).toBe(true);
      counter.statements.length = 0;
      for (const where of simpleFilters()) {
        expect({ where, ...(await facetsAndCount(where)) }).toEqual({ where, ...reference(where) });
      }
      expect(liveStatements(counter.statements)).toEqual([]);
    } finally {
      counter.detach();
    }
  });
  it('counts live, without rebuilding again and again, when garment ids are too large for the bits', async () => {
    const counts = api.server.facetCounts!;
    const [copy] = await db.dataSource.query(
      `INSERT INTO garments (id, image_id, super_category, category_id, x1, y1, x2, y2, search_terms)
       SELECT $1, image_id, super_category, category_id, x1, y1, x2, y2, search_terms FROM garments ORDER BY id LIMIT 1
       RETURNING id, image_id`,
      [MAX_BIT_ID + 1],
    );
    try {
      const [source] = await db.dataSource.query(`SELECT id FROM garments WHERE image_id = $1 ORDER BY id LIMIT 1`, [copy.image_id]);
      garments.push({ ...garments.find((garment) => garment.id === String(source.id))!, id: String(copy.id) });
      await counts.rebuild();
      expect(await counts.isFresh()).toBe(true);
      const [before] = await db.dataSource.query(`SELECT refreshed_at FROM garment_facet_counts_state`);
      const counter = new QueryCounter(db.dataSource);
      try {
        await expectReferenceResults(termOnlyFilters());
        expect(filterScans(counter.statements).length).toBeGreaterThan(0);
      } finally {
        counter.detach();
      }
      await counts.settled();
      const [after] = await db.dataSource.query(`SELECT refreshed_at FROM garment_facet_counts_state`);
      expect(after.refreshed_at).toEqual(before.refreshed_at);
    } finally {
      await db.dataSource.query(`DELETE FROM garments WHERE id = $1`, [copy.id]);
      garments.pop();
    }
  });
});
