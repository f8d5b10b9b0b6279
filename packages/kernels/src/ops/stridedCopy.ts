import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { collapse, MAX_DIMS, padDims, WGSL_STRIDED_OFFSET } from './layout.ts';

/**
 * out[outOffset + idx . outStrides] = in[inOffset + idx . inStrides] for every
 * idx in `shape`. One kernel serves permute, slice, concat, expand and the
 * scatter half of their gradients.
 */
export const stridedCopyKernel = defineKernel({
  name: 'stridedCopy',
  params: { n: 'u32', inOffset: 'u32', outOffset: 'u32', shape: ['u32', MAX_DIMS], si: ['u32', MAX_DIMS], so: ['u32', MAX_DIMS] },
  bindings: { src: 'read', dst: 'read_write' },
  source: () => /* wgsl */ `
${WGSL_STRIDED_OFFSET}
${wgslElementwiseMain(`
  dst[p.outOffset + stridedOffset(i, p.shape, p.so)] = src[p.inOffset + stridedOffset(i, p.shape, p.si)];`)}`,
});

export interface StridedView {
  buffer: DeviceBuffer;
  /** Element offset of index 0. */
  offset: number;
  /** Element strides, one per dimension of the copied shape. */
  strides: readonly number[];
}

export function stridedCopy(rt: Runtime, shape: readonly number[], src: StridedView, dst: StridedView): void {
  const n = shape.reduce((x, y) => x * y, 1);
  if (n === 0) return;
  const c = collapse(shape, [src.strides, dst.strides]);
  const params = { n, inOffset: src.offset, outOffset: dst.offset, shape: padDims(c.shape, 1), si: padDims(c.strides[0], 0), so: padDims(c.strides[1], 0) };
  rt.dispatch(stridedCopyKernel, {}, { src: src.buffer, dst: dst.buffer }, params, gridFor(n, 256));
}
