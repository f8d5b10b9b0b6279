/**
 * Mean-reduced regression losses, each one pointwise kernel plus a reduction
 * forward and one kernel backward. The target is a tensor of the input's
 * shape or a number: a constant target (a GAN loss's real or fake label)
 * goes to the kernels as a parameter, so no tensor is filled with it.
 */
import { loss, lossBackward, reduce, rt, type LossOp } from '@stripes/kernels';
import { gradIfNeeded, record } from '../autograd.ts';
import { fmt, sameShape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { affine } from './unary.ts';

function meanLoss(op: string, kind: LossOp, x: Tensor, target: Tensor | number): Tensor {
  x.assertAlive(op);
  if (typeof target !== 'number') {
    target.assertAlive(op);
    // No broadcasting: PyTorch only warns on a mismatch, and it is nearly always a bug.
    if (!sameShape(x.shape, target.shape)) throw new Error(`${op}: input ${fmt(x.shape)} and target ${fmt(target.shape)} must have the same shape`);
  }
  if (x.size === 0) throw new Error(`${op}: the mean over an empty input ${fmt(x.shape)} is undefined`);
  const n = x.size;
  const pointwise = Tensor.empty(x.shape);
  loss(rt(), kind, x.buffer, typeof target === 'number' ? target : target.buffer, pointwise.buffer, n);
  const y = Tensor.empty([]);
  reduce(rt(), 'sum', pointwise.buffer, [n], [0], y.buffer, 1 / n);
  pointwise.dispose();
  // A number target is neither an input of the graph nor saved.
  const tensors = typeof target === 'number' ? [x] : [x, target];
  record(op, y, tensors, tensors, (g, [xs, ts]) => {
    const gx = Tensor.empty(x.shape);
    lossBackward(rt(), kind, g.buffer, xs.buffer, typeof target === 'number' ? target : ts.buffer, gx.buffer, n, 1 / n);
    return [gradIfNeeded(x, () => gx), typeof target === 'number' ? null : gradIfNeeded(target, () => affine(gx, -1, 0))];
  });
  return y;
}

/**
 * mean(|x - target|), torch.nn.functional.l1_loss with reduction 'mean'.
 * `target`: a tensor of x's shape (no broadcasting), or a number for a
 * constant target (as `l1_loss(x, torch.full_like(x, target))`).
 */
export function l1Loss(x: Tensor, target: Tensor | number): Tensor {
  return meanLoss('l1Loss', 'l1', x, target);
}

/**
 * mean((x - target)^2), torch.nn.functional.mse_loss with reduction 'mean'.
 * `target`: a tensor of x's shape (no broadcasting), or a number for a
 * constant target (as `mse_loss(x, torch.full_like(x, target))`, the LSGAN loss).
 */
export function mseLoss(x: Tensor, target: Tensor | number): Tensor {
  return meanLoss('mseLoss', 'mse', x, target);
}
