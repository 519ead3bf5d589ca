/**
 * PostgreSQL's binary COPY format for the column types the importer writes. Binary spares
 * both sides the number ↔ text conversions: a garment's polygon is dozens of floats, and
 * formatting them as text was about a tenth of the importer's main-thread profile; the floats
 * also arrive exactly as float4, with no decimal round trip.
 * Format: https://www.postgresql.org/docs/current/sql-copy.html ("Binary Format"), arrays as
 * array_send writes them.
 */
import type { CellValue } from './bulk';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FLOAT4_OID = 700;
const INT4_OID = 23;
/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01T00:00:00Z). */
const POSTGRES_EPOCH_MS = 946_684_800_000;
const CHUNK_BYTES = 1 << 20;

/** Integer ranges of PostgreSQL's integer types (bigint: the integers a JavaScript number holds exactly). */
const INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  smallint: [-(2 ** 15), 2 ** 15 - 1],
  integer: [-(2 ** 31), 2 ** 31 - 1],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
/** Largest finite float4. */
const FLOAT4_MAX = 3.4028234663852886e38;

/**
 * Why `value` cannot be stored in a column of `type` as it is, or null when it can: an integer column
 * takes only integers in its range (DataView would wrap 4294967488 to 192 and truncate 1.5 to 1),
 * a real column only finite numbers within float4 (larger ones would become Infinity), text no NUL
 * character (PostgreSQL refuses it, failing the whole COPY). The importer checks its values with
 * this before writing, so a bad value rejects its file or garment instead of the batch.
 */
export function encodingProblem(type: string, value: number | string): string | null {
  const range = INTEGER_RANGES[type];
  if (range) {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return `${type === 'integer' ? 'an' : 'a'} ${type} column takes whole numbers only, got ${value}`;
    return value < range[0] || value > range[1] ? `${value} is outside the ${type} range ${range[0]} to ${range[1]}` : null;
  }
  if (type === 'real' || type === 'real[]') {
    return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= FLOAT4_MAX
      ? null
      : `${value} is not a finite number within the real (float4) range`;
  }
  if (type === 'text')
    return typeof value === 'string' && value.includes('\0') ? 'text holds a NUL character, which PostgreSQL cannot store' : null;
  if (type === 'timestamptz') {
    const micros = timestampMicros(value);
    return micros === null
      ? `not a timestamp: ${value}`
      : Number.isSafeInteger(micros)
        ? null
        : `${value} is outside the timestamps this writer encodes`;
  }
  return null;
}

/** Microseconds since PostgreSQL's epoch, or null when `value` is not a date. */
function timestampMicros(value: number | string): number | null {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? null : (ms - POSTGRES_EPOCH_MS) * 1000;
}

function checked<T extends number | string>(type: string, value: T, column: string): T {
  const problem = encodingProblem(type, value);
  if (problem !== null) throw new RangeError(`column ${column}: ${problem}`);
  return value;
}

/**
 * Appends big-endian values to a list of fixed-size chunks (no copying on growth). Writes go
 * through a DataView: cheaper per call than Buffer's checked write methods, and 64-bit integers
 * are written as two 32-bit halves (ids and timestamps stay below 2^53) without a BigInt each.
 */
class BinaryWriter {
  readonly chunks: Buffer[] = [];
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length);
  private offset = 0;

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    this.flush();
    this.buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length);
  }

  flush(): void {
    if (this.offset > 0) this.chunks.push(this.buffer.subarray(0, this.offset));
    this.offset = 0;
  }

  int16(value: number): void {
    this.reserve(2);
    this.view.setInt16(this.offset, value);
    this.offset += 2;
  }

  int32(value: number): void {
    this.reserve(4);
    this.view.setInt32(this.offset, value);
    this.offset += 4;
  }

  /** A safe integer as int8 (writeField checks the range). */
  int64(value: number): void {
    this.reserve(8);
    this.view.setInt32(this.offset, Math.floor(value / 2 ** 32));
    this.view.setUint32(this.offset + 4, value >>> 0);
    this.offset += 8;
  }

  float32(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.offset, value);
    this.offset += 4;
  }

  bytes(value: Buffer): void {
    this.reserve(value.length);
    this.offset += value.copy(this.buffer, this.offset);
  }
}

function writeArray(writer: BinaryWriter, values: ArrayLike<number>, elementOid: number, column: string): void {
  const elementType = elementOid === FLOAT4_OID ? 'real' : 'integer';
  for (let i = 0; i < values.length; i++) checked(elementType, values[i], column);
  const size = values.length === 0 ? 12 : 20 + values.length * 8;
  writer.int32(size);
  writer.int32(values.length === 0 ? 0 : 1); // dimensions
  writer.int32(0); // no NULL elements
  writer.int32(elementOid);
  if (values.length === 0) return;
  writer.int32(values.length);
  writer.int32(1); // lower bound
  for (let i = 0; i < values.length; i++) {
    writer.int32(4);
    if (elementOid === FLOAT4_OID) writer.float32(values[i]);
    else writer.int32(values[i]);
  }
}

function writeField(writer: BinaryWriter, type: string, value: CellValue, column: string): void {
  if (value === null) return writer.int32(-1);
  switch (type) {
    case 'bigint':
      writer.int32(8);
      return writer.int64(checked(type, Number(value), column));
    case 'integer':
      writer.int32(4);
      return writer.int32(checked(type, value as number, column));
    case 'smallint':
      writer.int32(2);
      return writer.int16(checked(type, value as number, column));
    case 'real':
      writer.int32(4);
      return writer.float32(checked(type, value as number, column));
    case 'text': {
      const bytes = Buffer.from(checked(type, value as string, column), 'utf8');
      writer.int32(bytes.length);
      return writer.bytes(bytes);
    }
    case 'timestamptz':
      writer.int32(8);
      return writer.int64(timestampMicros(checked(type, value as string, column))!);
    case 'real[]':
      return writeArray(writer, value as ArrayLike<number>, FLOAT4_OID, column);
    case 'integer[]':
      return writeArray(writer, value as ArrayLike<number>, INT4_OID, column);
    default:
      throw new Error(`column ${column}: no binary COPY encoding for type ${type}`);
  }
}

/** The whole COPY … FROM STDIN (FORMAT binary) payload of `rows`, as buffers. */
export function binaryCopyPayload(columns: Readonly<Record<string, string>>, rows: CellValue[][]): Buffer[] {
  const names = Object.keys(columns);
  const types = names.map((name) => columns[name]);
  const writer = new BinaryWriter();
  writer.bytes(SIGNATURE);
  writer.int32(0); // flags
  writer.int32(0); // header extension length
  for (const row of rows) {
    writer.int16(types.length);
    for (let i = 0; i < types.length; i++) writeField(writer, types[i], row[i], names[i]);
  }
  writer.int16(-1);
  writer.flush();
  return writer.chunks;
}
