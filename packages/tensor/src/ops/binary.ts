/** Binary arithmetic with NumPy broadcasting; a number operand becomes an elementwise affine map. */
import { binary, rt, type BinaryOp } from '@stripes/kernels';
import { gradIfNeeded, record } from '../autograd.ts';
import { broadcastShapes, type Shape } from '../shape.ts';
import { addMethods, Tensor } from '../tensor.ts';
import { affine, log, powScalar, scaleShift } from './unary.ts';
import { sumToShape } from './reduce.ts';

/** @internal Forward only, no graph. */
export function binaryOp(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  a.assertAlive(op);
  b.assertAlive(op);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const c = Tensor.empty(shape);
  binary(rt(), op, a.buffer, a.shape, b.buffer, b.shape, c.buffer, shape);
  return c;
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return scaleShift('add', a, 1, b);
  const c = binaryOp('add', a, b);
  record('add', c, [a, b], [], (g) => [gradIfNeeded(a, () => sumToShape(g, a.shape)), gradIfNeeded(b, () => sumToShape(g, b.shape))]);
  return c;
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return scaleShift('sub', a, 1, -b);
  const c = binaryOp('sub', a, b);
  record('sub', c, [a, b], [], (g) => [gradIfNeeded(a, () => sumToShape(g, a.shape)), gradIfNeeded(b, () => sumToShape(affine(g, -1, 0), b.shape))]);
  return c;
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return scaleShift('mul', a, b, 0);
  const c = binaryOp('mul', a, b);
  record('mul', c, [a, b], [a, b], (g, [as, bs]) => [
    gradIfNeeded(a, () => sumToShape(binaryOp('mul', g, bs), a.shape)),
    gradIfNeeded(b, () => sumToShape(binaryOp('mul', g, as), b.shape)),
  ]);
  return c;
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return scaleShift('div', a, 1 / b, 0);
  const c = binaryOp('div', a, b);
  record('div', c, [a, b], [b, c], (g, [bs, cs]) => [
    gradIfNeeded(a, () => sumToShape(binaryOp('div', g, bs), a.shape)),
    // d(a/b)/db = -(a/b)/b
    gradIfNeeded(b, () => sumToShape(affine(binaryOp('div', binaryOp('mul', g, cs), bs), -1, 0), b.shape)),
  ]);
  return c;
}

export function pow(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return powScalar(a, b);
  const c = binaryOp('pow', a, b);
  record('pow', c, [a, b], [a, b, c], (g, [as, bs, cs]) => [
    gradIfNeeded(a, () => sumToShape(binaryOp('mul', g, binaryOp('mul', bs, binaryOp('pow', as, affine(bs, 1, -1)))), a.shape)),
    gradIfNeeded(b, () => sumToShape(binaryOp('mul', g, binaryOp('mul', cs, log(as))), b.shape)),
  ]);
  return c;
}

function extremum(op: 'maximum' | 'minimum', a: Tensor, b: Tensor): Tensor {
  const c = binaryOp(op, a, b);
  // The side equal to the result gets the gradient; a tie splits it in half
  // between both, as PyTorch does: weight = [x == c] - 0.5 [a == b].
  record(op, c, [a, b], [a, b, c], (g, [as, bs, cs]) => {
    const halfTie = affine(binaryOp('equal', as, bs), 0.5, 0);
    const share = (xs: Tensor, shape: Shape) => sumToShape(binaryOp('mul', g, binaryOp('sub', binaryOp('equal', xs, cs), halfTie)), shape);
    return [gradIfNeeded(a, () => share(as, a.shape)), gradIfNeeded(b, () => share(bs, b.shape))];
  });
  return c;
}

export const maximum = (a: Tensor, b: Tensor): Tensor => extremum('maximum', a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => extremum('minimum', a, b);

declare module '../tensor.ts' {
  interface Tensor {
    add(b: Tensor | number): Tensor;
    sub(b: Tensor | number): Tensor;
    mul(b: Tensor | number): Tensor;
    div(b: Tensor | number): Tensor;
    pow(b: Tensor | number): Tensor;
    maximum(b: Tensor): Tensor;
    minimum(b: Tensor): Tensor;
  }
}

addMethods({
  add(b) { return add(this, b); },
  sub(b) { return sub(this, b); },
  mul(b) { return mul(this, b); },
  div(b) { return div(this, b); },
  pow(b) { return pow(this, b); },
  maximum(b) { return maximum(this, b); },
  minimum(b) { return minimum(this, b); },
});
