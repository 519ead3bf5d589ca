/**
 * The requests of "More like this" and shop-the-look: a page of a garment's nearest garments by
 * appearance (the asked garment itself with the first page), and for every garment of a photo its
 * nearest catalogue garments.
 */
import { fetchGraphQL } from './graphql';
import { graphql } from './gql';
import type { GarmentWhere } from './gql/graphql';
import { GridGarment } from './components/ResultGrid';
import { ResultGarment } from './search-api';
import { similarWhere, SimilarState } from './similar-state';

export const SIMILAR_PAGE_SIZE = 24;
/** Matches shown per garment of an analysed photo. */
export const LOOK_MATCHES = 6;

const SIMILAR_GARMENTS = graphql(`
  query SimilarGarments(
    $garmentId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!, $after: String, $withGarment: Boolean!
  ) {
    garment(id: $garmentId) @include(if: $withGarment) { ...GarmentCrop }
    similarGarments(garmentId: $garmentId, modelVersionId: $modelVersionId, where: $where, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { similarity node { ...GarmentCrop } }
    }
  }
`);

export interface SimilarPage {
  /** The garment asked about (first page only); null when no garment has that id. */
  garment?: ResultGarment | null;
  garments: GridGarment[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export async function fetchSimilar(state: SimilarState, after: string | null, signal: AbortSignal): Promise<SimilarPage> {
  const data = await fetchGraphQL(
    SIMILAR_GARMENTS,
    {
      garmentId: state.garmentId,
      modelVersionId: state.modelVersionId,
      where: similarWhere(state),
      first: SIMILAR_PAGE_SIZE,
      after,
      withGarment: after === null,
    },
    signal,
  );
  const connection = data.similarGarments;
  return {
    ...(after === null ? { garment: data.garment ?? null } : {}),
    garments: connection.edges.map((edge) => ({ ...edge.node, similarity: edge.similarity })),
    endCursor: connection.pageInfo.endCursor ?? null,
    hasNextPage: connection.pageInfo.hasNextPage,
  };
}

const SHOP_THE_LOOK = graphql(`
  query ShopTheLook($imageId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!) {
    image(id: $imageId) { id externalId fileName }
    shopTheLook(imageId: $imageId, modelVersionId: $modelVersionId, where: $where, first: $first) {
      garment { ...GarmentCrop }
      matches { similarity node { ...GarmentCrop } }
    }
  }
`);

export interface LookGarment {
  garment: ResultGarment;
  matches: GridGarment[];
}

export interface Look {
  image: { id: string; externalId?: string | null; fileName: string } | null;
  garments: LookGarment[];
}

/** The catalogue a photo's garments are matched against: the annotated garments. */
export const CATALOGUE: GarmentWhere = { source: 'ANNOTATION' };

export async function fetchLook(imageId: string, modelVersionId: string | null, signal: AbortSignal): Promise<Look> {
  const data = await fetchGraphQL(SHOP_THE_LOOK, { imageId, modelVersionId, where: CATALOGUE, first: LOOK_MATCHES }, signal);
  return {
    image: data.image ?? null,
    garments: data.shopTheLook.map((look) => ({
      garment: look.garment,
      matches: look.matches.map((edge) => ({ ...edge.node, similarity: edge.similarity })),
    })),
  };
}
