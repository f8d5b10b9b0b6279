import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/**
 * Elementwise maps y = f(x). `a` and `b` are per-dispatch scalars
 * (LeakyReLU slope, exponent, affine scale and shift).
 */
export const UNARY_OPS = {
  neg: '-v',
  exp: 'exp(v)',
  log: 'log(v)',
  sqrt: 'sqrt(v)',
  abs: 'abs(v)',
  relu: 'max(v, 0.0)',
  leakyRelu: 'select(v * p.a, v, v > 0.0)',
  // Written through exp(-2|v|) so large |v| saturates instead of overflowing.
  tanh: 'sign(v) * (1.0 - exp(-2.0 * abs(v))) / (1.0 + exp(-2.0 * abs(v)))',
  sigmoid: 'select(exp(v) / (1.0 + exp(v)), 1.0 / (1.0 + exp(-v)), v >= 0.0)',
  // pow(v, a) is undefined for v < 0 in WGSL; match IEEE pow for integer exponents.
  powScalar: 'powSigned(v, p.a)',
  affine: 'v * p.a + p.b',
} as const;
export type UnaryOp = keyof typeof UNARY_OPS;

/** pow with a real exponent, correct for negative bases when the exponent is an integer. */
export const WGSL_POW_SIGNED = /* wgsl */ `
fn powSigned(v: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  let m = pow(abs(v), e);
  if (v >= 0.0) { return m; }
  // NaN, built from a runtime value: Tint rejects a constant NaN.
  if (fract(e) != 0.0) { return bitcast<f32>(0x7fc00000u | (bitcast<u32>(e) & 0u)); }
  return select(m, -m, fract(e * 0.5) != 0.0);
}`;

export const unaryKernel = defineKernel({
  name: 'unary',
  params: { n: 'u32', a: 'f32', b: 'f32' },
  bindings: { x: 'read', y: 'read_write' },
  source: ({ op }: { op: UnaryOp }) => /* wgsl */ `
${WGSL_POW_SIGNED}
fn f(v: f32) -> f32 { return ${UNARY_OPS[op]}; }
${wgslElementwiseMain('  y[i] = f(x[i]);')}`,
});

/** y = f(x) over n elements; tensors larger than one binding are mapped a range at a time. */
export function unary(rt: Runtime, op: UnaryOp, x: DeviceBuffer, y: DeviceBuffer, n: number, a = 0, b = 0): void {
  for (const { views: [xv, yv], count } of rt.elementRanges(n, [x, y])) {
    rt.dispatch(unaryKernel, { op }, { x: xv, y: yv }, { n: count, a, b }, gridFor(count, 256));
  }
}
