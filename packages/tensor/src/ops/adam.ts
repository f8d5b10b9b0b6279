/** Adam's fused in-place update of a list of parameters (the multi-tensor `adam` kernel): the step of @stripes/nn's `Adam`. */
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
 * Throws if a tensor updated in place shares its buffer (as a view does)
 * with another operand: one dispatch cannot write a buffer twice or read
 * one it writes, and the step would be meaningless anyway.
 */
function checkNoSharedBuffers(operands: ReadonlyArray<Record<'param' | 'grad' | 'expAvg' | 'expAvgSq', Tensor>>): void {
  const writers = new Map<GPUBuffer, string>();
  operands.forEach((o, i) => {
    for (const name of ['param', 'expAvg', 'expAvgSq'] as const) {
      const buffer = o[name].buffer.buffer;
      const other = writers.get(buffer);
      if (other) throw new Error(`adam_: ${name} ${i} shares its buffer with ${other}; each tensor updated in place needs its own`);
      writers.set(buffer, `${name} ${i}`);
    }
  });
  operands.forEach((o, i) => {
    const other = writers.get(o.grad.buffer.buffer);
    if (other) throw new Error(`adam_: grad ${i} shares its buffer with ${other}, which is updated in place`);
  });
}

/**
 * One Adam step in place for a list of parameters sharing the step's
 * scalars (so one step count t), torch.optim.Adam's update (as
 * `torch._fused_adam_`): updates each `params[i]`, `expAvgs[i]` (m) and
 * `expAvgSqs[i]` (v) from `grads[i]`, several parameters per dispatch.
 * Every operand is validated before anything runs. Not recorded by autograd.
 */
export function adam_(params: readonly Tensor[], grads: readonly Tensor[], expAvgs: readonly Tensor[], expAvgSqs: readonly Tensor[], scalars: AdamStepScalars): void {
  if (grads.length !== params.length || expAvgs.length !== params.length || expAvgSqs.length !== params.length) {
    throw new Error(`adam_: ${params.length} params, ${grads.length} grads, ${expAvgs.length} expAvgs and ${expAvgSqs.length} expAvgSqs; the lists need one entry per parameter`);
  }
  const operands = params.map((param, i) => ({ param, grad: grads[i], expAvg: expAvgs[i], expAvgSq: expAvgSqs[i] }));
  for (const { param, ...likeParam } of operands) checkStepOperands('adam_', param, likeParam);
  checkNoSharedBuffers(operands);
  const buffers = operands.map((o) => ({ param: o.param.buffer, grad: o.grad.buffer, expAvg: o.expAvg.buffer, expAvgSq: o.expAvgSq.buffer, n: o.param.size }));
  adam(rt(), buffers, scalars);
}
