/** Reductions over axes, and `sumToShape`, which undoes broadcasting in gradients. */
import { reduce as reduceKernel, rt, type ReduceOp } from '@stripes/kernels';
import { record } from '../autograd.ts';
import { normalizeAxes, fmt, sameShape, type Shape } from '../shape.ts';
import { addMethods, Tensor } from '../tensor.ts';
import { binaryOp } from './binary.ts';
import { broadcastTo } from './broadcastTo.ts';
import { affine } from './unary.ts';
import { reshape } from './reshape.ts';

function reduceForward(op: string, kind: ReduceOp, x: Tensor, axes: number[], keepDims: boolean, scale: number): Tensor {
  for (const a of axes) {
    if (x.shape[a] === 0) throw new Error(`${op}: cannot reduce over an empty axis ${a} of shape ${fmt(x.shape)}`);
  }
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  const y = Tensor.empty(outShape);
  reduceKernel(rt(), kind, x.buffer, x.shape, axes, y.buffer, scale);
  return y;
}

/** The gradient of a reduction, broadcast back to the input's shape. */
function expandGrad(g: Tensor, inShape: Shape, axes: number[]): Tensor {
  return broadcastTo(reshape(g, inShape.map((d, i) => (axes.includes(i) ? 1 : d))), inShape);
}

export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  x.assertAlive('sum');
  const ax = normalizeAxes('sum', axes, x.rank, x.shape);
  const y = reduceForward('sum', 'sum', x, ax, keepDims, 1);
  record('sum', y, [x], [], (g) => [expandGrad(g, x.shape, ax)]);
  return y;
}

export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  x.assertAlive('mean');
  const ax = normalizeAxes('mean', axes, x.rank, x.shape);
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  const y = reduceForward('mean', 'sum', x, ax, keepDims, 1 / count);
  record('mean', y, [x], [], (g) => [affine(expandGrad(g, x.shape, ax), 1 / count, 0)]);
  return y;
}

/** Maximum over axes (PyTorch's `amax`). Elements tied for the maximum share its gradient evenly. */
export function max(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  x.assertAlive('max');
  const ax = normalizeAxes('max', axes, x.rank, x.shape);
  const y = reduceForward('max', 'max', x, ax, keepDims, 1);
  record('max', y, [x], [x, y], (g, [xs, ys]) => {
    const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
    const mask = binaryOp('equal', xs, reshape(ys, keptShape));
    const ties = reduceForward('max', 'sum', mask, ax, true, 1);
    return [binaryOp('mul', mask, binaryOp('div', reshape(g, keptShape), ties))];
  });
  return y;
}

/** Sums `g` over the axes along which `shape` was broadcast to produce `g.shape`. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const s = reduceForward('sumToShape', 'sum', g, axes, false, 1);
  return reshape(s, shape);
}

declare module '../tensor.ts' {
  interface Tensor {
    sum(axes?: number | number[], keepDims?: boolean): Tensor;
    mean(axes?: number | number[], keepDims?: boolean): Tensor;
    max(axes?: number | number[], keepDims?: boolean): Tensor;
  }
}

addMethods({
  sum(axes, keepDims) { return sum(this, axes, keepDims); },
  mean(axes, keepDims) { return mean(this, axes, keepDims); },
  max(axes, keepDims) { return max(this, axes, keepDims); },
});
