import { defineKernel, f32Bits, gridFor, wgslElementwiseMain } from '../kernel.ts';
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
  bindings: ['read_write', 'read', 'read_write'],
  source: () => /* wgsl */ `
struct Params { n: u32, lr: f32, momentum: f32, oneMinusDampening: f32, weightDecay: f32, nesterov: u32, fresh: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> velocity: array<f32>;
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
  const params = [n, f32Bits(s.lr), f32Bits(s.momentum), f32Bits(1 - s.dampening), f32Bits(s.weightDecay), s.nesterov ? 1 : 0, s.fresh ? 1 : 0];
  rt.dispatch(sgdKernel, {}, [param, grad, velocity], params, gridFor(n, 256));
}
