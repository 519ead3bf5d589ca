/** Row ids as clients write them: decimal text that fits PostgreSQL's bigint. */
const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** Whether `text` is a decimal id that fits a bigint column (larger ones make PostgreSQL fail the query). */
export function isBigintId(text: string): boolean {
  return /^\d{1,19}$/.test(text) && BigInt(text) <= MAX_BIGINT;
}
