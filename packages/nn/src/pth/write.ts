/**
 * Writing a state dict as torch >= 1.6 writes `torch.save(state_dict)`: a
 * zip of stored entries `archive/data.pkl` (a protocol-2 pickle of an
 * OrderedDict of `_rebuild_tensor_v2` calls over `torch.FloatStorage`
 * persistent ids), `archive/byteorder`, `archive/data/<i>` (one f32
 * little-endian record per tensor) and `archive/version`. It uses only what
 * `torch.load(path, weights_only=True)` allows, so PyTorch and the reference
 * CycleGAN code load it.
 */
import { contiguousStrides, fmt, sizeOf } from '@stripes/tensor';
import type { TensorDict } from '../safetensors.ts';
import { writeZip } from './zip.ts';

const STEM = 'archive';
/** The zip format's version record: 3 since torch 1.6. */
const FORMAT_VERSION = '3\n';

const OP = {
  PROTO: 0x80, GLOBAL: 0x63, MARK: 0x28, TUPLE: 0x74, EMPTY_TUPLE: 0x29, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  REDUCE: 0x52, BINPERSID: 0x51, BINUNICODE: 0x58, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a,
  NEWFALSE: 0x89, SETITEMS: 0x75, STOP: 0x2e,
} as const;

/** Emits the few pickle opcodes a state dict needs; no memo, so every GLOBAL is spelled out. */
class PickleWriter {
  private readonly out: number[] = [];
  private readonly encoder = new TextEncoder();

  op(...codes: number[]): this {
    for (const c of codes) this.out.push(c);
    return this;
  }

  private u32(n: number): this {
    return this.op(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  }

  int(n: number): this {
    if (n < 0x100) return this.op(OP.BININT1, n);
    if (n < 0x10000) return this.op(OP.BININT2, n & 0xff, n >> 8);
    if (n < 0x80000000) return this.op(OP.BININT).u32(n);
    // LONG1: little-endian two's complement, with a zero byte on top so it stays positive.
    const bytes: number[] = [];
    for (let v = BigInt(n); v > 0n; v >>= 8n) bytes.push(Number(v & 0xffn));
    if (bytes[bytes.length - 1] & 0x80) bytes.push(0);
    return this.op(OP.LONG1, bytes.length, ...bytes);
  }

  str(s: string): this {
    const utf8 = this.encoder.encode(s);
    return this.op(OP.BINUNICODE).u32(utf8.length).op(...utf8);
  }

  global(module: string, name: string): this {
    return this.op(OP.GLOBAL, ...this.encoder.encode(`${module}\n${name}\n`));
  }

  tuple(items: readonly number[]): this {
    if (items.length > 3) this.op(OP.MARK);
    for (const n of items) this.int(n);
    const closers = [OP.EMPTY_TUPLE, OP.TUPLE1, OP.TUPLE2, OP.TUPLE3];
    return this.op(items.length < closers.length ? closers[items.length] : OP.TUPLE);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/**
 * Encodes f32 tensors (names as PyTorch's state dict has them) as a `.pth`
 * file's bytes in torch's zip format; `torch.load(path, weights_only=True)`
 * returns an OrderedDict of float32 tensors in the same order.
 */
export function writePth(tensors: TensorDict): Uint8Array {
  const fail = (reason: string): never => {
    throw new Error(`writePth: ${reason}`);
  };
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const pickle = new PickleWriter().op(OP.PROTO, 2).global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE, OP.REDUCE);
  if (entries.length > 0) pickle.op(OP.MARK);
  const records: [string, Uint8Array][] = [];
  entries.forEach(([name, { shape, data }], i) => {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has invalid shape ${JSON.stringify(shape)}`);
    }
    if (!(data instanceof Float32Array)) fail(`tensor '${name}' data must be a Float32Array`);
    const count = sizeOf(shape);
    if (count !== data.length) fail(`tensor '${name}' shape ${fmt(shape)} holds ${count} values but data has ${data.length}`);
    const key = String(i);
    pickle
      .str(name)
      .global('torch._utils', '_rebuild_tensor_v2')
      .op(OP.MARK, OP.MARK)
      .str('storage')
      .global('torch', 'FloatStorage')
      .str(key)
      .str('cpu')
      .int(count)
      .op(OP.TUPLE, OP.BINPERSID)
      .int(0)
      .tuple(shape)
      .tuple(contiguousStrides(shape))
      .op(OP.NEWFALSE)
      .global('collections', 'OrderedDict')
      .op(OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE, OP.REDUCE);
    const raw = new Uint8Array(data.length * 4);
    const view = new DataView(raw.buffer);
    for (let j = 0; j < data.length; j++) view.setFloat32(j * 4, data[j], true);
    records.push([`${STEM}/data/${key}`, raw]);
  });
  if (entries.length > 0) pickle.op(OP.SETITEMS);
  pickle.op(OP.STOP);
  const encoder = new TextEncoder();
  return writeZip(
    [
      [`${STEM}/data.pkl`, pickle.bytes()],
      [`${STEM}/byteorder`, encoder.encode('little')],
      ...records,
      [`${STEM}/version`, encoder.encode(FORMAT_VERSION)],
    ],
    fail,
  );
}
