/**
 * A minimal, non-executing reader of Python pickles, enough for what `torch.save` writes for a state
 * dict (protocol 2, and protocols up to 5 for the framing and memo opcodes newer Pythons emit).
 *
 * Safety: a pickle is a program for a stack machine whose GLOBAL / STACK_GLOBAL opcodes import any Python
 * callable and REDUCE calls it. Here nothing is imported: a global resolves only through the caller's
 * allow-list to a plain TypeScript function building a value, and any other global is refused with an
 * error naming it. Opcodes a state dict does not use (INST, OBJ, EXT*, PERSID text ids, …) are refused too.
 *
 * Python values map to: str → string, int → number (bigint beyond 2^53), float → number, bool, None →
 * null, tuple / list → array, dict → Map, bytes → Uint8Array. BUILD is accepted only on a Map (the
 * `_metadata` attribute torch attaches to a state dict's OrderedDict), and its state is dropped.
 */

/** What a global resolves to: a function of its REDUCE arguments (or NEWOBJ arguments). */
export type PickleCallable = (args: unknown[]) => unknown;

export interface UnpickleOptions {
  /** `module.name` → builder. Anything else is refused. */
  globals: ReadonlyMap<string, PickleCallable>;
  /** BINPERSID: resolves a persistent id (torch's storage references). */
  persistentLoad?: (pid: unknown) => unknown;
  /** Names the input in errors. */
  source: string;
}

/** Pulls bytes on demand, so a pickle at the head of a large file is read without reading the rest. */
export interface ByteSource {
  read(length: number): Uint8Array;
}

export class BufferSource implements ByteSource {
  private position = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
  ) {}
  read(length: number): Uint8Array {
    if (this.position + length > this.bytes.length)
      throw new Error(`${this.source}: pickle ends unexpectedly at byte ${this.bytes.length}`);
    const out = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return out;
  }
}

class Unpickler {
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();

  constructor(
    private readonly input: ByteSource,
    private readonly options: UnpickleOptions,
  ) {}

  private fail(message: string): never {
    throw new Error(`${this.options.source}: ${message}`);
  }

