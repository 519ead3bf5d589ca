/** A garment card: refetchable by its id (`node`), with its image's fragment. */
import { graphql } from 'relay-runtime';

export const GarmentCard = graphql`
  fragment GarmentCard_garment on Garment @refetchable(queryName: "GarmentCardRefetchQuery") {
    id
    databaseId
    superCategory
    category
    categoryEn
    cropUrl(size: 128)
    image {
      ...ImageThumb_image
    }
  }
`;

export const GarmentNodeQuery = graphql`
  query GarmentNodeQuery($id: ID!) {
    node(id: $id) {
      __typename
      id
      ...GarmentCard_garment @alias
    }
  }
`;
