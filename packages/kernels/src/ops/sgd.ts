import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

export interface SgdStepScalars {
  lr: number;
  momentum: number;
  dampening: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  nesterov: boolean;
  /**
   * The velocity buffer holds no history yet: it starts at the gradient
   * (PyTorch's first step, undamped). With momentum 0 every step is fresh,
   * which makes the update plain SGD.
   */
  fresh: boolean;
}

/**
 * SGD with momentum in place, as torch.optim.SGD:
 *   d = g + wd * w;  buf = fresh ? d : momentum * buf + (1 - dampening) * d;
 *   w -= lr * (nesterov ? d + momentum * buf : buf).
 */
export const sgdKernel = defineKernel({
  name: 'sgd',
  params: { n: 'u32', lr: 'f32', momentum: 'f32', oneMinusDampening: 'f32', weightDecay: 'f32', nesterov: 'u32', fresh: 'u32' },
  bindings: { param: 'read_write', grad: 'read', velocity: 'read_write' },
  source: () => /* wgsl */ `
${wgslElementwiseMain(`
  let w = param[i];
  let d = grad[i] + p.weightDecay * w;
  var b = d;
  if (p.fresh == 0u) { b = p.momentum * velocity[i] + p.oneMinusDampening * d; }
  velocity[i] = b;
  let step = select(b, d + p.momentum * b, p.nesterov != 0u);
  param[i] = w - p.lr * step;`)}`,
});

/** Updates `n` elements of `param` and `velocity` in place from `grad`: one dispatch. */
export function sgd(rt: Runtime, param: DeviceBuffer, grad: DeviceBuffer, velocity: DeviceBuffer, n: number, s: SgdStepScalars): void {
  const params = { n, lr: s.lr, momentum: s.momentum, oneMinusDampening: 1 - s.dampening, weightDecay: s.weightDecay, nesterov: s.nesterov ? 1 : 0, fresh: s.fresh ? 1 : 0 };
  rt.dispatch(sgdKernel, {}, { param, grad, velocity }, params, gridFor(n, 256));
}
