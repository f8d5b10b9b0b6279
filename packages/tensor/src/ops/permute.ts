/** Axis permutations, materialized by the strided-copy kernel. */
import { contiguousStrides, rt, stridedCopy } from '@stripes/kernels';
import { record } from '../autograd.ts';
import { fmt, normalizeAxis } from '../shape.ts';
import { addMethods, Tensor } from '../tensor.ts';

/** y.shape[i] = x.shape[dims[i]], as torch.permute. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  x.assertAlive('permute');
  const d = dims.map((a) => normalizeAxis('permute', a, x.rank, x.shape));
  if (d.length !== x.rank || new Set(d).size !== d.length) {
    throw new Error(`permute: [${dims.join(', ')}] is not a permutation of the ${x.rank} axes of shape ${fmt(x.shape)}`);
  }
  const shape = d.map((a) => x.shape[a]);
  const inStrides = contiguousStrides(x.shape);
  const y = Tensor.empty(shape);
  stridedCopy(rt(), shape, { buffer: x.buffer, offset: 0, strides: d.map((a) => inStrides[a]) }, { buffer: y.buffer, offset: 0, strides: contiguousStrides(shape) });
  const inverse = new Array<number>(d.length);
  d.forEach((a, i) => (inverse[a] = i));
  record('permute', y, [x], [], (g) => [permute(g, inverse)]);
  return y;
}

/** Swaps two axes. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  x.assertAlive('transpose');
  const dims = [...x.shape.keys()];
  const i = normalizeAxis('transpose', a, x.rank, x.shape);
  const j = normalizeAxis('transpose', b, x.rank, x.shape);
  [dims[i], dims[j]] = [dims[j], dims[i]];
  return permute(x, dims);
}

declare module '../tensor.ts' {
  interface Tensor {
    permute(dims: number[]): Tensor;
    transpose(a?: number, b?: number): Tensor;
  }
}

addMethods({
  permute(dims) { return permute(this, dims); },
  transpose(a, b) { return transpose(this, a, b); },
});
