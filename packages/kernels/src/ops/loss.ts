import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/** Pointwise losses of d = x - target, and their derivatives in d. */
export const LOSS_OPS = {
  // sign(0) = 0, as PyTorch's l1_loss gradient at equality.
  l1: { value: 'abs(d)', grad: 'sign(d)' },
  mse: { value: 'd * d', grad: '2.0 * d' },
} as const;
export type LossOp = keyof typeof LOSS_OPS;

/**
 * The loss kernels' spec: the op, and whether the target is the constant
 * `p.targetValue` (a GAN loss's all-real or all-fake label) rather than the
 * buffer `tgt`, so a constant target needs no buffer filled with it.
 */
export interface LossSpec {
  readonly op: LossOp;
  readonly scalarTarget: boolean;
}

/** The WGSL of d = x - target at element i, for either kind of target. */
export function wgslLossDifference(scalarTarget: boolean): string {
  return `let d = x[i] - ${scalarTarget ? 'p.targetValue' : 'tgt[i]'};`;
}

/** y = loss(x - target) elementwise (reduction 'none'); the ops reduce it with `reduce`. */
export const lossKernel = defineKernel({
  name: 'loss',
  params: { n: 'u32', targetValue: 'f32' },
  // 'target' is a WGSL reserved word.
  bindings: { x: 'read', tgt: 'read', y: 'read_write' },
  source: ({ op, scalarTarget }: LossSpec) => /* wgsl */ `
${wgslElementwiseMain(`
  ${wgslLossDifference(scalarTarget)}
  y[i] = ${LOSS_OPS[op].value};`)}`,
});

/**
 * Both loss kernels' target arguments: a buffer binds as `tgt`; a number is the
 * `targetValue` parameter, and `x` fills the unread `tgt` binding.
 */
export function lossTarget(x: DeviceBuffer, target: DeviceBuffer | number): { scalarTarget: boolean; tgt: DeviceBuffer; targetValue: number } {
  return typeof target === 'number' ? { scalarTarget: true, tgt: x, targetValue: target } : { scalarTarget: false, tgt: target, targetValue: 0 };
}

/** y = loss(x - target) over n elements; `target` is a buffer of n elements or a constant. */
export function loss(rt: Runtime, op: LossOp, x: DeviceBuffer, target: DeviceBuffer | number, y: DeviceBuffer, n: number): void {
  const { scalarTarget, tgt, targetValue } = lossTarget(x, target);
  rt.dispatch(lossKernel, { op, scalarTarget }, { x, tgt, y }, { n, targetValue }, gridFor(n, 256));
}
