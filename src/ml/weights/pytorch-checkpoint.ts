/**
 * PyTorch checkpoints (`.pth` / `.pt`) as torch.save writes them, read without Python:
 *
 * - zip format (PyTorch ≥ 1.6): `<archive>/data.pkl` is the pickled object, whose tensors refer by
 *   persistent id `('storage', StorageType, key, location, numel)` to raw little-endian storages in
 *   `<archive>/data/<key>`;
 * - legacy format (`_use_new_zipfile_serialization=False`): five pickles in a row (magic number, protocol
 *   version, system info, the object, the list of storage keys), then for each key an int64 element count
 *   and the storage's bytes.
 *
 * The object is unpickled with an allow-list (pickle.ts): tensors (`_rebuild_tensor_v2`, parameters),
 * typed storages, OrderedDict. A state dict nested under `model` or `state_dict` is unwrapped and a
 * DataParallel `module.` prefix removed. Storages are read one at a time and every tensor viewing a
 * storage (offset, shape, strides) is copied out as float32 before the next storage is read.
 */
import { BYTES_PER_ELEMENT, decodeToFloat32, type SafetensorsDtype, type SafetensorsEntry } from './safetensors';
import { FileReader, SequentialFileSource } from './file-reader';
import { BufferSource, unpickle, type ByteSource, type PickleCallable } from './pickle';
import { ZipArchive } from './zip-archive';

/** The storage classes torch pickles by name, with the dtype of their elements. */
const STORAGE_DTYPES: Readonly<Record<string, SafetensorsDtype>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** The magic number torch's legacy format starts with (torch/serialization.py MAGIC_NUMBER). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: SafetensorsDtype,
  ) {}
}

class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: SafetensorsDtype,
    readonly numel: number,
  ) {}
}

class TensorRecord {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

function integerList(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 0))
    throw new Error(`${what} is not a tuple of sizes: ${String(value)}`);
  return value as number[];
}

function rebuildTensor([storage, offset, shape, stride]: unknown[]): TensorRecord {
  if (!(storage instanceof StorageRef)) throw new Error('_rebuild_tensor_v2: first argument is not a storage');
  if (!Number.isInteger(offset)) throw new Error('_rebuild_tensor_v2: storage offset is not an integer');
  return new TensorRecord(storage, offset as number, integerList(shape, 'tensor size'), integerList(stride, 'tensor stride'));
}

function allowedGlobals(): Map<string, PickleCallable> {
  const globals = new Map<string, PickleCallable>([
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
    ['torch._utils._rebuild_parameter', ([data]) => data],
    ['collections.OrderedDict', () => new Map()],
  ]);
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) {
    const type = new StorageType(name, dtype);
    globals.set(
      `torch.${name}`,
      Object.assign(
        () => {
          throw new Error(`torch.${name} is a storage type, not called in a state dict`);
        },
        { storageType: type },
      ),
    );
  }
  return globals;
}

function storageTypeOf(value: unknown): StorageType | undefined {
  return (value as { storageType?: StorageType } | null)?.storageType;
}

/** persistent_load: `('storage', type, key, location, numel[, view_metadata])`. */
function storageReference(pid: unknown, source: string): StorageRef {
  const type = Array.isArray(pid) ? storageTypeOf(pid[1]) : undefined;
  if (!Array.isArray(pid) || pid[0] !== 'storage' || !type || typeof pid[2] !== 'string' || !Number.isInteger(pid[4])) {
    throw new Error(
      `${source}: unsupported persistent id ${JSON.stringify(pid, (_, v: unknown) => (typeof v === 'function' ? '<global>' : v))}`,
    );
  }
  if (pid[5] !== undefined && pid[5] !== null)
    throw new Error(`${source}: storage "${pid[2]}" is a legacy storage view, which this reader does not support`);
  return new StorageRef(pid[2], type.dtype, pid[4] as number);
}

/** The unpickled object, and every storage it refers to by key (tensors outside the state dict included). */
function readObject(input: ByteSource, source: string): { root: unknown; storages: Map<string, StorageRef> } {
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown) => {
    const ref = storageReference(pid, source);
    storages.set(ref.key, ref);
    return ref;
  };
  return { root: unpickle(input, { globals: allowedGlobals(), persistentLoad, source }), storages };
}

/** The state dict inside the unpickled object: tensors by name, `module.` removed. */
function stateDictOf(root: unknown, source: string): Map<string, TensorRecord> {
  let dict = root;
  for (const key of ['model', 'state_dict']) {
    const inner: unknown = dict instanceof Map ? dict.get(key) : undefined;
    if (inner instanceof Map) dict = inner;
  }
  if (!(dict instanceof Map))
    throw new Error(`${source}: not a state dict (the checkpoint holds a ${Array.isArray(dict) ? 'list' : typeof dict})`);
  const tensors = new Map<string, TensorRecord>();
  for (const [key, value] of dict) {
    if (!(value instanceof TensorRecord)) continue;
    const name = String(key);
    tensors.set(name.startsWith('module.') ? name.slice('module.'.length) : name, value);
  }
  if (tensors.size === 0) throw new Error(`${source}: the checkpoint holds no tensors`);
  return tensors;
}

