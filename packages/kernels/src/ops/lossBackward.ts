import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { LOSS_OPS, type LossOp } from './loss.ts';

/**
 * gx = g * scale * loss'(x - target) for a reduced loss: `g` is the one-element
 * upstream gradient (read on the device, no readback) and `scale` the
 * reduction's factor (1/n for a mean). The target's gradient is -gx.
 */
export const lossBackwardKernel = defineKernel({
  name: 'lossBackward',
  params: { n: 'u32', scale: 'f32' },
  // 'target' is a WGSL reserved word.
  bindings: { g: 'read', x: 'read', tgt: 'read', gx: 'read_write' },
  source: ({ op }: { op: LossOp }) => /* wgsl */ `
${wgslElementwiseMain(`
  let d = x[i] - tgt[i];
  gx[i] = g[0] * p.scale * ${LOSS_OPS[op].grad};`)}`,
});

export function lossBackward(rt: Runtime, op: LossOp, g: DeviceBuffer, x: DeviceBuffer, target: DeviceBuffer, gx: DeviceBuffer, n: number, scale: number): void {
  rt.dispatch(lossBackwardKernel, { op }, { g, x, tgt: target, gx }, { n, scale }, gridFor(n, 256));
}
