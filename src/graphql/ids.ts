/**
 * The one parser of ids that clients send (GraphQL `ID` arguments, cursors, image and crop routes).
 *
 * Every id is decimal text up to PostgreSQL's bigint maximum (2^63-1); anything else is the
 * caller's mistake (4xx naming the field). Images and garments have bigint ids; training runs,
 * model versions, prediction jobs and datasets have `serial` (integer) ids, so an id of those
 * above 2^31-1 is well formed but cannot exist: `integerKey` answers null for it and the caller
 * answers "not found" without asking the database (which would fail on the out-of-range value).
 */
import { isBigintId, MAX_INTEGER_ID, parseId as parseDecimalId } from '../util/ids';

export class InvalidId extends Error {
  constructor(
    readonly field: string,
    readonly text: string,
  ) {
    // Only the first characters are echoed: the text is the client's and may be huge.
    super(`${field}: "${text.slice(0, 40)}" is not an id (decimal digits, at most 2^63-1)`);
  }
}

/** The id as canonical decimal text; throws InvalidId naming `field`. */
export function parseId(field: string, text: string): string {
  if (!isBigintId(text)) throw new InvalidId(field, text);
  return BigInt(text).toString();
}

/** A parsed id as the key of an integer (serial) column; null when it is above that column's range. */
export function integerKey(id: string): number | null {
  const value = parseDecimalId(id, MAX_INTEGER_ID);
  return value === null ? null : Number(value);
}
