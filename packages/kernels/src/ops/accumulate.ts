import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/**
 * dst += src: a gradient added into the one already held, in place. (The
 * binary kernel cannot: a buffer bound read-only as an operand and
 * read_write as the output in one dispatch is a WebGPU usage conflict.)
 */
export const accumulateKernel = defineKernel({
  name: 'accumulate',
  params: { n: 'u32' },
  bindings: { src: 'read', dst: 'read_write' },
  source: () => wgslElementwiseMain('  dst[i] = dst[i] + src[i];'),
});

/** dst[i] += src[i] for i < n; tensors larger than one binding a range at a time. */
export function accumulate(rt: Runtime, dst: DeviceBuffer, src: DeviceBuffer, n: number): void {
  for (const { views: [sv, dv], count } of rt.elementRanges(n, [src, dst])) {
    rt.dispatch(accumulateKernel, {}, { src: sv, dst: dv }, { n: count }, gridFor(count, 256));
  }
}
