/** Adam's fused in-place update of one parameter (the `adam` kernel): the step of @stripes/nn's `Adam`. */
import { adam, rt, type AdamStepScalars } from '@stripes/kernels';
import { fmt, sameShape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

export type { AdamStepScalars };

/**
 * @internal Checks an optimizer step's operands: all alive, and each of
 * `likeParam` (gradient, state buffers) shaped like `param`.
 */
export function checkStepOperands(op: string, param: Tensor, likeParam: Record<string, Tensor>): void {
  param.assertAlive(op);
  for (const [name, t] of Object.entries(likeParam)) {
    t.assertAlive(op);
    if (!sameShape(t.shape, param.shape)) throw new Error(`${op}: ${name} of shape ${fmt(t.shape)} does not match param of shape ${fmt(param.shape)}`);
  }
}

/**
 * One Adam step in place, torch.optim.Adam's update of one parameter:
 * updates `param`, `expAvg` (m) and `expAvgSq` (v) from `grad`, in one
 * dispatch. Not recorded by autograd.
 */
export function adam_(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, scalars: AdamStepScalars): void {
  checkStepOperands('adam_', param, { grad, expAvg, expAvgSq });
  adam(rt(), param.buffer, grad.buffer, expAvg.buffer, expAvgSq.buffer, param.size, scalars);
}
