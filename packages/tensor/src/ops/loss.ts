/** Mean-reduced regression losses, each one pointwise kernel plus a reduction forward and one kernel backward. */
import { loss, lossBackward, reduce, rt, type LossOp } from '@stripes/kernels';
import { gradIfNeeded, record } from '../autograd.ts';
import { fmt, sameShape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { affine } from './unary.ts';

function meanLoss(op: string, kind: LossOp, x: Tensor, target: Tensor): Tensor {
  x.assertAlive(op);
  target.assertAlive(op);
  // No broadcasting: PyTorch only warns on a mismatch, and it is nearly always a bug.
  if (!sameShape(x.shape, target.shape)) throw new Error(`${op}: input ${fmt(x.shape)} and target ${fmt(target.shape)} must have the same shape`);
  if (x.size === 0) throw new Error(`${op}: the mean over an empty input ${fmt(x.shape)} is undefined`);
  const n = x.size;
  const pointwise = Tensor.empty(x.shape);
  loss(rt(), kind, x.buffer, target.buffer, pointwise.buffer, n);
  const y = Tensor.empty([]);
  reduce(rt(), 'sum', pointwise.buffer, [n], [0], y.buffer, 1 / n);
  pointwise.dispose();
  record(op, y, [x, target], [x, target], (g, [xs, ts]) => {
    const gx = Tensor.empty(x.shape);
    lossBackward(rt(), kind, g.buffer, xs.buffer, ts.buffer, gx.buffer, n, 1 / n);
    return [gradIfNeeded(x, () => gx), gradIfNeeded(target, () => affine(gx, -1, 0))];
  });
  return y;
}

/** mean(|x - target|), torch.nn.functional.l1_loss with reduction 'mean'. */
export function l1Loss(x: Tensor, target: Tensor): Tensor {
  return meanLoss('l1Loss', 'l1', x, target);
}

/** mean((x - target)^2), torch.nn.functional.mse_loss with reduction 'mean'. */
export function mseLoss(x: Tensor, target: Tensor): Tensor {
  return meanLoss('mseLoss', 'mse', x, target);
}
