/** SGD's fused in-place update of one parameter (the `sgd` kernel): the step of @stripes/nn's `SGD`. */
import { rt, sgd, type SgdStepScalars } from '@stripes/kernels';
import type { Tensor } from '../tensor.ts';
import { checkStepOperands } from './adam.ts';

export type { SgdStepScalars };

/**
 * One SGD step in place, torch.optim.SGD's update of one parameter: updates
 * `param` and `momentumBuffer` (the velocity) from `grad`, in one dispatch.
 * Plain SGD (momentum 0, `fresh`) keeps no velocity: pass null. Not recorded
 * by autograd.
 */
export function sgd_(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, scalars: SgdStepScalars): void {
  checkStepOperands('sgd_', param, momentumBuffer ? { grad, momentumBuffer } : { grad });
  if (momentumBuffer) {
    sgd(rt(), param.buffer, grad.buffer, momentumBuffer.buffer, param.size, scalars);
    return;
  }
  if (scalars.momentum !== 0 || !scalars.fresh) {
    throw new Error(`sgd_: a step without a momentumBuffer must be plain SGD (momentum 0, fresh), got momentum ${scalars.momentum}, fresh ${scalars.fresh}`);
  }
  // The kernel's velocity slot gets a pooled scratch buffer.
  const scratch = rt().alloc(param.size * 4, 'sgd scratch');
  sgd(rt(), param.buffer, grad.buffer, scratch, param.size, scalars);
  rt().release(scratch);
}
