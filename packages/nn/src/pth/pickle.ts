/**
 * A data-only pickle machine for the pickles inside `.pth` files. It knows a
 * fixed list of opcodes (protocol 2, plus Python 2's byte strings) and a
 * fixed list of globals: `collections.OrderedDict`, the torch tensor
 * rebuilders and the storage classes. REDUCE and BUILD act only on those, by
 * a switch over their names: nothing in a file can name a function to run,
 * because the machine has no generic call. Anything else is refused with the
 * reason and the byte where it stands.
 */
import type { Fail } from './fail.ts';
import { StorageRef, TensorRef, storageDtype, type PthDtype } from './tensors.ts';

/** A Python tuple (lists are plain arrays, dicts are Maps). */
class Tuple {
  constructor(readonly items: readonly Value[]) {}
}

/** A `collections.OrderedDict`: the one dict that BUILD may give attributes (state dicts carry `_metadata`; it is ignored). */
class OrderedDict extends Map<Value, Value> {}

/** An allowlisted global as GLOBAL pushed it; `dtype` is set for storage classes, which are names, never called. */
class Global {
  constructor(
    readonly name: string,
    readonly dtype?: PthDtype,
  ) {}
}

export type Value = null | boolean | number | bigint | string | Value[] | Tuple | Map<Value, Value> | Global | StorageRef | TensorRef;

/** What a container yields: the file's unpickled object and the raw bytes of each storage it names, by key. */
export interface Unpickled {
  root: Value;
  storages: Map<string, Uint8Array>;
}

/** Called for each storage a persistent id names, so the container can check it against the data it holds. */
type OnStorage = (ref: StorageRef) => void;

const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
]);

// Generous for state dicts (a tensor costs ~30 memo entries and 4 nesting levels) yet bounded for hostile files.
const MAX_MEMO = 1 << 20;
const MAX_STACK = 1 << 20;
const MAX_NESTING = 64;
const MAX_GLOBAL_LINE = 256;
const MAX_PROTOCOL = 3;

/** Names of the opcodes pickle has but this machine refuses, so a refusal says which one it met. */
const REFUSED_OPCODES = new Map<number, string>(
  Object.entries({
    POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, LONG: 0x4c, PERSID: 0x50, STRING: 0x53, UNICODE: 0x56,
    DICT: 0x64, GET: 0x67, INST: 0x69, LIST: 0x6c, OBJ: 0x6f, PUT: 0x70, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84,
    LONG4: 0x8b, BINBYTES: 0x42, SHORT_BINBYTES: 0x43, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e,
    EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91, NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
    BYTEARRAY8: 0x96, NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
  }).map(([name, code]) => [code, name]),
);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A short Python-flavoured name of a value's type, for error messages. */
export function typeName(v: Value): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Tuple) return 'tuple';
  if (v instanceof Map) return 'dict';
  if (v instanceof Global) return `global '${v.name}'`;
  if (v instanceof StorageRef) return 'storage';
  return 'tensor';
}

/** A string quoted, anything else by its type name. */
export function repr(v: Value): string {
  return typeof v === 'string' ? `'${v}'` : typeName(v);
}

function isIndex(v: Value): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Runs one pickle that starts at `start` and returns its value and the
 * offset just past its STOP. `where` names the pickle in errors;
 * `onStorage` is given only where persistent ids (storages) may appear.
 */
export function unpickle(bytes: Uint8Array, start: number, where: string, fail: Fail, onStorage?: OnStorage): { value: Value; end: number } {
  return new Machine(bytes, start, where, fail, onStorage).run();
}

