/**
 * Tensors as a `.pth` pickle describes them: the storage classes a state
 * dict uses, persistent-id storage references, tensor views over them
 * (offset, shape, strides), and the bounds-checked copy of a view's values
 * out of the raw little-endian storage bytes as f32.
 */
import { fmt, sizeOf } from '@stripes/tensor';
import type { Fail } from './fail.ts';

/** Element types of the storages read here; all but int64 load as f32, int64 only where it is dropped. */
export type PthDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64';

const STORAGE_CLASSES = new Map<string, PthDtype>([
  ['FloatStorage', 'float32'],
  ['HalfStorage', 'float16'],
  ['BFloat16Storage', 'bfloat16'],
  ['DoubleStorage', 'float64'],
  ['LongStorage', 'int64'],
]);

export const ITEM_SIZE: Readonly<Record<PthDtype, number>> = { float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8 };

/** The dtype of an allowlisted storage class (`torch.FloatStorage`, or `torch.cuda.HalfStorage` from a GPU save), else undefined. */
export function storageDtype(module: string, name: string): PthDtype | undefined {
  return module === 'torch' || module === 'torch.cuda' ? STORAGE_CLASSES.get(name) : undefined;
}

/**
 * A storage as a persistent id names it: the whole storage `key` holds
 * `numel` elements; a tensor sees elements [offset, offset + length) of it
 * (a legacy storage view; the whole storage otherwise).
 */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: PthDtype,
    readonly numel: number,
    readonly offset: number,
    readonly length: number,
  ) {}
}

/** A tensor as `_rebuild_tensor(_v2)` describes it: a strided view into a storage. Nothing is copied until `materialize`. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** Each storage key must mean one storage: every persistent id naming it agrees on dtype and size. Returns true the first time a key is seen. */
export function declareStorage(declared: Map<string, StorageRef>, ref: StorageRef, fail: Fail): boolean {
  const seen = declared.get(ref.key);
  if (seen === undefined) {
    declared.set(ref.key, ref);
    return true;
  }
  if (seen.dtype !== ref.dtype || seen.numel !== ref.numel) {
    fail(`storage '${ref.key}' is named as ${seen.numel} ${seen.dtype} values and as ${ref.numel} ${ref.dtype} values`);
  }
  return false;
}

/** Typed arrays use the host's byte order; storages are little-endian (as nearly every host is). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Row-major with no gaps; strides of size-1 dimensions do not matter. */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

// bf16 is the top half of an f32: reinterpret through a shared scratch word.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** Reads element i of little-endian storage bytes as a number (rounded to f32 when stored). */
function elementReader(dtype: Exclude<PthDtype, 'int64'>, bytes: Uint8Array): (i: number) => number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32':
      return (i) => view.getFloat32(i * 4, true);
    case 'float16':
      return (i) => halfToFloat(view.getUint16(i * 2, true));
    case 'bfloat16':
      return (i) => {
        scratchU32[0] = view.getUint16(i * 2, true) << 16;
        return scratchF32[0];
      };
    case 'float64':
      return (i) => view.getFloat64(i * 8, true);
  }
}

/**
 * Copies a tensor's values out of its storage's bytes into a new row-major
 * Float32Array, after checking that every element the view reaches lies
 * inside the storage (views may be offset, strided, transposed or broadcast).
 */
export function materialize(t: TensorRef, bytes: Uint8Array, fail: Fail, name: string): Float32Array {
  const { storage, shape, stride } = t;
  if (storage.dtype === 'int64') {
    return fail(`tensor '${name}' is int64; only floating-point tensors load (int64 ones are dropped, and only as num_batches_tracked counters)`);
  }
  const n = sizeOf(shape);
  if (n > 0) {
    let last = t.offset;
    for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
    if (last >= storage.length) {
      fail(
        `tensor '${name}' (shape ${fmt(shape)}, strides ${fmt(stride)}, storage offset ${t.offset}) reaches element ${last} ` +
          `of storage '${storage.key}', which holds ${storage.length}`,
      );
    }
  }
  const base = storage.offset + t.offset;
  if (storage.dtype === 'float32' && LITTLE_ENDIAN_HOST && isContiguous(shape, stride)) {
    // One copy of the bytes, seen as f32: several times faster than reading elements, for the megabytes of a generator.
    const from = bytes.byteOffset + base * 4;
    return new Float32Array(bytes.buffer.slice(from, from + n * 4));
  }
  const out = new Float32Array(n);
  if (n === 0) return out;
  const read = elementReader(storage.dtype, bytes);
  const nd = shape.length;
  if (nd === 0) {
    out[0] = read(base);
    return out;
  }
  // Walk the outer dimensions with an odometer; the innermost one is a plain strided run.
  const inner = shape[nd - 1];
  const innerStride = stride[nd - 1];
  const index = new Array<number>(nd - 1).fill(0);
  let start = base;
  for (let o = 0; o < n; o += inner) {
    for (let j = 0, p = start; j < inner; j++, p += innerStride) out[o + j] = read(p);
    for (let d = nd - 2; d >= 0; d--) {
      start += stride[d];
      if (++index[d] < shape[d]) break;
      start -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
