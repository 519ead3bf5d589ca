/**
 * The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
 * {string: string}}` (offsets relative to the byte buffer that follows), then the raw little-endian
 * tensor bytes.
 *
 * Reading converts every numeric dtype to float32 (the model computes in float32): F16/BF16/F64 and
 * integer tensors are converted, the original dtype is kept in the entry. Writing produces F32 only,
 * in a canonical form (tensors sorted by name, packed in that order, header padded with spaces to a
 * multiple of 8 as the reference implementation does), so writing the same tensors twice gives the
 * same bytes.
 */
import { writeFileSync } from 'node:fs';
import { readRegularFileSync } from '../../util/regular-file';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface SafetensorsEntry {
  /** dtype as stored in the file; `data` is always float32. */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
}

export const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Header lengths above this are certainly corrupt (the reference implementation caps at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function copyBytes(buffer: Uint8Array, begin: number, end: number): ArrayBuffer {
  // A copy, so the typed array views are aligned whatever the tensor's offset in the file.
  return Uint8Array.prototype.slice.call(buffer, begin, end).buffer;
}

function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) out[i] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) out[i] = mantissa === 0 ? sign * Infinity : NaN;
    else out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return new Float32Array(words.buffer);
}

/** The float32 values of raw little-endian `bytes` of `dtype` (F32 shares the buffer). */
export function decodeToFloat32(dtype: SafetensorsDtype, bytes: ArrayBuffer): Float32Array {
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes);
    case 'F64':
      return Float32Array.from(new Float64Array(bytes));
    case 'F16':
      return float16ToFloat32(new Uint16Array(bytes));
    case 'BF16':
      return bfloat16ToFloat32(new Uint16Array(bytes));
    case 'I64':
      return Float32Array.from(new BigInt64Array(bytes), (v) => Number(v));
    case 'I32':
      return Float32Array.from(new Int32Array(bytes));
    case 'I16':
      return Float32Array.from(new Int16Array(bytes));
    case 'I8':
      return Float32Array.from(new Int8Array(bytes));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(new Uint8Array(bytes));
  }
}

interface HeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeaderEntry(name: string, raw: unknown, source: string): HeaderEntry {
  const where = `${source}: tensor "${name}"`;
  if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in BYTES_PER_ELEMENT)) {
    throw new Error(`${where}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES_PER_ELEMENT).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${where}: bad shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
    throw new Error(`${where}: bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const dims = shape as number[];
  const [begin, end] = offsets as [number, number];
  const elements = dims.reduce((a, b) => a * b, 1);
  const expectedBytes = elements * BYTES_PER_ELEMENT[dtype as SafetensorsDtype];
  if (end - begin !== expectedBytes) {
    throw new Error(
      `${where}: data_offsets ${JSON.stringify(offsets)} span ${end - begin} bytes, but ${dtype} [${dims.join(', ')}] needs ${expectedBytes}`,
    );
  }
  return { dtype: dtype as SafetensorsDtype, shape: [...dims], begin, end };
}

function parseMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || !Object.values(raw).every((v) => typeof v === 'string')) {
    throw new Error(`${source}: __metadata__ must be an object of strings`);
  }
  return { ...(raw as Record<string, string>) };
}

/** Reads a safetensors file (path) or buffer (`source` then names it in errors). */
export function readSafetensors(input: string | Uint8Array, source = typeof input === 'string' ? input : '<buffer>'): SafetensorsFile {
  let buffer: Uint8Array;
  try {
    buffer = typeof input === 'string' ? readRegularFileSync(input) : input;
  } catch (error) {
    throw new Error(`${source}: cannot read safetensors file: ${(error as Error).message}`);
  }
  if (buffer.length < 8) throw new Error(`${source}: truncated safetensors file (${buffer.length} bytes, no header length)`);
  const headerLength = new DataView(buffer.buffer, buffer.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw new Error(`${source}: bad safetensors header length ${headerLength}`);
  const dataStart = 8 + Number(headerLength);
  if (buffer.length < dataStart) {
    throw new Error(
      `${source}: truncated safetensors file (header says ${headerLength} bytes, file has ${buffer.length - 8} after the length)`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buffer.buffer, buffer.byteOffset + 8, Number(headerLength)).toString('utf8'));
  } catch (error) {
    throw new Error(`${source}: safetensors header is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${source}: safetensors header must be a JSON object`);
  }
  const { __metadata__: rawMetadata, ...rawEntries } = header as Record<string, unknown>;
  const dataLength = buffer.length - dataStart;
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(rawEntries)) {
    const entry = parseHeaderEntry(name, raw, source);
    if (entry.end > dataLength) {
      throw new Error(
        `${source}: truncated safetensors file: tensor "${name}" ends at byte ${entry.end} of a ${dataLength}-byte data section`,
      );
    }
    const bytes = copyBytes(buffer, dataStart + entry.begin, dataStart + entry.end);
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, data: decodeToFloat32(entry.dtype, bytes) });
  }
  return { tensors, metadata: parseMetadata(rawMetadata, source) };
}

/** Serialises float32 tensors in the canonical form described at the top of this file. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite> | Iterable<[string, TensorToWrite]>,
  metadata: Record<string, string> = {},
): Buffer {
  const entries = [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of entries) {
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (elements !== tensor.data.length) {
      throw new Error(`tensor "${name}": shape [${tensor.shape.join(', ')}] has ${elements} elements but data has ${tensor.data.length}`);
    }
    header[name] = { dtype: 'F32', shape: [...tensor.shape], data_offsets: [offset, offset + tensor.data.byteLength] };
    offset += tensor.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let position = 8 + headerBytes.length;
  for (const [, tensor] of entries) {
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    out.set(bytes, position);
    position += bytes.length;
  }
  return out;
}

export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorToWrite> | Iterable<[string, TensorToWrite]>,
  metadata: Record<string, string> = {},
): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}
