import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { WGSL_POW_SIGNED } from './unary.ts';

/**
 * gx = g * f'(.) for the unary maps. `s` is the saved tensor each derivative
 * is cheapest from: the input x, or the output y where f' is a function of y.
 */
export const UNARY_BACKWARD_OPS = {
  exp: { saved: 'y', expr: 'g * s' },
  log: { saved: 'x', expr: 'g / s' },
  sqrt: { saved: 'y', expr: 'g * 0.5 / s' },
  abs: { saved: 'x', expr: 'g * sign(s)' },
  relu: { saved: 'x', expr: 'select(0.0, g, s > 0.0)' },
  leakyRelu: { saved: 'x', expr: 'select(g * p.a, g, s > 0.0)' },
  tanh: { saved: 'y', expr: 'g * (1.0 - s * s)' },
  sigmoid: { saved: 'y', expr: 'g * s * (1.0 - s)' },
  powScalar: { saved: 'x', expr: 'g * p.a * powSigned(s, p.a - 1.0)' },
} as const;
export type UnaryBackwardOp = keyof typeof UNARY_BACKWARD_OPS;

export const unaryBackwardKernel = defineKernel({
  name: 'unaryBackward',
  params: { n: 'u32', a: 'f32' },
  bindings: { gy: 'read', saved: 'read', gx: 'read_write' },
  source: ({ op }: { op: UnaryBackwardOp }) => /* wgsl */ `
${WGSL_POW_SIGNED}
${wgslElementwiseMain(`
  let g = gy[i];
  let s = saved[i];
  gx[i] = ${UNARY_BACKWARD_OPS[op].expr};`)}`,
});

export function unaryBackward(rt: Runtime, op: UnaryBackwardOp, gy: DeviceBuffer, saved: DeviceBuffer, gx: DeviceBuffer, n: number, a = 0): void {
  rt.dispatch(unaryBackwardKernel, { op }, { gy, saved, gx }, { n, a }, gridFor(n, 256));
}
