/**
 * Relay connection helpers: opaque keyset cursors and page-size checks. A cursor encodes the
 * connection it belongs to and the last row's id, so pages are `id > last` range scans (no
 * OFFSET) and a cursor from one connection is refused by another.
 */
import { GraphQLResolveInfo, Kind, SelectionNode } from 'graphql';
import { InvalidSearchInput } from '../db/search-filter';
import { InvalidId, parseId } from './ids';
import { parsePositiveId } from '../util/ids';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** The connection a cursor belongs to (a cursor of one is refused by another). */
export type CursorKind = 'garment' | 'image' | 'trainingRun' | 'modelVersion' | 'predictionJob' | 'garmentEdit' | 'similarGarment';

const CURSOR_VERSION = 'v1';

/** Descriptions of the paging arguments every connection field takes. */
export const PAGE_SIZE_DESCRIPTION = `Items in the page: 0 to the page limit (default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE} unless the server sets fewer).`;
export const AFTER_DESCRIPTION = 'The `endCursor` of the previous page; absent: the first page.';

export function encodeCursor(kind: CursorKind, id: string | number): string {
  return Buffer.from(`${CURSOR_VERSION}:${kind}:${id}`, 'utf8').toString('base64url');
}

/** The id a cursor points after; throws InvalidSearchInput naming `field` for anything else. */
export function decodeCursor(kind: CursorKind, cursor: string, field = 'after'): string {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^v1:([A-Za-z]+):(\d+)$/.exec(text);
  const refused = () => new InvalidSearchInput(field, `"${cursor}" is not a cursor of this ${kind} connection`);
  if (!match || match[1] !== kind) throw refused();
  try {
    return parseId(field, match[2]);
  } catch (error) {
    if (error instanceof InvalidId) throw refused();
    throw error;
  }
}

/**
 * Validated page size: 0..maxPageSize, DEFAULT_PAGE_SIZE when absent. The Relay specification allows
 * `first: 0` (an empty page that still answers hasNextPage and totalCount).
 */
export function pageSize(first: number | null | undefined, maxPageSize = MAX_PAGE_SIZE, field = 'first'): number {
  if (first === null || first === undefined) return Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (!Number.isInteger(first) || first < 0 || first > maxPageSize) {
    throw new InvalidSearchInput(field, `must be between 0 and ${maxPageSize} (got ${first})`);
  }
  return first;
}

export interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** Edges and page info for rows already limited to one page. */
export function connectionOf<Row extends { id: string | number }, Node>(
  kind: CursorKind,
  rows: readonly Row[],
  hasNextPage: boolean,
  toNode: (row: Row) => Node,
): { edges: { cursor: string; node: Node }[]; pageInfo: PageInfoShape } {
  const edges = rows.map((row) => ({ cursor: encodeCursor(kind, row.id), node: toNode(row) }));
  return { edges, pageInfo: pageInfoOf(edges, hasNextPage) };
}

/** The page info of a forward-only page of `edges`. */
export function pageInfoOf(edges: readonly { cursor: string }[], hasNextPage: boolean): PageInfoShape {
  return {
    hasNextPage,
    hasPreviousPage: false,
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges[edges.length - 1]?.cursor ?? null,
  };
}

/** The page a newest-first connection asks for: `first` rows below the row of the `after` cursor. */
export function newestFirstPage(
  kind: CursorKind,
  first: number | null | undefined,
  after: string | null | undefined,
  maxPageSize: number,
): { beforeId: number | null; limit: number } {
  const limit = pageSize(first, maxPageSize);
  if (after == null) return { limit, beforeId: null };
  // These connections list serial (integer) ids: a cursor beyond that range was never issued.
  const beforeId = parsePositiveId(decodeCursor(kind, after));
  if (beforeId === null) throw new InvalidSearchInput('after', `"${after}" is not a cursor of this ${kind} connection`);
  return { limit, beforeId };
}

/** Whether the client selected `field` directly on the connection (fragments included). */
export function selectsField(info: GraphQLResolveInfo, field: string): boolean {
  const visit = (selections: readonly SelectionNode[]): boolean =>
    selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === field;
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet.selections);
      const fragment = info.fragments[selection.name.value];
      return fragment ? visit(fragment.selectionSet.selections) : false;
    });
  return info.fieldNodes.some((node) => node.selectionSet && visit(node.selectionSet.selections));
}
