/** Materializes NumPy broadcasting: copies `x` into a larger shape along stride-0 axes. */
import { broadcastStrides, contiguousStrides, rt, stridedCopy } from '@stripes/kernels';
import { record } from '../autograd.ts';
import { broadcastShapes, fmt, sameShape, type Shape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { sumToShape } from './reduce.ts';

export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  x.assertAlive('broadcastTo');
  const target = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(target, shape)) throw new Error(`broadcastTo: shape ${fmt(x.shape)} cannot be broadcast to ${fmt(shape)}`);
  const y = Tensor.empty(shape);
  stridedCopy(rt(), shape, { buffer: x.buffer, offset: 0, strides: broadcastStrides(x.shape, shape) }, { buffer: y.buffer, offset: 0, strides: contiguousStrides(shape) });
  record('broadcastTo', y, [x], [], (g) => [sumToShape(g, x.shape)]);
  return y;
}
