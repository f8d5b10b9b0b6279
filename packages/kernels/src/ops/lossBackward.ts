import { defineKernel, f32Bits, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { LOSS_OPS, type LossOp } from './loss.ts';

/**
 * gx = g * scale * loss'(x - target) for a reduced loss: `g` is the one-element
 * upstream gradient (read on the device, no readback) and `scale` the
 * reduction's factor (1/n for a mean). The target's gradient is -gx.
 */
export const lossBackwardKernel = defineKernel<{ op: LossOp }>({
  name: 'lossBackward',
  bindings: ['read', 'read', 'read', 'read_write'],
  source: ({ op }) => /* wgsl */ `
struct Params { n: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> tgt: array<f32>; // 'target' is a WGSL reserved word
@group(0) @binding(4) var<storage, read_write> gx: array<f32>;
${wgslElementwiseMain(`
  let d = x[i] - tgt[i];
  gx[i] = g[0] * p.scale * ${LOSS_OPS[op].grad};`)}`,
});

export function lossBackward(rt: Runtime, op: LossOp, g: DeviceBuffer, x: DeviceBuffer, target: DeviceBuffer, gx: DeviceBuffer, n: number, scale: number): void {
  rt.dispatch(lossBackwardKernel, { op }, [g, x, target, gx], [n, f32Bits(scale)], gridFor(n, 256));
}
