/**
 * The search page's requests: one page of results (with the total on the first page), and the
 * facet counts: the unselected kinds under the full filter together with the four garment slots
 * (by totalCount) in one request, and each selected kind under the filter without itself in one
 * request of its own, all at once.
 */
import { FacetValue } from './components/FacetSidebar';
import { fetchGraphQL } from './graphql';
import { graphql } from './gql';
import type { GarmentCropFragment, GarmentWhere, ModelVersionChoicesQuery, SuperCategory } from './gql/graphql';
import { FACET_KINDS, SearchState, SUPER_CATEGORIES, SUPER_CATEGORY_KEY, toGarmentWhere } from './search-state';
import { apiKind, consoleKind } from './attribute-kinds';

export const PAGE_SIZE = 48;

/** What a result card shows of a garment: search results, similar garments and shop-the-look matches alike. */
export type ResultGarment = GarmentCropFragment;

graphql(`
  fragment GarmentCrop on Garment {
    id superCategory category categoryEn score box { x1 y1 x2 y2 }
    crop: cropUrl(size: 192) crop2x: cropUrl(size: 384)
    image { id externalId } modelVersion { id }
  }
`);

export interface ResultPage {
  totalCount: number | null;
  garments: ResultGarment[];
  endCursor: string | null;
  hasNextPage: boolean;
}

const SEARCH_RESULTS = graphql(`
  query SearchResults($where: GarmentWhere!, $first: Int!, $after: String, $withCount: Boolean!) {
    searchGarments(where: $where, first: $first, after: $after) {
      totalCount @include(if: $withCount)
      pageInfo { hasNextPage endCursor }
      edges { node { ...GarmentCrop } }
    }
  }
`);

export async function fetchResults(state: SearchState, after: string | null, signal: AbortSignal): Promise<ResultPage> {
  const data = await fetchGraphQL(
    SEARCH_RESULTS,
    { where: toGarmentWhere(state), first: PAGE_SIZE, after, withCount: after === null },
    signal,
  );
  const connection = data.searchGarments;
  return {
    totalCount: connection.totalCount ?? null,
    garments: connection.edges.map((edge) => edge.node),
    endCursor: connection.pageInfo.endCursor ?? null,
    hasNextPage: connection.pageInfo.hasNextPage,
  };
}

const FACETS_AND_SLOT_COUNTS = graphql(`
  query FacetsAndSlotCounts(
    $where: GarmentWhere, $kinds: [AttributeKind!]!,
    $TOP: GarmentWhere!, $BOTTOM: GarmentWhere!, $OUTER: GarmentWhere!, $ONE_PIECE: GarmentWhere!
  ) {
    garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }
    TOP: searchGarments(where: $TOP, first: 1) { totalCount }
    BOTTOM: searchGarments(where: $BOTTOM, first: 1) { totalCount }
    OUTER: searchGarments(where: $OUTER, first: 1) { totalCount }
    ONE_PIECE: searchGarments(where: $ONE_PIECE, first: 1) { totalCount }
  }
`);

const FACETS = graphql(`
  query Facets($where: GarmentWhere, $kinds: [AttributeKind!]!) {
    garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }
  }
`);

/** Facet counts per kind key for the state. */
export async function fetchFacets(state: SearchState, signal: AbortSignal): Promise<Record<string, FacetValue[]>> {
  const attributeKinds = FACET_KINDS.map((kind) => kind.key).filter((key) => key !== SUPER_CATEGORY_KEY);
  const unselected = attributeKinds.filter((key) => !state.selected[key]?.length);
  const selected = attributeKinds.filter((key) => state.selected[key]?.length);
  const slotWhere = toGarmentWhere(state, SUPER_CATEGORY_KEY);
  const inSlot = (slot: SuperCategory): GarmentWhere => ({ ...slotWhere, superCategory: [slot] });
  const [common, ...own] = await Promise.all([
    fetchGraphQL(
      FACETS_AND_SLOT_COUNTS,
      {
        where: toGarmentWhere(state),
        kinds: unselected.map(apiKind),
        TOP: inSlot('TOP'),
        BOTTOM: inSlot('BOTTOM'),
        OUTER: inSlot('OUTER'),
        ONE_PIECE: inSlot('ONE_PIECE'),
      },
      signal,
    ),
    ...selected.map((key) => fetchGraphQL(FACETS, { where: toGarmentWhere(state, key), kinds: [apiKind(key)] }, signal)),
  ]);

  const facets: Record<string, FacetValue[]> = {};
  for (const facet of [common, ...own].flatMap((data) => data.garmentFacets)) facets[consoleKind(facet.kind)] = facet.values;
  facets[SUPER_CATEGORY_KEY] = SUPER_CATEGORIES.map((slot) => ({
    value: slot.value,
    korean: slot.korean,
    valueEn: slot.english,
    count: common[slot.value].totalCount,
  }));
  return facets;
}

const MODEL_VERSION_CHOICES = graphql(`
  query ModelVersionChoices {
    modelVersions(first: 100) { edges { node { id databaseId name isActive } } }
  }
`);

export type ModelVersionChoice = ModelVersionChoicesQuery['modelVersions']['edges'][number]['node'];

export async function fetchModelVersions(signal?: AbortSignal): Promise<ModelVersionChoice[]> {
  const data = await fetchGraphQL(MODEL_VERSION_CHOICES, {}, signal);
  return data.modelVersions.edges.map((edge) => edge.node);
}
