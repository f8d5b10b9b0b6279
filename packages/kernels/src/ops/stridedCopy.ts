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
  bindings: ['read', 'read_write'],
  source: () => /* wgsl */ `
struct Params { n: u32, inOffset: u32, outOffset: u32, shape: array<u32, ${MAX_DIMS}>, si: array<u32, ${MAX_DIMS}>, so: array<u32, ${MAX_DIMS}> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
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
  const params = [n, src.offset, dst.offset, ...padDims(c.shape, 1), ...padDims(c.strides[0], 0), ...padDims(c.strides[1], 0)];
  rt.dispatch(stridedCopyKernel, {}, [src.buffer, dst.buffer], params, gridFor(n, 256));
}
