/** An image thumbnail, refetchable by its id. */
import { graphql } from 'relay-runtime';

export const ImageThumb = graphql`
  fragment ImageThumb_image on Image @refetchable(queryName: "ImageThumbRefetchQuery") {
    id
    databaseId
    externalId
    thumbnailUrl(size: 128)
  }
`;
