/**
 * The search page's two requests: one page of results (with the total on the first page) and all
 * facet counts in one request (aliased fields: the unselected kinds under the full filter, each
 * selected kind under the filter without itself, and the four garment slots by totalCount).
 */
import { FacetValue } from './components/FacetSidebar';
import { graphql } from './graphql';
import { FACET_KINDS, SearchState, SUPER_CATEGORIES, SUPER_CATEGORY_KEY, toGarmentWhere } from './search-state';

export const PAGE_SIZE = 48;

export interface ResultGarment {
  id: string;
  superCategory: string;
  category: string | null;
  categoryEn: string | null;
  score: number | null;
  box: { x1: number; y1: number; x2: number; y2: number };
  crop: string;
  crop2x: string;
  image: { id: string; externalId: string | null };
}

export interface ResultPage {
  totalCount: number | null;
  garments: ResultGarment[];
  endCursor: string | null;
  hasNextPage: boolean;
}

const RESULTS_QUERY = `query SearchResults($where: GarmentWhere!, $first: Int!, $after: String, $withCount: Boolean!) {
  searchGarments(where: $where, first: $first, after: $after) {
    totalCount @include(if: $withCount)
    pageInfo { hasNextPage endCursor }
    edges { node {
      id superCategory category categoryEn score box { x1 y1 x2 y2 }
      crop: cropUrl(size: 192) crop2x: cropUrl(size: 384)
      image { id externalId }
    } }
  }
}`;

export async function fetchResults(state: SearchState, after: string | null, signal: AbortSignal): Promise<ResultPage> {
  const data = await graphql<{
    searchGarments: { totalCount?: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: ResultGarment }[] };
  }>(RESULTS_QUERY, { where: toGarmentWhere(state), first: PAGE_SIZE, after, withCount: after === null }, signal);
  const connection = data.searchGarments;
  return {
    totalCount: connection.totalCount ?? null,
    garments: connection.edges.map((edge) => edge.node),
    endCursor: connection.pageInfo.endCursor,
    hasNextPage: connection.pageInfo.hasNextPage,
  };
}

interface FacetField {
  alias: string;
  whereVariable: string;
  where: Record<string, unknown>;
  kinds: string[];
}

/** Facet counts per kind key for the state. */
export async function fetchFacets(state: SearchState, signal: AbortSignal): Promise<Record<string, FacetValue[]>> {
  const attributeKinds = FACET_KINDS.map((kind) => kind.key).filter((key) => key !== SUPER_CATEGORY_KEY);
  const unselected = attributeKinds.filter((key) => !state.selected[key]?.length);
  const selected = attributeKinds.filter((key) => state.selected[key]?.length);
  const fields: FacetField[] = [];
  if (unselected.length) fields.push({ alias: 'common', whereVariable: 'w_common', where: toGarmentWhere(state), kinds: unselected });
  selected.forEach((key, i) => fields.push({ alias: `own${i}`, whereVariable: `w_own${i}`, where: toGarmentWhere(state, key), kinds: [key] }));

  const slotWhere = toGarmentWhere(state, SUPER_CATEGORY_KEY);
  const variables: Record<string, unknown> = {};
  const declarations: string[] = [];
  const selections: string[] = [];
  for (const field of fields) {
    variables[field.whereVariable] = field.where;
    variables[`${field.whereVariable}_kinds`] = field.kinds;
    declarations.push(`$${field.whereVariable}: GarmentWhere`, `$${field.whereVariable}_kinds: [String!]!`);
    selections.push(`${field.alias}: garmentFacets(where: $${field.whereVariable}, kinds: $${field.whereVariable}_kinds) { kind values { value valueEn count } }`);
  }
  for (const slot of SUPER_CATEGORIES) {
    variables[`slot_${slot.value}`] = { ...slotWhere, superCategory: [slot.value] };
    declarations.push(`$slot_${slot.value}: GarmentWhere!`);
    selections.push(`slot_${slot.value}: searchGarments(where: $slot_${slot.value}, first: 1) { totalCount }`);
  }
  const query = `query Facets(${declarations.join(', ')}) {\n  ${selections.join('\n  ')}\n}`;
  const data = await graphql<Record<string, unknown>>(query, variables, signal);

  const facets: Record<string, FacetValue[]> = {};
  for (const field of fields) {
    for (const facet of data[field.alias] as { kind: string; values: FacetValue[] }[]) facets[facet.kind] = facet.values;
  }
  facets[SUPER_CATEGORY_KEY] = SUPER_CATEGORIES.map((slot) => ({
    value: slot.value,
    korean: slot.korean,
    valueEn: slot.english,
    count: (data[`slot_${slot.value}`] as { totalCount: number }).totalCount,
  }));
  return facets;
}

export interface ModelVersionChoice {
  id: string;
  name: string;
  isActive: boolean;
}

export async function fetchModelVersions(signal?: AbortSignal): Promise<ModelVersionChoice[]> {
  const data = await graphql<{ modelVersions: ModelVersionChoice[] }>('{ modelVersions { id name isActive } }', {}, signal);
  return data.modelVersions;
}
