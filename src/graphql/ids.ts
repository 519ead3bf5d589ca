/**
 * The ids clients see and send. Objects are named by global ids (Relay Global Object
 * Identification): `base64url("<Type>:<key>")` without padding, e.g. `SW1hZ2U6NDI` for image 42,
 * so ids are opaque and no two objects of different types share one. Every argument and filter that
 * names an object takes these (`analyzeImage(uploadId:)` names an upload, not an object); the numeric key stays readable as each type's `databaseId` field.
 *
 * Keys are decimal text within their column: images and garments have bigint keys; training runs,
 * model versions, prediction jobs and datasets have `serial` (integer) keys, so a key above
 * 2^31-1 was never issued and is refused as malformed. Cursors and the image routes (/images/42)
 * still take decimal keys: `parseId`.
 */
import { isBigintId, MAX_BIGINT_ID, MAX_INTEGER_ID, parseId as parseDecimalId } from '../util/ids';

/** Every type with an identity, with the largest key of its id column. */
export const NODE_TYPES = {
  Image: MAX_BIGINT_ID,
  Garment: MAX_BIGINT_ID,
  Dataset: MAX_INTEGER_ID,
  TrainingRun: MAX_INTEGER_ID,
  ModelVersion: MAX_INTEGER_ID,
  PredictionJob: MAX_INTEGER_ID,
  GarmentEdit: MAX_BIGINT_ID,
} as const;
export type NodeTypeName = keyof typeof NODE_TYPES;

/** Types whose keys fit a JavaScript number (serial columns). */
export type SerialNodeType = 'Dataset' | 'TrainingRun' | 'ModelVersion' | 'PredictionJob';

/** Longest global id: the longest type name, a colon and 19 digits, in base64. */
const MAX_GLOBAL_ID_LENGTH = Math.ceil(((13 + 1 + 19) * 4) / 3);

export class InvalidId extends Error {
  constructor(
    readonly field: string,
    readonly text: string,
    reason = 'is not an id of this API',
  ) {
    // Only the first characters are echoed: the text is the client's and may be huge.
    super(`${field}: "${text.slice(0, 40)}" ${reason}`);
  }
}

/** The global id of the object of `type` with database key `key`. */
export function globalId(type: NodeTypeName, key: string | number | bigint): string {
  return Buffer.from(`${type}:${key}`, 'utf8').toString('base64url');
}

/** The type and key a global id names; throws InvalidId naming `field` for anything else. */
export function decodeGlobalId(field: string, text: string): { type: NodeTypeName; key: string } {
  const decoded =
    text.length <= MAX_GLOBAL_ID_LENGTH && /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, 'base64url').toString('utf8') : '';
  const match = /^([A-Za-z]+):(\d+)$/.exec(decoded);
  const type = match?.[1];
  if (!match || !type || !Object.hasOwn(NODE_TYPES, type)) throw new InvalidId(field, text);
  const key = parseDecimalId(match[2], NODE_TYPES[type as NodeTypeName]);
  // Re-encoding must give the same text: one id per object (no leading zeros or padding variants).
  if (key === null || globalId(type as NodeTypeName, key) !== text) throw new InvalidId(field, text);
  return { type: type as NodeTypeName, key: key.toString() };
}

/** The database key of a global id that must name a `type`; throws InvalidId naming `field`. */
export function keyOf(field: string, text: string, type: NodeTypeName): string {
  const decoded = decodeGlobalId(field, text);
  if (decoded.type !== type) throw new InvalidId(field, text, `names a ${decoded.type}; ${field} takes ${type} ids`);
  return decoded.key;
}

/** `keyOf` for types with serial (integer) keys, as a number. */
export function serialKeyOf(field: string, text: string, type: SerialNodeType): number {
  return Number(keyOf(field, text, type));
}

/** A decimal key (cursors, image routes) as canonical text; throws InvalidId naming `field`. */
export function parseId(field: string, text: string): string {
  if (!isBigintId(text)) throw new InvalidId(field, text, 'is not an id (decimal digits, at most 2^63-1)');
  return BigInt(text).toString();
}
