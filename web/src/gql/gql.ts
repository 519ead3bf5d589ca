/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation StartTraining($input: StartTrainingInput!) {\n    startTraining(input: $input) { id }\n  }\n": typeof types.StartTrainingDocument,
    "\n  query Viewer {\n    viewer { role }\n  }\n": typeof types.ViewerDocument,
    "\n  fragment EditedGarment on Garment {\n    id revision history(first: 1) { edges { node { id } } }\n  }\n": typeof types.EditedGarmentFragmentDoc,
    "\n  mutation UpdateGarment($input: UpdateGarmentInput!) {\n    updateGarment(input: $input) { ...EditedGarment }\n  }\n": typeof types.UpdateGarmentDocument,
    "\n  mutation AddGarment($input: AddGarmentInput!) {\n    addGarment(input: $input) { ...EditedGarment }\n  }\n": typeof types.AddGarmentDocument,
    "\n  mutation DeleteGarment($id: ID!, $revision: Int!) {\n    deleteGarment(id: $id, revision: $revision)\n  }\n": typeof types.DeleteGarmentDocument,
    "\n  mutation AcceptPrediction($id: ID!, $kinds: [AttributeKind!]) {\n    acceptPrediction(input: { id: $id, kinds: $kinds }) { ...EditedGarment }\n  }\n": typeof types.AcceptPredictionDocument,
    "\n  mutation RevertGarmentEdit($id: ID!) {\n    revertGarmentEdit(id: $id) { id }\n  }\n": typeof types.RevertGarmentEditDocument,
    "\n  mutation MarkImageReviewed($id: ID!, $reviewed: Boolean!) {\n    markImageReviewed(id: $id, reviewed: $reviewed) { id reviewedAt }\n  }\n": typeof types.MarkImageReviewedDocument,
    "\n  query Vocabulary($kind: AttributeKind!) {\n    vocabulary(kind: $kind) { value valueEn count }\n  }\n": typeof types.VocabularyDocument,
    "\n  fragment ImageDetail on Image {\n    id externalId fileName width height split url display: thumbnailUrl(size: 1024) reviewedAt\n    styles { style styleEn subStyle subStyleEn }\n    garments {\n      id revision superCategory category categoryEn source score box { x1 y1 x2 y2 } polygon { x y }\n      attributes { kind value valueEn score } modelVersion { id name }\n    }\n  }\n": typeof types.ImageDetailFragmentDoc,
    "\n  query ImageById($id: ID!) {\n    image(id: $id) { ...ImageDetail }\n  }\n": typeof types.ImageByIdDocument,
    "\n  query ImageByExternalId($externalId: String!) {\n    imageByExternalId(externalId: $externalId) { ...ImageDetail }\n  }\n": typeof types.ImageByExternalIdDocument,
    "\n  mutation AnalyzeImage($uploadId: ID, $imageId: ID, $modelVersionId: ID) {\n    analyzeImage(uploadId: $uploadId, imageId: $imageId, modelVersionId: $modelVersionId) { image { id } }\n  }\n": typeof types.AnalyzeImageDocument,
    "\n  fragment TrainingRunSummary on TrainingRun {\n    id databaseId status createdAt startedAt finishedAt error modelVersion { id databaseId name }\n    progress { phase epoch epochs step totalSteps imagesPerSecond etaSeconds skippedImages }\n    params {\n      name backbone model superCategories attributeKinds minValueCount maxImages evalMaxImages epochs batchSize\n      lr momentum weightDecay lrMilestones lrGamma warmupIterations warmupFactor checkpointEvery clipGradNorm seed initWeights\n    }\n  }\n": typeof types.TrainingRunSummaryFragmentDoc,
    "\n  fragment TrainingRunWithMetrics on TrainingRun {\n    ...TrainingRunSummary\n    metrics { epoch step name value }\n  }\n": typeof types.TrainingRunWithMetricsFragmentDoc,
    "\n  query TrainingOverview {\n    trainingRuns(first: 50) { edges { node { ...TrainingRunSummary } } }\n    modelVersions(first: 50) { edges { node { id databaseId name backbone isActive createdAt metrics trainingRun { id } } } }\n  }\n": typeof types.TrainingOverviewDocument,
    "\n  query TrainingRun($id: ID!) {\n    trainingRun(id: $id) { ...TrainingRunWithMetrics }\n  }\n": typeof types.TrainingRunDocument,
    "\n  subscription TrainingRunUpdated($id: ID!) {\n    trainingRunUpdated(id: $id) { ...TrainingRunWithMetrics }\n  }\n": typeof types.TrainingRunUpdatedDocument,
    "\n  mutation CancelTraining($id: ID!) {\n    cancelTraining(id: $id) { id status }\n  }\n": typeof types.CancelTrainingDocument,
    "\n  mutation ActivateModelVersion($id: ID!) {\n    activateModelVersion(id: $id) { id isActive }\n  }\n": typeof types.ActivateModelVersionDocument,
    "\n  query ReviewQueue($where: ImageWhere, $modelVersionId: ID, $order: ReviewOrder!, $seed: Int, $first: Int!, $after: String) {\n    reviewQueue(where: $where, modelVersionId: $modelVersionId, order: $order, seed: $seed, first: $first, after: $after) {\n      pageInfo { hasNextPage endCursor }\n      edges {\n        score\n        reasons { kind score detail attributeKind garment { id superCategory category categoryEn } }\n        node { id externalId width height thumbnail: thumbnailUrl(size: 256) }\n      }\n    }\n  }\n": typeof types.ReviewQueueDocument,
    "\n  fragment GarmentCrop on Garment {\n    id superCategory category categoryEn score box { x1 y1 x2 y2 }\n    crop: cropUrl(size: 192) crop2x: cropUrl(size: 384)\n    image { id externalId } modelVersion { id }\n  }\n": typeof types.GarmentCropFragmentDoc,
    "\n  query SearchResults($where: GarmentWhere!, $first: Int!, $after: String, $withCount: Boolean!) {\n    searchGarments(where: $where, first: $first, after: $after) {\n      totalCount @include(if: $withCount)\n      pageInfo { hasNextPage endCursor }\n      edges { node { ...GarmentCrop } }\n    }\n  }\n": typeof types.SearchResultsDocument,
    "\n  query FacetsAndSlotCounts(\n    $where: GarmentWhere, $kinds: [AttributeKind!]!,\n    $TOP: GarmentWhere!, $BOTTOM: GarmentWhere!, $OUTER: GarmentWhere!, $ONE_PIECE: GarmentWhere!\n  ) {\n    garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }\n    TOP: searchGarments(where: $TOP, first: 1) { totalCount }\n    BOTTOM: searchGarments(where: $BOTTOM, first: 1) { totalCount }\n    OUTER: searchGarments(where: $OUTER, first: 1) { totalCount }\n    ONE_PIECE: searchGarments(where: $ONE_PIECE, first: 1) { totalCount }\n  }\n": typeof types.FacetsAndSlotCountsDocument,
    "\n  query Facets($where: GarmentWhere, $kinds: [AttributeKind!]!) {\n    garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }\n  }\n": typeof types.FacetsDocument,
    "\n  query ModelVersionChoices {\n    modelVersions(first: 100) { edges { node { id databaseId name isActive } } }\n  }\n": typeof types.ModelVersionChoicesDocument,
    "\n  query SimilarGarments(\n    $garmentId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!, $after: String, $withGarment: Boolean!\n  ) {\n    garment(id: $garmentId) @include(if: $withGarment) { ...GarmentCrop }\n    similarGarments(garmentId: $garmentId, modelVersionId: $modelVersionId, where: $where, first: $first, after: $after) {\n      pageInfo { hasNextPage endCursor }\n      edges { similarity node { ...GarmentCrop } }\n    }\n  }\n": typeof types.SimilarGarmentsDocument,
    "\n  query ShopTheLook($imageId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!) {\n    image(id: $imageId) { id externalId fileName }\n    shopTheLook(imageId: $imageId, modelVersionId: $modelVersionId, where: $where, first: $first) {\n      garment { ...GarmentCrop }\n      matches { similarity node { ...GarmentCrop } }\n    }\n  }\n": typeof types.ShopTheLookDocument,
};
const documents: Documents = {
    "\n  mutation StartTraining($input: StartTrainingInput!) {\n    startTraining(input: $input) { id }\n  }\n": types.StartTrainingDocument,
    "\n  query Viewer {\n    viewer { role }\n  }\n": types.ViewerDocument,
    "\n  fragment EditedGarment on Garment {\n    id revision history(first: 1) { edges { node { id } } }\n  }\n": types.EditedGarmentFragmentDoc,
    "\n  mutation UpdateGarment($input: UpdateGarmentInput!) {\n    updateGarment(input: $input) { ...EditedGarment }\n  }\n": types.UpdateGarmentDocument,
    "\n  mutation AddGarment($input: AddGarmentInput!) {\n    addGarment(input: $input) { ...EditedGarment }\n  }\n": types.AddGarmentDocument,
    "\n  mutation DeleteGarment($id: ID!, $revision: Int!) {\n    deleteGarment(id: $id, revision: $revision)\n  }\n": types.DeleteGarmentDocument,
    "\n  mutation AcceptPrediction($id: ID!, $kinds: [AttributeKind!]) {\n    acceptPrediction(input: { id: $id, kinds: $kinds }) { ...EditedGarment }\n  }\n": types.AcceptPredictionDocument,
    "\n  mutation RevertGarmentEdit($id: ID!) {\n    revertGarmentEdit(id: $id) { id }\n  }\n": types.RevertGarmentEditDocument,
    "\n  mutation MarkImageReviewed($id: ID!, $reviewed: Boolean!) {\n    markImageReviewed(id: $id, reviewed: $reviewed) { id reviewedAt }\n  }\n": types.MarkImageReviewedDocument,
    "\n  query Vocabulary($kind: AttributeKind!) {\n    vocabulary(kind: $kind) { value valueEn count }\n  }\n": types.VocabularyDocument,
    "\n  fragment ImageDetail on Image {\n    id externalId fileName width height split url display: thumbnailUrl(size: 1024) reviewedAt\n    styles { style styleEn subStyle subStyleEn }\n    garments {\n      id revision superCategory category categoryEn source score box { x1 y1 x2 y2 } polygon { x y }\n      attributes { kind value valueEn score } modelVersion { id name }\n    }\n  }\n": types.ImageDetailFragmentDoc,
    "\n  query ImageById($id: ID!) {\n    image(id: $id) { ...ImageDetail }\n  }\n": types.ImageByIdDocument,
    "\n  query ImageByExternalId($externalId: String!) {\n    imageByExternalId(externalId: $externalId) { ...ImageDetail }\n  }\n": types.ImageByExternalIdDocument,
    "\n  mutation AnalyzeImage($uploadId: ID, $imageId: ID, $modelVersionId: ID) {\n    analyzeImage(uploadId: $uploadId, imageId: $imageId, modelVersionId: $modelVersionId) { image { id } }\n  }\n": types.AnalyzeImageDocument,
    "\n  fragment TrainingRunSummary on TrainingRun {\n    id databaseId status createdAt startedAt finishedAt error modelVersion { id databaseId name }\n    progress { phase epoch epochs step totalSteps imagesPerSecond etaSeconds skippedImages }\n    params {\n      name backbone model superCategories attributeKinds minValueCount maxImages evalMaxImages epochs batchSize\n      lr momentum weightDecay lrMilestones lrGamma warmupIterations warmupFactor checkpointEvery clipGradNorm seed initWeights\n    }\n  }\n": types.TrainingRunSummaryFragmentDoc,
    "\n  fragment TrainingRunWithMetrics on TrainingRun {\n    ...TrainingRunSummary\n    metrics { epoch step name value }\n  }\n": types.TrainingRunWithMetricsFragmentDoc,
    "\n  query TrainingOverview {\n    trainingRuns(first: 50) { edges { node { ...TrainingRunSummary } } }\n    modelVersions(first: 50) { edges { node { id databaseId name backbone isActive createdAt metrics trainingRun { id } } } }\n  }\n": types.TrainingOverviewDocument,
    "\n  query TrainingRun($id: ID!) {\n    trainingRun(id: $id) { ...TrainingRunWithMetrics }\n  }\n": types.TrainingRunDocument,
    "\n  subscription TrainingRunUpdated($id: ID!) {\n    trainingRunUpdated(id: $id) { ...TrainingRunWithMetrics }\n  }\n": types.TrainingRunUpdatedDocument,
    "\n  mutation CancelTraining($id: ID!) {\n    cancelTraining(id: $id) { id status }\n  }\n": types.CancelTrainingDocument,
    "\n  mutation ActivateModelVersion($id: ID!) {\n    activateModelVersion(id: $id) { id isActive }\n  }\n": types.ActivateModelVersionDocument,
    "\n  query ReviewQueue($where: ImageWhere, $modelVersionId: ID, $order: ReviewOrder!, $seed: Int, $first: Int!, $after: String) {\n    reviewQueue(where: $where, modelVersionId: $modelVersionId, order: $order, seed: $seed, first: $first, after: $after) {\n      pageInfo { hasNextPage endCursor }\n      edges {\n        score\n        reasons { kind score detail attributeKind garment { id superCategory category categoryEn } }\n        node { id externalId width height thumbnail: thumbnailUrl(size: 256) }\n      }\n    }\n  }\n": types.ReviewQueueDocument,
    "\n  fragment GarmentCrop on Garment {\n    id superCategory category categoryEn score box { x1 y1 x2 y2 }\n    crop: cropUrl(size: 192) crop2x: cropUrl(size: 384)\n    image { id externalId } modelVersion { id }\n  }\n": types.GarmentCropFragmentDoc,
    "\n  query SearchResults($where: GarmentWhere!, $first: Int!, $after: String, $withCount: Boolean!) {\n    searchGarments(where: $where, first: $first, after: $after) {\n      totalCount @include(if: $withCount)\n      pageInfo { hasNextPage endCursor }\n      edges { node { ...GarmentCrop } }\n    }\n  }\n": types.SearchResultsDocument,
    "\n  query FacetsAndSlotCounts(\n    $where: GarmentWhere, $kinds: [AttributeKind!]!,\n    $TOP: GarmentWhere!, $BOTTOM: GarmentWhere!, $OUTER: GarmentWhere!, $ONE_PIECE: GarmentWhere!\n  ) {\n    garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }\n    TOP: searchGarments(where: $TOP, first: 1) { totalCount }\n    BOTTOM: searchGarments(where: $BOTTOM, first: 1) { totalCount }\n    OUTER: searchGarments(where: $OUTER, first: 1) { totalCount }\n    ONE_PIECE: searchGarments(where: $ONE_PIECE, first: 1) { totalCount }\n  }\n": types.FacetsAndSlotCountsDocument,
    "\n  query Facets($where: GarmentWhere, $kinds: [AttributeKind!]!) {\n    garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }\n  }\n": types.FacetsDocument,
    "\n  query ModelVersionChoices {\n    modelVersions(first: 100) { edges { node { id databaseId name isActive } } }\n  }\n": types.ModelVersionChoicesDocument,
    "\n  query SimilarGarments(\n    $garmentId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!, $after: String, $withGarment: Boolean!\n  ) {\n    garment(id: $garmentId) @include(if: $withGarment) { ...GarmentCrop }\n    similarGarments(garmentId: $garmentId, modelVersionId: $modelVersionId, where: $where, first: $first, after: $after) {\n      pageInfo { hasNextPage endCursor }\n      edges { similarity node { ...GarmentCrop } }\n    }\n  }\n": types.SimilarGarmentsDocument,
    "\n  query ShopTheLook($imageId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!) {\n    image(id: $imageId) { id externalId fileName }\n    shopTheLook(imageId: $imageId, modelVersionId: $modelVersionId, where: $where, first: $first) {\n      garment { ...GarmentCrop }\n      matches { similarity node { ...GarmentCrop } }\n    }\n  }\n": types.ShopTheLookDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartTraining($input: StartTrainingInput!) {\n    startTraining(input: $input) { id }\n  }\n"): typeof import('./graphql').StartTrainingDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer { role }\n  }\n"): typeof import('./graphql').ViewerDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment EditedGarment on Garment {\n    id revision history(first: 1) { edges { node { id } } }\n  }\n"): typeof import('./graphql').EditedGarmentFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateGarment($input: UpdateGarmentInput!) {\n    updateGarment(input: $input) { ...EditedGarment }\n  }\n"): typeof import('./graphql').UpdateGarmentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddGarment($input: AddGarmentInput!) {\n    addGarment(input: $input) { ...EditedGarment }\n  }\n"): typeof import('./graphql').AddGarmentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteGarment($id: ID!, $revision: Int!) {\n    deleteGarment(id: $id, revision: $revision)\n  }\n"): typeof import('./graphql').DeleteGarmentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AcceptPrediction($id: ID!, $kinds: [AttributeKind!]) {\n    acceptPrediction(input: { id: $id, kinds: $kinds }) { ...EditedGarment }\n  }\n"): typeof import('./graphql').AcceptPredictionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevertGarmentEdit($id: ID!) {\n    revertGarmentEdit(id: $id) { id }\n  }\n"): typeof import('./graphql').RevertGarmentEditDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkImageReviewed($id: ID!, $reviewed: Boolean!) {\n    markImageReviewed(id: $id, reviewed: $reviewed) { id reviewedAt }\n  }\n"): typeof import('./graphql').MarkImageReviewedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Vocabulary($kind: AttributeKind!) {\n    vocabulary(kind: $kind) { value valueEn count }\n  }\n"): typeof import('./graphql').VocabularyDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ImageDetail on Image {\n    id externalId fileName width height split url display: thumbnailUrl(size: 1024) reviewedAt\n    styles { style styleEn subStyle subStyleEn }\n    garments {\n      id revision superCategory category categoryEn source score box { x1 y1 x2 y2 } polygon { x y }\n      attributes { kind value valueEn score } modelVersion { id name }\n    }\n  }\n"): typeof import('./graphql').ImageDetailFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ImageById($id: ID!) {\n    image(id: $id) { ...ImageDetail }\n  }\n"): typeof import('./graphql').ImageByIdDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ImageByExternalId($externalId: String!) {\n    imageByExternalId(externalId: $externalId) { ...ImageDetail }\n  }\n"): typeof import('./graphql').ImageByExternalIdDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AnalyzeImage($uploadId: ID, $imageId: ID, $modelVersionId: ID) {\n    analyzeImage(uploadId: $uploadId, imageId: $imageId, modelVersionId: $modelVersionId) { image { id } }\n  }\n"): typeof import('./graphql').AnalyzeImageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TrainingRunSummary on TrainingRun {\n    id databaseId status createdAt startedAt finishedAt error modelVersion { id databaseId name }\n    progress { phase epoch epochs step totalSteps imagesPerSecond etaSeconds skippedImages }\n    params {\n      name backbone model superCategories attributeKinds minValueCount maxImages evalMaxImages epochs batchSize\n      lr momentum weightDecay lrMilestones lrGamma warmupIterations warmupFactor checkpointEvery clipGradNorm seed initWeights\n    }\n  }\n"): typeof import('./graphql').TrainingRunSummaryFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TrainingRunWithMetrics on TrainingRun {\n    ...TrainingRunSummary\n    metrics { epoch step name value }\n  }\n"): typeof import('./graphql').TrainingRunWithMetricsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TrainingOverview {\n    trainingRuns(first: 50) { edges { node { ...TrainingRunSummary } } }\n    modelVersions(first: 50) { edges { node { id databaseId name backbone isActive createdAt metrics trainingRun { id } } } }\n  }\n"): typeof import('./graphql').TrainingOverviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TrainingRun($id: ID!) {\n    trainingRun(id: $id) { ...TrainingRunWithMetrics }\n  }\n"): typeof import('./graphql').TrainingRunDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TrainingRunUpdated($id: ID!) {\n    trainingRunUpdated(id: $id) { ...TrainingRunWithMetrics }\n  }\n"): typeof import('./graphql').TrainingRunUpdatedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelTraining($id: ID!) {\n    cancelTraining(id: $id) { id status }\n  }\n"): typeof import('./graphql').CancelTrainingDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ActivateModelVersion($id: ID!) {\n    activateModelVersion(id: $id) { id isActive }\n  }\n"): typeof import('./graphql').ActivateModelVersionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ReviewQueue($where: ImageWhere, $modelVersionId: ID, $order: ReviewOrder!, $seed: Int, $first: Int!, $after: String) {\n    reviewQueue(where: $where, modelVersionId: $modelVersionId, order: $order, seed: $seed, first: $first, after: $after) {\n      pageInfo { hasNextPage endCursor }\n      edges {\n        score\n        reasons { kind score detail attributeKind garment { id superCategory category categoryEn } }\n        node { id externalId width height thumbnail: thumbnailUrl(size: 256) }\n      }\n    }\n  }\n"): typeof import('./graphql').ReviewQueueDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment GarmentCrop on Garment {\n    id superCategory category categoryEn score box { x1 y1 x2 y2 }\n    crop: cropUrl(size: 192) crop2x: cropUrl(size: 384)\n    image { id externalId } modelVersion { id }\n  }\n"): typeof import('./graphql').GarmentCropFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SearchResults($where: GarmentWhere!, $first: Int!, $after: String, $withCount: Boolean!) {\n    searchGarments(where: $where, first: $first, after: $after) {\n      totalCount @include(if: $withCount)\n      pageInfo { hasNextPage endCursor }\n      edges { node { ...GarmentCrop } }\n    }\n  }\n"): typeof import('./graphql').SearchResultsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FacetsAndSlotCounts(\n    $where: GarmentWhere, $kinds: [AttributeKind!]!,\n    $TOP: GarmentWhere!, $BOTTOM: GarmentWhere!, $OUTER: GarmentWhere!, $ONE_PIECE: GarmentWhere!\n  ) {\n    garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }\n    TOP: searchGarments(where: $TOP, first: 1) { totalCount }\n    BOTTOM: searchGarments(where: $BOTTOM, first: 1) { totalCount }\n    OUTER: searchGarments(where: $OUTER, first: 1) { totalCount }\n    ONE_PIECE: searchGarments(where: $ONE_PIECE, first: 1) { totalCount }\n  }\n"): typeof import('./graphql').FacetsAndSlotCountsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Facets($where: GarmentWhere, $kinds: [AttributeKind!]!) {\n    garmentFacets(where: $where, kinds: $kinds) { kind values { value valueEn count } }\n  }\n"): typeof import('./graphql').FacetsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ModelVersionChoices {\n    modelVersions(first: 100) { edges { node { id databaseId name isActive } } }\n  }\n"): typeof import('./graphql').ModelVersionChoicesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SimilarGarments(\n    $garmentId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!, $after: String, $withGarment: Boolean!\n  ) {\n    garment(id: $garmentId) @include(if: $withGarment) { ...GarmentCrop }\n    similarGarments(garmentId: $garmentId, modelVersionId: $modelVersionId, where: $where, first: $first, after: $after) {\n      pageInfo { hasNextPage endCursor }\n      edges { similarity node { ...GarmentCrop } }\n    }\n  }\n"): typeof import('./graphql').SimilarGarmentsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ShopTheLook($imageId: ID!, $modelVersionId: ID, $where: GarmentWhere, $first: Int!) {\n    image(id: $imageId) { id externalId fileName }\n    shopTheLook(imageId: $imageId, modelVersionId: $modelVersionId, where: $where, first: $first) {\n      garment { ...GarmentCrop }\n      matches { similarity node { ...GarmentCrop } }\n    }\n  }\n"): typeof import('./graphql').ShopTheLookDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
