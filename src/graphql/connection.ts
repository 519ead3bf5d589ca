/**
 * Relay connection helpers: opaque keyset cursors and page-size checks. A cursor encodes the
 * connection it belongs to and the last row's id, so pages are `id > last` range scans (no
 * OFFSET) and a cursor from one connection is refused by another.
 */
import { GraphQLResolveInfo, Kind, SelectionNode } from 'graphql';
import { InvalidSearchInput } from '../db/search-filter';
import { InvalidId, parseId } from './ids';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export type CursorKind = 'garment' | 'image';

const CURSOR_VERSION = 'v1';

export function encodeCursor(kind: CursorKind, id: string): string {
  return Buffer.from(`${CURSOR_VERSION}:${kind}:${id}`, 'utf8').toString('base64url');
}

/** The id a cursor points after; throws InvalidSearchInput naming `field` for anything else. */
export function decodeCursor(kind: CursorKind, cursor: string, field = 'after'): string {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^v1:([a-z]+):(\d+)$/.exec(text);
  const refused = () => new InvalidSearchInput(field, `"${cursor}" is not a cursor of this ${kind} connection`);
  if (!match || match[1] !== kind) throw refused();
  try {
    return parseId(field, match[2]);
  } catch (error) {
    if (error instanceof InvalidId) throw refused();
    throw error;
  }
}

/** Validated page size: 1..maxPageSize, DEFAULT_PAGE_SIZE when absent. */
export function pageSize(first: number | null | undefined, maxPageSize = MAX_PAGE_SIZE, field = 'first'): number {
  if (first === null || first === undefined) return Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (!Number.isInteger(first) || first < 1 || first > maxPageSize) {
    throw new InvalidSearchInput(field, `must be between 1 and ${maxPageSize} (got ${first})`);
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
export function connectionOf<Row extends { id: string }, Node>(
  kind: CursorKind,
  rows: readonly Row[],
  hasNextPage: boolean,
  toNode: (row: Row) => Node,
): { edges: { cursor: string; node: Node }[]; pageInfo: PageInfoShape } {
  const edges = rows.map((row) => ({ cursor: encodeCursor(kind, row.id), node: toNode(row) }));
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
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