class Machine {
  private pos: number;
  /** Where the current opcode starts; errors count from the pickle's first byte. */
  private opAt: number;
  private readonly stack: Value[] = [];
  /** Stack heights at each open MARK; items below the innermost one are out of reach, as in Python. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, Value>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    private readonly where: string,
    private readonly failWith: Fail,
    private readonly onStorage: OnStorage | undefined,
  ) {
    this.pos = start;
    this.opAt = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(reason: string): never {
    return this.failWith(`${reason}; at byte ${this.opAt - this.start} of ${this.where}`);
  }

  run(): { value: Value; end: number } {
    for (;;) {
      this.opAt = this.pos;
      const op = this.u8();
      switch (op) {
        case 0x80: { // PROTO
          const protocol = this.u8();
          if (protocol > MAX_PROTOCOL) {
            this.fail(`pickle protocol ${protocol} is not supported (torch.save writes protocol 2 unless given pickle_protocol)`);
          }
          break;
        }
        case 0x2e: // STOP
          return { value: this.pop(), end: this.pos };
        case 0x63: { // GLOBAL
          const module = this.line();
          this.push(this.global(module, this.line()));
          break;
        }
        case 0x71: // BINPUT
          this.put(this.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.put(this.u32());
          break;
        case 0x68: // BINGET
          this.get(this.u8());
          break;
        case 0x6a: // LONG_BINGET
          this.get(this.u32());
          break;
        case 0x28: // MARK
          if (this.marks.length >= MAX_NESTING) this.fail(`nesting deeper than ${MAX_NESTING} levels`);
          this.marks.push(this.stack.length);
          break;
        case 0x74: // TUPLE
          this.push(new Tuple(this.popMark()));
          break;
        case 0x85: // TUPLE1
          this.push(new Tuple([this.pop()]));
          break;
        case 0x86: { // TUPLE2
          const b = this.pop();
          this.push(new Tuple([this.pop(), b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          this.push(new Tuple([this.pop(), b, c]));
          break;
        }
        case 0x29: // EMPTY_TUPLE
          this.push(new Tuple([]));
          break;
        case 0x7d: // EMPTY_DICT
          this.push(new Map());
          break;
        case 0x5d: // EMPTY_LIST
          this.push([]);
          break;
        case 0x73: { // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.setItem(this.dict(), key, value);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          if (items.length % 2 !== 0) this.fail(`SETITEMS got ${items.length} items, not key/value pairs`);
          const dict = this.dict();
          for (let i = 0; i < items.length; i += 2) this.setItem(dict, items[i], items[i + 1]);
          break;
        }
        case 0x61: { // APPEND
          const item = this.pop();
          this.list().push(item);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          const list = this.list();
          for (const item of items) list.push(item);
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          this.push(this.reduce(this.pop(), args));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x51: // BINPERSID
          this.push(this.persistentLoad(this.pop()));
          break;
        case 0x58: // BINUNICODE
          this.push(this.text(this.u32()));
          break;
        case 0x55: // SHORT_BINSTRING (Python 2 str)
          this.push(this.text(this.u8()));
          break;
        case 0x54: { // BINSTRING (Python 2 str)
          const n = this.i32();
          if (n < 0) this.fail(`BINSTRING has negative length ${n}`);
          this.push(this.text(n));
          break;
        }
        case 0x4a: // BININT
          this.push(this.i32());
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.u16());
          break;
        case 0x8a: // LONG1
          this.push(this.long(this.u8()));
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x47: { // BINFLOAT (big-endian f64)
          this.need(8);
          this.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }
        default: {
          const hex = `0x${op.toString(16).padStart(2, '0')}`;
          const name = REFUSED_OPCODES.get(op);
          this.fail(name ? `opcode ${name} (${hex}) is not allowed (only the opcodes of a tensor state dict are)` : `unknown opcode ${hex}`);
        }
      }
    }
  }

  // --- reading bytes -------------------------------------------------------

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) this.fail(`the data ends before the pickle does (truncated file?)`);
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private text(n: number): string {
    this.need(n);
    const raw = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail('a string is not valid UTF-8');
    }
  }

  /** A newline-terminated GLOBAL operand. */
  private line(): string {
    const length = this.bytes.subarray(this.pos, this.pos + MAX_GLOBAL_LINE + 1).indexOf(0x0a);
    if (length < 0) this.fail('GLOBAL operand is not a short newline-terminated name');
    const s = this.text(length);
    this.pos++;
    return s;
  }

