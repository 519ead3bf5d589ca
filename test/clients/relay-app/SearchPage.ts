/** A paginated garment search (@connection) filtered by enums, as a Relay app writes it. */
import { graphql } from 'relay-runtime';

export const SearchPageQuery = graphql`
  query SearchPageQuery($where: GarmentWhere!, $first: Int!, $after: String) {
    ...SearchPage_results @arguments(where: $where, first: $first, after: $after)
  }
`;

export const SearchPageResults = graphql`
  fragment SearchPage_results on Query
  @argumentDefinitions(where: { type: "GarmentWhere!" }, first: { type: "Int", defaultValue: 20 }, after: { type: "String" })
  @refetchable(queryName: "SearchPagePaginationQuery") {
    searchGarments(where: $where, first: $first, after: $after) @connection(key: "SearchPage_searchGarments") {
      totalCount
      edges {
        node {
          id
          image {
            id
          }
          ...GarmentCard_garment
        }
      }
    }
  }
`;

export const TopsQuery = graphql`
  query SearchPageTopsQuery {
    searchGarments(where: { superCategory: [TOP], source: ANNOTATION }, first: 5) {
      edges {
        node {
          id
          superCategory
        }
      }
    }
  }
`;

export const RunsQuery = graphql`
  query SearchPageRunsQuery($status: JobStatus) {
    trainingRuns(status: $status, first: 10) {
      totalCount
      edges {
        node {
          id
          status
          progress {
            phase
            step
            totalSteps
          }
        }
      }
    }
  }
`;
