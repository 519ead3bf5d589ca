/**
 * The one parser of row ids as people and clients write them: decimal digits only (no sign, no
 * exponent, no spaces), within the range of the column, since a larger value makes PostgreSQL fail
 * the whole query instead of finding nothing.
 */

/** Largest value of a bigint (bigserial) column. */
export const MAX_BIGINT_ID = 9_223_372_036_854_775_807n;
/** Largest value of an integer (serial) column: model versions, training runs, prediction jobs. */
export const MAX_INTEGER_ID = 2_147_483_647n;

/** The id `text` stands for, or null when it is not decimal digits or exceeds `max`. */
export function parseId(text: string, max: bigint = MAX_BIGINT_ID): bigint | null {
  if (!/^\d{1,19}$/.test(text)) return null;
  const id = BigInt(text);
  return id <= max ? id : null;
}

/** Whether `text` is a decimal id that fits a bigint column. */
export function isBigintId(text: string): boolean {
  return parseId(text) !== null;
}

/** A positive id of an integer (serial) column as a number, or null. */
export function parsePositiveId(text: string, max: bigint = MAX_INTEGER_ID): number | null {
  const id = parseId(text, max);
  return id === null || id === 0n ? null : Number(id);
}
