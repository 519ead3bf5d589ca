/**
 * The entries of a zip archive as torch.save (PyTorch ≥ 1.6) writes it: every record stored uncompressed
 * (method 0), zip64 fields when the archive is large. Only the central directory is read up front; an
 * entry's bytes are read when asked for, so a checkpoint is never held in memory whole. Compressed
 * entries (a checkpoint re-zipped by another tool) are refused with the entry's name.
 *
 * Written here rather than taken from an npm zip reader because those are asynchronous and the loaders
 * that take a checkpoint are synchronous (see file-reader.ts).
 */
import { FileReader } from './file-reader';

export interface ZipEntry {
  name: string;
  size: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
  method: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const U32_MAX = 0xffffffff;

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const u64 = (data: DataView, offset: number) => Number(data.getBigUint64(offset, true));

export class ZipArchive {
  private constructor(
    private readonly file: FileReader,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static open(file: FileReader): ZipArchive {
    const { offset, size } = centralDirectory(file);
    const directory = view(file.readAt(offset, size));
    const entries = new Map<string, ZipEntry>();
    for (let at = 0; at < size;) {
      if (directory.getUint32(at, true) !== CENTRAL_SIGNATURE)
        throw new Error(`${file.path}: corrupt zip central directory at byte ${offset + at}`);
      const nameLength = directory.getUint16(at + 28, true);
      const extraLength = directory.getUint16(at + 30, true);
      const commentLength = directory.getUint16(at + 32, true);
      const name = Buffer.from(directory.buffer, directory.byteOffset + at + 46, nameLength).toString('utf8');
      const extra = new DataView(directory.buffer, directory.byteOffset + at + 46 + nameLength, extraLength);
      const sizes = zip64Sizes(
        extra,
        directory.getUint32(at + 24, true),
        directory.getUint32(at + 20, true),
        directory.getUint32(at + 42, true),
      );
      entries.set(name, { name, size: sizes.size, headerOffset: sizes.headerOffset, method: directory.getUint16(at + 10, true) });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return new ZipArchive(file, entries);
  }

  /** The bytes of one entry, in a fresh buffer of their own. */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.file.path}: the archive has no entry "${name}"`);
    if (entry.method !== 0)
      throw new Error(`${this.file.path}: entry "${name}" is compressed (method ${entry.method}); torch.save stores entries uncompressed`);
    const local = view(this.file.readAt(entry.headerOffset, 30));
    if (local.getUint32(0, true) !== LOCAL_SIGNATURE) throw new Error(`${this.file.path}: corrupt zip local header for "${name}"`);
    const dataOffset = entry.headerOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    return this.file.readAt(dataOffset, entry.size);
  }
}

/** Where the central directory is, from the end-of-central-directory record (and its zip64 form). */
function centralDirectory(file: FileReader): { offset: number; size: number } {
  const tailLength = Math.min(file.size, EOCD_BYTES + MAX_COMMENT_BYTES);
  const tailStart = file.size - tailLength;
  const tail = view(file.readAt(tailStart, tailLength));
  let eocd = tailLength - EOCD_BYTES;
  while (eocd >= 0 && tail.getUint32(eocd, true) !== EOCD_SIGNATURE) eocd--;
  if (eocd < 0) throw new Error(`${file.path}: not a zip archive (no end-of-central-directory record)`);
  const size = tail.getUint32(eocd + 12, true);
  const offset = tail.getUint32(eocd + 16, true);
  if (size !== U32_MAX && offset !== U32_MAX) return { offset, size };
  const locator = eocd - 20;
  if (locator < 0 || tail.getUint32(locator, true) !== ZIP64_LOCATOR_SIGNATURE)
    throw new Error(`${file.path}: zip64 archive without its locator`);
  const record = view(file.readAt(u64(tail, locator + 8), 56));
  if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) throw new Error(`${file.path}: corrupt zip64 end-of-central-directory record`);
  return { offset: u64(record, 48), size: u64(record, 40) };
}

/** Sizes too large for 32 bits are 0xffffffff in the header and given in the zip64 extra field (id 1). */
function zip64Sizes(extra: DataView, size: number, compressedSize: number, headerOffset: number): { size: number; headerOffset: number } {
  if (size !== U32_MAX && headerOffset !== U32_MAX) return { size, headerOffset };
  for (let at = 0; at + 4 <= extra.byteLength; at += 4 + extra.getUint16(at + 2, true)) {
    if (extra.getUint16(at, true) !== 1) continue;
    // The field holds, in order, only the values that overflowed: uncompressed size, compressed size, offset.
    let field = at + 4;
    const out = { size, headerOffset };
    if (size === U32_MAX) {
      out.size = u64(extra, field);
      field += 8;
    }
    if (compressedSize === U32_MAX) field += 8;
    if (headerOffset === U32_MAX) out.headerOffset = u64(extra, field);
    return out;
  }
  throw new Error('zip entry with 32-bit overflow markers but no zip64 extra field');
}