  private u8(): number {
    return this.input.read(1)[0];
  }
  private view(length: number): DataView {
    const bytes = this.input.read(length);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private u16(): number {
    return this.view(2).getUint16(0, true);
  }
  private u32(): number {
    return this.view(4).getUint32(0, true);
  }
  private u64(): number {
    const value = this.view(8).getBigUint64(0, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`pickle length ${value} is too large`);
    return Number(value);
  }
  private utf8(length: number): string {
    return Buffer.from(this.input.read(length)).toString('utf8');
  }
  private line(): string {
    const bytes: number[] = [];
    for (let byte = this.u8(); byte !== 0x0a; byte = this.u8()) bytes.push(byte);
    return Buffer.from(bytes).toString('utf8');
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('pickle stack underflow');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail('pickle stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('pickle pops a MARK that was never pushed');
    return this.stack.splice(mark);
  }

  private resolveGlobal(module: string, name: string): PickleCallable {
    const qualified = `${module}.${name}`;
    const builder = this.options.globals.get(qualified);
    if (!builder) {
      this.fail(
        `refusing to load: the pickle references the global "${qualified}", which is not on the allow-list ` +
          `(${[...this.options.globals.keys()].join(', ')}); loading a checkpoint never runs code`,
      );
    }
    return builder;
  }

  private call(): void {
    const args = this.pop();
    const callable = this.pop();
    if (typeof callable !== 'function') this.fail('REDUCE on something that is not an allow-listed global');
    if (!Array.isArray(args)) this.fail('REDUCE arguments are not a tuple');
    this.stack.push((callable as PickleCallable)(args));
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  private append(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target)) this.fail('APPEND(S) on something that is not a list');
    target.push(...items);
  }

  private persistent(): void {
    const load = this.options.persistentLoad;
    if (!load) this.fail('the pickle has a persistent id, but this file format has none');
    this.stack.push(load(this.pop()));
  }

  private memoPut(index: number): void {
    this.memo.set(index, this.top());
  }
  private memoGet(index: number): void {
    if (!this.memo.has(index)) this.fail(`pickle memo has no entry ${index}`);
    this.stack.push(this.memo.get(index));
  }

  /** One opcode; returns false at STOP. */
  private step(): boolean {
    const op = this.u8();
    switch (op) {
      case 0x80:
        this.u8();
        return true; // PROTO n
      case 0x95:
        this.u64();
        return true; // FRAME length: the bytes follow inline anyway
      case 0x2e:
        return false; // STOP
      case 0x28:
        this.marks.push(this.stack.length);
        return true; // MARK
      case 0x4e:
        this.stack.push(null);
        return true; // NONE
      case 0x88:
        this.stack.push(true);
        return true; // NEWTRUE
      case 0x89:
        this.stack.push(false);
        return true; // NEWFALSE
      case 0x4b:
        this.stack.push(this.u8());
        return true; // BININT1
      case 0x4d:
        this.stack.push(this.u16());
        return true; // BININT2
      case 0x4a:
        this.stack.push(this.view(4).getInt32(0, true));
        return true; // BININT
      case 0x8a:
        this.stack.push(this.long(this.u8()));
        return true; // LONG1
      case 0x47:
        this.stack.push(this.view(8).getFloat64(0, false));
        return true; // BINFLOAT (big-endian)
      case 0x58:
        this.stack.push(this.utf8(this.u32()));
        return true; // BINUNICODE
      case 0x8c:
        this.stack.push(this.utf8(this.u8()));
        return true; // SHORT_BINUNICODE
      case 0x8d:
        this.stack.push(this.utf8(this.u64()));
        return true; // BINUNICODE8
      case 0x42:
        this.stack.push(this.input.read(this.u32()).slice());
        return true; // BINBYTES
      case 0x43:
        this.stack.push(this.input.read(this.u8()).slice());
        return true; // SHORT_BINBYTES
      case 0x5d:
        this.stack.push([]);
        return true; // EMPTY_LIST
      case 0x29:
        this.stack.push([]);
        return true; // EMPTY_TUPLE
      case 0x7d:
        this.stack.push(new Map());
        return true; // EMPTY_DICT
      case 0x74:
        this.stack.push(this.popMark());
        return true; // TUPLE
      case 0x85:
        this.stack.push([this.pop()]);
        return true; // TUPLE1
      case 0x86: {
        const b = this.pop();
        this.stack.push([this.pop(), b]);
        return true;
      } // TUPLE2
      case 0x87: {
        const c = this.pop();
        const b = this.pop();
        this.stack.push([this.pop(), b, c]);
        return true;
      } // TUPLE3
      case 0x6c:
        this.stack.push(this.popMark());
        return true; // LIST
      case 0x64: {
        const items = this.popMark();
        const dict = new Map();
        this.setItems(dict, items);
        this.stack.push(dict);
        return true;
      } // DICT
      case 0x73: {
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.top(), [key, value]);
        return true;
      } // SETITEM
      case 0x75: {
        const items = this.popMark();
        this.setItems(this.top(), items);
        return true;
      } // SETITEMS
      case 0x61: {
        const item = this.pop();
        this.append(this.top(), [item]);
        return true;
      } // APPEND
      case 0x65: {
        const items = this.popMark();
        this.append(this.top(), items);
        return true;
      } // APPENDS
      case 0x71:
        this.memoPut(this.u8());
        return true; // BINPUT
      case 0x72:
        this.memoPut(this.u32());
        return true; // LONG_BINPUT
      case 0x94:
        this.memoPut(this.memo.size);
        return true; // MEMOIZE
      case 0x68:
        this.memoGet(this.u8());
        return true; // BINGET
      case 0x6a:
        this.memoGet(this.u32());
        return true; // LONG_BINGET
      case 0x63: {
        const module = this.line();
        this.stack.push(this.resolveGlobal(module, this.line()));
        return true;
      } // GLOBAL
      case 0x93: {
        const name = this.pop();
        const module = this.pop();
        this.stack.push(this.resolveGlobal(String(module), String(name)));
        return true;
      } // STACK_GLOBAL
      case 0x52:
        this.call();
        return true; // REDUCE
      case 0x81:
        this.call();
        return true; // NEWOBJ: cls.__new__(cls, *args), same builder
      case 0x62:
        this.build();
        return true; // BUILD
      case 0x51:
        this.persistent();
        return true; // BINPERSID
      default:
        return this.fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (a state dict does not use it)`);
    }
  }

  private long(length: number): number | bigint {
    if (length === 0) return 0;
    const bytes = this.input.read(length);
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
    if (bytes[length - 1] & 0x80) value -= 1n << BigInt(8 * length);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  /** BUILD sets an object's state; the only objects a state dict builds are OrderedDicts with `_metadata`, which we drop. */
  private build(): void {
    this.pop();
    if (!(this.top() instanceof Map)) this.fail('BUILD on an object that is not an OrderedDict');
  }

  run(): unknown {
    while (this.step()) {
      /* each opcode acts on the stack */
    }
    return this.pop();
  }
}

/** Reads one pickle from `input` (up to and including its STOP opcode). */
export function unpickle(input: ByteSource, options: UnpickleOptions): unknown {
  return new Unpickler(input, options).run();
}
