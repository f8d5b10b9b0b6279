/** Contiguous ranges along one axis, and concatenation: each is the other's gradient. */
import { contiguousStrides, rt, stridedCopy } from '@stripes/kernels';
import { gradIfNeeded, record } from '../autograd.ts';
import { tidy } from '../scope.ts';
import { fmt, normalizeAxis } from '../shape.ts';
import { addMethods, Tensor } from '../tensor.ts';
import { zeros } from './creation.ts';
import { reshape } from './reshape.ts';

/** Leading blocks up to which a region is copied block by block with buffer copies (no dispatch) rather than one strided-copy dispatch. */
const MAX_BLOCK_COPIES = 8;

/** Copies `src` into `dst` at `offset` along `axis` (src fits there), or the reverse when `gather`. */
function copyRegion(big: Tensor, small: Tensor, axis: number, offset: number, gather: boolean): void {
  // The region is one contiguous block per index of the axes before `axis`
  // (a batch slice is one block): few blocks are buffer copies.
  const blocks = small.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  if (blocks <= MAX_BLOCK_COPIES) {
    const block = small.size / Math.max(blocks, 1);
    const bigBlock = (block / small.shape[axis]) * big.shape[axis];
    const start = (offset * block) / small.shape[axis];
    for (let i = 0; i < blocks && block > 0; i++) {
      const [bigAt, smallAt] = [(i * bigBlock + start) * 4, i * block * 4];
      if (gather) rt().copy(big.buffer, bigAt, small.buffer, smallAt, block * 4);
      else rt().copy(small.buffer, smallAt, big.buffer, bigAt, block * 4);
    }
    return;
  }
  const bigStrides = contiguousStrides(big.shape);
  const region = { buffer: big.buffer, offset: offset * bigStrides[axis], strides: bigStrides };
  const dense = { buffer: small.buffer, offset: 0, strides: contiguousStrides(small.shape) };
  if (gather) stridedCopy(rt(), small.shape, region, dense);
  else stridedCopy(rt(), small.shape, dense, region);
}

/** x[..., start:end, ...] along `axis`; negative indices count from the end, as in Python. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  x.assertAlive('slice');
  const a = normalizeAxis('slice', axis, x.rank, x.shape);
  const n = x.shape[a];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > n || s > e) {
    throw new Error(`slice: range ${start}:${end ?? ''} is out of bounds for axis ${axis} of shape ${fmt(x.shape)}`);
  }
  const y = Tensor.empty(x.shape.map((d, i) => (i === a ? e - s : d)));
  copyRegion(x, y, a, s, true);
  record('slice', y, [x], [], (g) => {
    const gx = zeros(x.shape);
    copyRegion(gx, g, a, s, false);
    return [gx];
  });
  return y;
}

/** Joins tensors along `axis`; all other dimensions must match. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  tensors.forEach((t) => t.assertAlive('concat'));
  const first = tensors[0];
  const a = normalizeAxis('concat', axis, first.rank, first.shape);
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${tensors.map((u) => fmt(u.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  const offsets: number[] = [];
  let total = 0;
  for (const t of tensors) {
    offsets.push(total);
    total += t.shape[a];
  }
  const y = Tensor.empty(first.shape.map((d, i) => (i === a ? total : d)));
  tensors.forEach((t, k) => copyRegion(y, t, a, offsets[k], false));
  record('concat', y, tensors, [], (g) => tensors.map((t, k) => gradIfNeeded(t, () => slice(g, a, offsets[k], offsets[k] + t.shape[a]))));
  return y;
}

/** Stacks equally shaped tensors along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: needs at least one tensor');
  const rank = tensors[0].rank + 1;
  const a = normalizeAxis('stack', axis, rank, [...tensors[0].shape, 1]);
  // tidy frees the reshaped views, which would otherwise hold the inputs' storage.
  return tidy(() => concat(tensors.map((t) => reshape(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)])), a));
}

declare module '../tensor.ts' {
  interface Tensor {
    slice(axis: number, start: number, end?: number): Tensor;
  }
}

addMethods({
  slice(axis, start, end) { return slice(this, axis, start, end); },
});
