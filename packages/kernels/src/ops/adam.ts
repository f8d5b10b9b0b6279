import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/** One Adam step's scalars; the host computes them in f64 so no f32 cancellation (1 - 0.999) reaches the kernel. */
export interface AdamStepScalars {
  beta1: number;
  beta2: number;
  eps: number;
  /** L2 penalty added to the gradient (PyTorch's `weight_decay`, not AdamW's). */
  weightDecay: number;
  /** lr / (1 - beta1^t). */
  stepSize: number;
  /** sqrt(1 - beta2^t). */
  biasCorrection2Sqrt: number;
}

/**
 * Adam in place, in PyTorch's order of operations:
 *   g += wd * w;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   w -= stepSize * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
export const adamKernel = defineKernel({
  name: 'adam',
  params: {
    n: 'u32', beta1: 'f32', oneMinusBeta1: 'f32', beta2: 'f32', oneMinusBeta2: 'f32',
    eps: 'f32', weightDecay: 'f32', stepSize: 'f32', biasCorrection2Sqrt: 'f32',
  },
  bindings: { param: 'read_write', grad: 'read', expAvg: 'read_write', expAvgSq: 'read_write' },
  source: () => /* wgsl */ `
${wgslElementwiseMain(`
  let w = param[i];
  let g = grad[i] + p.weightDecay * w;
  let m = p.beta1 * expAvg[i] + p.oneMinusBeta1 * g;
  let v = p.beta2 * expAvgSq[i] + p.oneMinusBeta2 * g * g;
  expAvg[i] = m;
  expAvgSq[i] = v;
  let denom = sqrt(v) / p.biasCorrection2Sqrt + p.eps;
  param[i] = w - p.stepSize * (m / denom);`)}`,
});

/** Updates `n` elements of `param`, `expAvg` and `expAvgSq` in place from `grad`: one dispatch. */
export function adam(rt: Runtime, param: DeviceBuffer, grad: DeviceBuffer, expAvg: DeviceBuffer, expAvgSq: DeviceBuffer, n: number, s: AdamStepScalars): void {
  const params = {
    n, beta1: s.beta1, oneMinusBeta1: 1 - s.beta1, beta2: s.beta2, oneMinusBeta2: 1 - s.beta2,
    eps: s.eps, weightDecay: s.weightDecay, stepSize: s.stepSize, biasCorrection2Sqrt: s.biasCorrection2Sqrt,
  };
  rt.dispatch(adamKernel, {}, { param, grad, expAvg, expAvgSq }, params, gridFor(n, 256));
}