/** The tensor's elements (row-major) gathered from its storage's float32 values. */
function materialise(tensor: TensorRecord, storage: Float32Array, name: string, source: string): Float32Array {
  const { shape, stride, offset } = tensor;
  const size = shape.reduce((a, b) => a * b, 1);
  const last = offset + shape.reduce((sum, dim, axis) => sum + (dim - 1) * (stride[axis] ?? 0), 0);
  if (stride.length !== shape.length || (size > 0 && last >= storage.length)) {
    throw new Error(
      `${source}: tensor "${name}" (offset ${offset}, size [${shape}], stride [${stride}]) reaches outside its storage of ${storage.length} elements`,
    );
  }
  const contiguous = shape.every((_, axis) => shape[axis] === 1 || stride[axis] === shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  if (contiguous) return offset === 0 && size === storage.length ? storage : storage.slice(offset, offset + size);
  const out = new Float32Array(size);
  const index = new Array<number>(shape.length).fill(0);
  let position = offset;
  for (let i = 0; i < size; i++) {
    out[i] = storage[position];
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      index[axis]++;
      position += stride[axis];
      if (index[axis] < shape[axis]) break;
      position -= stride[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return out;
}

/** Decodes each storage as `readStorage` yields it and copies out its tensors. */
function collectTensors(
  records: Map<string, TensorRecord>,
  readStorage: (ref: StorageRef) => Uint8Array,
  storageOrder: StorageRef[],
  source: string,
): Map<string, SafetensorsEntry> {
  const byStorage = new Map<string, [string, TensorRecord][]>();
  for (const entry of records) {
    const list = byStorage.get(entry[1].storage.key) ?? [];
    list.push(entry);
    byStorage.set(entry[1].storage.key, list);
  }
  const out = new Map<string, SafetensorsEntry>();
  for (const ref of storageOrder) {
    const { key } = ref;
    const bytes = readStorage(ref);
    const views = byStorage.get(key);
    if (!views) continue;
    if (bytes.length !== ref.numel * BYTES_PER_ELEMENT[ref.dtype]) {
      throw new Error(
        `${source}: storage "${key}" has ${bytes.length} bytes, but ${ref.numel} ${ref.dtype} elements need ${ref.numel * BYTES_PER_ELEMENT[ref.dtype]}`,
      );
    }
    const values = decodeToFloat32(ref.dtype, bytes.buffer as ArrayBuffer);
    for (const [name, tensor] of views)
      out.set(name, { dtype: ref.dtype, shape: tensor.shape, data: materialise(tensor, values, name, source) });
  }
  // Tensors in the file order of the state dict, which is the order of the model's modules.
  return new Map([...records.keys()].map((name) => [name, out.get(name)!]));
}

function readZipCheckpoint(file: FileReader): Map<string, SafetensorsEntry> {
  const archive = ZipArchive.open(file);
  const pickleName = [...archive.entries.keys()].find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (!pickleName) throw new Error(`${file.path}: zip archive without <archive>/data.pkl: not a torch.save checkpoint`);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const records = stateDictOf(readObject(new BufferSource(archive.read(pickleName), file.path), file.path).root, file.path);
  const used = [...new Map([...records.values()].map((t) => [t.storage.key, t.storage])).values()];
  return collectTensors(records, (ref) => archive.read(`${prefix}data/${ref.key}`), used, file.path);
}

function readLegacyCheckpoint(file: FileReader): Map<string, SafetensorsEntry> {
  const input = new SequentialFileSource(file);
  const plain = () => unpickle(input, { globals: new Map(), source: file.path });
  const magic = plain();
  if (magic !== LEGACY_MAGIC) throw new Error(`${file.path}: not a PyTorch checkpoint (no torch.save magic number)`);
  const protocol = plain();
  if (protocol !== LEGACY_PROTOCOL_VERSION) throw new Error(`${file.path}: unsupported legacy protocol version ${String(protocol)}`);
  const systemInfo = plain();
  if (systemInfo instanceof Map && systemInfo.get('little_endian') === false)
    throw new Error(`${file.path}: saved on a big-endian machine, which this reader does not support`);
  const { root, storages } = readObject(input, file.path);
  const records = stateDictOf(root, file.path);
  const keys = plain();
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && storages.has(k)))
    throw new Error(`${file.path}: corrupt legacy checkpoint: bad storage key list`);
  const readStorage = (ref: StorageRef) => {
    const count = new DataView(input.read(8).slice().buffer).getBigInt64(0, true);
    return input.readBlock(Number(count) * BYTES_PER_ELEMENT[ref.dtype]);
  };
  return collectTensors(
    records,
    readStorage,
    (keys as string[]).map((key) => storages.get(key)!),
    file.path,
  );
}

/** True when the file starts like a torch.save checkpoint (zip or legacy pickle). */
export function isPytorchCheckpoint(path: string): boolean {
  const file = FileReader.open(path);
  try {
    const head = file.readAt(0, Math.min(2, file.size));
    return (head[0] === 0x50 && head[1] === 0x4b) || head[0] === 0x80;
  } finally {
    file.close();
  }
}

/** Reads the state dict of a torch.save checkpoint: tensors by name, converted to float32. */
export function readPytorchCheckpoint(path: string): Map<string, SafetensorsEntry> {
  const file = FileReader.open(path);
  try {
    const head = file.readAt(0, Math.min(2, file.size));
    return head[0] === 0x50 && head[1] === 0x4b ? readZipCheckpoint(file) : readLegacyCheckpoint(file);
  } finally {
    file.close();
  }
}
