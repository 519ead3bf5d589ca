/**
 * TypeORM's `query()` returns `[rows, rowCount]` for UPDATE/DELETE … RETURNING on PostgreSQL but plain
 * rows for SELECT. Wrapping the statement in a CTE makes it a SELECT, so the changed rows come back as
 * plain rows like any query's.
 */
export async function changedRows<Row>(
  runner: { query(sql: string, params?: unknown[]): Promise<unknown> },
  statement: string,
  params: unknown[],
): Promise<Row[]> {
  return (await runner.query(`WITH changed AS (${statement}) SELECT * FROM changed`, params)) as Row[];
}
