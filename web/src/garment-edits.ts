/**
 * The image page's writes (issue 23's mutations, for tokens with the editor role) and what they
 * need to read: the caller's role, the vocabulary of a kind, and how a stale revision is reported.
 * Each write answers the id of the edit it recorded, which undo reverts.
 */
import { fetchGraphQL, GraphQLRequestError } from './graphql';
import { graphql } from './gql';
import type { ApiRole, AttributeKind, AttributeValuesInput, BoxInput, VocabularyQuery } from './gql/graphql';

const VIEWER = graphql(`
  query Viewer {
    viewer { role }
  }
`);

/** The garment's newest edit is the one a write just made: history lists the newest first. */
graphql(`
  fragment EditedGarment on Garment {
    id revision history(first: 1) { edges { node { id } } }
  }
`);

const UPDATE_GARMENT = graphql(`
  mutation UpdateGarment($input: UpdateGarmentInput!) {
    updateGarment(input: $input) { ...EditedGarment }
  }
`);

const ADD_GARMENT = graphql(`
  mutation AddGarment($input: AddGarmentInput!) {
    addGarment(input: $input) { ...EditedGarment }
  }
`);

const DELETE_GARMENT = graphql(`
  mutation DeleteGarment($id: ID!, $revision: Int!) {
    deleteGarment(id: $id, revision: $revision)
  }
`);

const ACCEPT_PREDICTION = graphql(`
  mutation AcceptPrediction($id: ID!, $kinds: [AttributeKind!]) {
    acceptPrediction(input: { id: $id, kinds: $kinds }) { ...EditedGarment }
  }
`);

const REVERT_EDIT = graphql(`
  mutation RevertGarmentEdit($id: ID!) {
    revertGarmentEdit(id: $id) { id }
  }
`);

const MARK_REVIEWED = graphql(`
  mutation MarkImageReviewed($id: ID!, $reviewed: Boolean!) {
    markImageReviewed(id: $id, reviewed: $reviewed) { id reviewedAt }
  }
`);

const VOCABULARY = graphql(`
  query Vocabulary($kind: AttributeKind!) {
    vocabulary(kind: $kind) { value valueEn count }
  }
`);

export type VocabularyValue = VocabularyQuery['vocabulary'][number];

/** Roles that may edit garments and review images (src/auth/roles.ts: editor and above). */
const EDITING_ROLES: readonly ApiRole[] = ['EDITOR', 'ADMIN'];

let viewerRole: Promise<ApiRole | null> | undefined;

/** The role of the console's token, asked once per page load; null without a token or when asking fails. */
export function fetchViewerRole(): Promise<ApiRole | null> {
  viewerRole ??= fetchGraphQL(VIEWER, {}).then(
    (data) => data.viewer.role ?? null,
    () => null,
  );
  return viewerRole;
}

export function canEdit(role: ApiRole | null): boolean {
  return role !== null && EDITING_ROLES.includes(role);
}

const vocabularies = new Map<AttributeKind, Promise<VocabularyValue[]>>();

/** Known values of one kind, most frequent first, asked once per page load. */
export function fetchVocabulary(kind: AttributeKind): Promise<VocabularyValue[]> {
  let values = vocabularies.get(kind);
  if (!values) {
    values = fetchGraphQL(VOCABULARY, { kind }).then((data) => data.vocabulary);
    values.catch(() => vocabularies.delete(kind));
    vocabularies.set(kind, values);
  }
  return values;
}

/** What a write did: the garment it left (null once deleted) and the edit undo would revert. */
export interface EditResult {
  garmentId: string | null;
  editId: string | null;
}

function edited(garment: { id: string; history: { edges: { node: { id: string } }[] } }): EditResult {
  return { garmentId: garment.id, editId: garment.history.edges[0]?.node.id ?? null };
}

export interface GarmentChange {
  box?: BoxInput;
  category?: string;
  attributes?: AttributeValuesInput[];
}

export async function updateGarment(id: string, revision: number, change: GarmentChange): Promise<EditResult> {
  return edited((await fetchGraphQL(UPDATE_GARMENT, { input: { id, revision, ...change } })).updateGarment);
}

export async function addGarment(imageId: string, category: string, box: BoxInput): Promise<EditResult> {
  return edited((await fetchGraphQL(ADD_GARMENT, { input: { imageId, category, box } })).addGarment);
}

/** deleteGarment answers only the garment's id, so a delete leaves no edit id to undo. */
export async function deleteGarment(id: string, revision: number): Promise<EditResult> {
  await fetchGraphQL(DELETE_GARMENT, { id, revision });
  return { garmentId: null, editId: null };
}

export async function acceptPrediction(id: string): Promise<EditResult> {
  return edited((await fetchGraphQL(ACCEPT_PREDICTION, { id, kinds: null })).acceptPrediction);
}

export async function revertEdit(editId: string): Promise<void> {
  await fetchGraphQL(REVERT_EDIT, { id: editId });
}

export async function markImageReviewed(id: string, reviewed: boolean): Promise<void> {
  await fetchGraphQL(MARK_REVIEWED, { id, reviewed });
}

/** The garment's current revision when `error` is the API's EDIT_CONFLICT refusal, else null. */
export function conflictRevision(error: unknown): number | null {
  if (!(error instanceof GraphQLRequestError)) return null;
  const conflict = error.errors.find((entry) => entry.extensions?.code === 'EDIT_CONFLICT');
  if (!conflict) return null;
  const current = conflict.extensions?.currentRevision;
  return typeof current === 'number' ? current : -1;
}
