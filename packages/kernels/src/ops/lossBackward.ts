import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { LOSS_OPS, lossTarget, wgslLossDifference, type LossOp, type LossSpec } from './loss.ts';

/**
 * gx = g * scale * loss'(x - target) for a reduced loss: `g` is the one-element
 * upstream gradient (read on the device, no readback) and `scale` the
 * reduction's factor (1/n for a mean). The target's gradient is -gx. The
 * target is a buffer or a constant, as in the forward `loss` kernel.
 */
export const lossBackwardKernel = defineKernel({
  name: 'lossBackward',
  params: { n: 'u32', scale: 'f32', targetValue: 'f32' },
  // 'target' is a WGSL reserved word.
  bindings: { g: 'read', x: 'read', tgt: 'read', gx: 'read_write' },
  source: ({ op, scalarTarget }: LossSpec) => /* wgsl */ `
${wgslElementwiseMain(`
  ${wgslLossDifference(scalarTarget)}
  gx[i] = g[0] * p.scale * ${LOSS_OPS[op].grad};`)}`,
});

/** gx over n elements; `target` is a buffer of n elements or a constant. */
export function lossBackward(rt: Runtime, op: LossOp, g: DeviceBuffer, x: DeviceBuffer, target: DeviceBuffer | number, gx: DeviceBuffer, n: number, scale: number): void {
  const { scalarTarget, tgt, targetValue } = lossTarget(x, target);
  rt.dispatch(lossBackwardKernel, { op, scalarTarget }, { g, x, tgt, gx }, { n, scale, targetValue }, gridFor(n, 256));
}
