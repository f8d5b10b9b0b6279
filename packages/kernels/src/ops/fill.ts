import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/** out[i] = value for i < n. */
export const fillKernel = defineKernel({
  name: 'fill',
  params: { n: 'u32', value: 'f32' },
  bindings: { out: 'read_write' },
  source: () => /* wgsl */ `
${wgslElementwiseMain('  out[i] = p.value;')}`,
});

export function fill(rt: Runtime, out: DeviceBuffer, n: number, value: number): void {
  if (value === 0) rt.clear(out, 0, Math.ceil((n * 4) / 4) * 4);
  else rt.dispatch(fillKernel, {}, { out }, { n, value }, gridFor(n, 256));
}