  /** LONG1: n bytes of little-endian two's complement; a number when it is a safe integer. */
  private long(n: number): number | bigint {
    this.need(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[this.pos + i]);
    if (n > 0 && this.bytes[this.pos + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    this.pos += n;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  // --- the stack and the memo ---------------------------------------------

  private push(v: Value): void {
    if (this.stack.length >= MAX_STACK) this.fail(`more than ${MAX_STACK} values on the stack`);
    this.stack.push(v);
  }

  private floor(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
  }

  private pop(): Value {
    if (this.stack.length <= this.floor()) this.fail('an opcode needs a value but the stack is empty');
    return this.stack.pop()!;
  }

  private top(): Value {
    if (this.stack.length <= this.floor()) this.fail('an opcode needs a value but the stack is empty');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): Value[] {
    const mark = this.marks.pop();
    if (mark === undefined) return this.fail('an opcode needs a MARK but none is open');
    return this.stack.splice(mark);
  }

  private put(index: number): void {
    if (this.memo.size >= MAX_MEMO && !this.memo.has(index)) this.fail(`more than ${MAX_MEMO} memo entries`);
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    const v = this.memo.get(index);
    if (v === undefined) this.fail(`memo entry ${index} is read before it is stored`);
    this.push(v);
  }

  private dict(): Map<Value, Value> {
    const d = this.top();
    if (!(d instanceof Map)) return this.fail(`SETITEM(S) on a ${typeName(d)}, not a dict`);
    return d;
  }

  private list(): Value[] {
    const l = this.top();
    if (!Array.isArray(l)) return this.fail(`APPEND(S) on a ${typeName(l)}, not a list`);
    return l;
  }

  private setItem(dict: Map<Value, Value>, key: Value, value: Value): void {
    // Python refuses unhashable keys; keys here are names, indices or tuples of them.
    if (Array.isArray(key) || key instanceof Map) this.fail(`a dict key is a ${typeName(key)}, which is unhashable`);
    dict.set(key, value);
  }

  // --- globals, calls and persistent ids -----------------------------------

  private global(module: string, name: string): Global {
    const full = `${module}.${name}`;
    if (CALLABLES.has(full)) return new Global(full);
    const dtype = storageDtype(module, name);
    if (dtype !== undefined) return new Global(full, dtype);
    if ((module === 'torch' || module === 'torch.cuda') && name.endsWith('Storage')) {
      this.fail(`storage class '${full}' is not supported (only float32, float16, bfloat16 and float64 tensors load, and int64 counters)`);
    }
    return this.fail(`global '${full}' is not allowed (only tensor-rebuilding globals are)`);
  }

  private reduce(fn: Value, args: Value): Value {
    if (!(fn instanceof Global)) return this.fail(`REDUCE calls a ${typeName(fn)}; only allowlisted globals can be called`);
    if (!(args instanceof Tuple)) return this.fail(`REDUCE arguments to '${fn.name}' are a ${typeName(args)}, not a tuple`);
    const a = args.items;
    switch (fn.name) {
      case 'collections.OrderedDict':
        return this.orderedDict(a);
      case 'torch._utils._rebuild_tensor_v2': {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]); torch 2 may add metadata.
        if (a.length !== 6 && a.length !== 7) this.fail(`_rebuild_tensor_v2 takes 6 or 7 arguments, got ${a.length}`);
        if (typeof a[4] !== 'boolean') this.fail(`_rebuild_tensor_v2's requires_grad is a ${typeName(a[4])}, not a bool`);
        if (!(a[5] instanceof Map)) this.fail(`_rebuild_tensor_v2's backward_hooks are a ${typeName(a[5])}, not a dict`);
        if (a.length === 7 && a[6] !== null && !(a[6] instanceof Map)) this.fail(`_rebuild_tensor_v2's metadata is a ${typeName(a[6])}, not a dict`);
        return this.tensor(a);
      }
      case 'torch._utils._rebuild_tensor': // (storage, storage_offset, size, stride): 0.3-era files
        if (a.length !== 4) this.fail(`_rebuild_tensor takes 4 arguments, got ${a.length}`);
        return this.tensor(a);
      case 'torch._utils._rebuild_parameter': // (data, requires_grad, backward_hooks): a Parameter loads as its data
        if (a.length !== 3 || !(a[0] instanceof TensorRef) || typeof a[1] !== 'boolean' || !(a[2] instanceof Map)) {
          this.fail('_rebuild_parameter takes (tensor, bool, dict)');
        }
        return a[0];
      default:
        return this.fail(`global '${fn.name}' is a storage type, which cannot be called`);
    }
  }

  /** OrderedDict() from Python 3, or OrderedDict([[key, value], ...]) from Python 2. */
  private orderedDict(a: readonly Value[]): OrderedDict {
    const dict = new OrderedDict();
    if (a.length === 0) return dict;
    const pairs = a[0];
    if (a.length !== 1 || !Array.isArray(pairs)) return this.fail('OrderedDict takes no arguments or one list of pairs');
    for (const pair of pairs) {
      const kv = pair instanceof Tuple ? pair.items : pair;
      if (!Array.isArray(kv) || kv.length !== 2) this.fail('OrderedDict takes no arguments or one list of pairs');
      this.setItem(dict, kv[0], kv[1]);
    }
    return dict;
  }

  private tensor(a: readonly Value[]): TensorRef {
    const [storage, offset, size, stride] = a;
    if (!(storage instanceof StorageRef)) return this.fail(`a tensor's storage is a ${typeName(storage)}, not a storage`);
    if (!isIndex(offset)) return this.fail(`a tensor's storage offset is ${String(offset)}, not a non-negative integer`);
    const dims = (v: Value, what: string): number[] => {
      if (!(v instanceof Tuple) || !v.items.every(isIndex)) return this.fail(`a tensor's ${what} is not a tuple of non-negative integers`);
      return v.items as number[];
    };
    const shape = dims(size, 'size');
    const strides = dims(stride, 'stride');
    if (strides.length !== shape.length) this.fail(`a tensor has ${shape.length} dimensions but ${strides.length} strides`);
    return new TensorRef(storage, offset, shape, strides);
  }

  private build(inst: Value, state: Value): void {
    if (!(inst instanceof OrderedDict) || (state !== null && !(state instanceof Map))) {
      this.fail(`BUILD on a ${typeName(inst)} with a ${typeName(state)} state is not allowed (only an OrderedDict's attributes are)`);
    }
  }

  /** ('storage', StorageClass, key, location, numel[, (view_key, offset, view_size)]): the last only in legacy files. */
  private persistentLoad(pid: Value): StorageRef {
    if (this.onStorage === undefined) return this.fail('a persistent id appears where no storage can');
    if (!(pid instanceof Tuple)) return this.fail(`a persistent id is a ${typeName(pid)}, not a tuple`);
    if (pid.items.length === 0 || pid.items[0] !== 'storage') {
      return this.fail(`a persistent id ${pid.items.length === 0 ? 'is empty' : `of kind ${repr(pid.items[0])}`}; only 'storage' ids are allowed`);
    }
    if (pid.items.length !== 5 && pid.items.length !== 6) this.fail(`a storage persistent id has ${pid.items.length} items, not 5 or 6`);
    const [, type, key, location, total, view] = pid.items;
    if (!(type instanceof Global) || type.dtype === undefined) return this.fail(`a storage's type is a ${typeName(type)}, not a storage class`);
    if (typeof key !== 'string' || typeof location !== 'string') return this.fail("a storage's key and location are not strings");
    if (!isIndex(total)) return this.fail(`storage '${key}' has size ${String(total)}, not a non-negative integer`);
    let ref = new StorageRef(key, type.dtype, total, 0, total);
    if (view !== undefined && view !== null) {
      if (!(view instanceof Tuple) || view.items.length !== 3) return this.fail(`storage '${key}' has a view that is not (key, offset, size)`);
      const [viewKey, offset, length] = view.items;
      if (typeof viewKey !== 'string' || !isIndex(offset) || !isIndex(length)) {
        return this.fail(`storage '${key}' has a view that is not (key, offset, size)`);
      }
      if (offset + length > total) this.fail(`storage '${key}' has a view of ${length} elements at ${offset}, past its ${total}`);
      ref = new StorageRef(key, type.dtype, total, offset, length);
    }
    this.onStorage(ref);
    return ref;
  }
}
