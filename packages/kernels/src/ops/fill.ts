import { defineKernel, f32Bits, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/** out[i] = value for i < n. */
export const fillKernel = defineKernel({
  name: 'fill',
  bindings: ['read_write'],
  source: () => /* wgsl */ `
struct Params { n: u32, value: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${wgslElementwiseMain('  out[i] = p.value;')}`,
});

export function fill(rt: Runtime, out: DeviceBuffer, n: number, value: number): void {
  if (value === 0) rt.clear(out, 0, Math.ceil((n * 4) / 4) * 4);
  else rt.dispatch(fillKernel, {}, [out], [n, f32Bits(value)], gridFor(n, 256));
}
