/**
 * Pages of rows newest first (descending serial ids) with keyset cursors: a page is the `limit`
 * rows below `beforeId`, read as `limit + 1` so the extra row tells whether another page follows.
 */

export interface NewestFirstPage {
  /** Only rows with an id below this one (the last row of the previous page); null: from the newest. */
  beforeId: number | null;
  /** Rows per page; 0 answers only whether any row exists. */
  limit: number;
}

export interface RowPage<Row> {
  rows: Row[];
  hasNextPage: boolean;
}

/** The page of `rows` read with `limit + 1` rows. */
export function pageOfRows<Row>(rows: Row[], limit: number): RowPage<Row> {
  return { rows: rows.slice(0, limit), hasNextPage: rows.length > limit };
}
