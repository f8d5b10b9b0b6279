import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/** Pointwise losses of d = x - target, and their derivatives in d. */
export const LOSS_OPS = {
  // sign(0) = 0, as PyTorch's l1_loss gradient at equality.
  l1: { value: 'abs(d)', grad: 'sign(d)' },
  mse: { value: 'd * d', grad: '2.0 * d' },
} as const;
export type LossOp = keyof typeof LOSS_OPS;

/** y = loss(x - target) elementwise (reduction 'none'); the ops reduce it with `reduce`. */
export const lossKernel = defineKernel({
  name: 'loss',
  params: { n: 'u32' },
  // 'target' is a WGSL reserved word.
  bindings: { x: 'read', tgt: 'read', y: 'read_write' },
  source: ({ op }: { op: LossOp }) => /* wgsl */ `
${wgslElementwiseMain(`
  let d = x[i] - tgt[i];
  y[i] = ${LOSS_OPS[op].value};`)}`,
});

export function loss(rt: Runtime, op: LossOp, x: DeviceBuffer, target: DeviceBuffer, y: DeviceBuffer, n: number): void {
  rt.dispatch(lossKernel, { op }, { x, tgt: target, y }, { n }, gridFor(n, 256));
}
