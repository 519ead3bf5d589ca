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

/**
 * SQLSTATEs of errors that say nothing about the statement or its data, so the same work may succeed
 * when tried again: class 40 (deadlock, serialization failure), class 08 (connection lost) and the
 * server shutting down or restarting (57P01, 57P02, 57P03).
 */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^(40|08)/.test(code) || ['57P01', '57P02', '57P03'].includes(code));
}
