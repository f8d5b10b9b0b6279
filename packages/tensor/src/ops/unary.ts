/** Elementwise maps (one WGSL kernel, `unary`) and their derivatives (`unaryBackward`). */
import { rt, unary, unaryBackward, type UnaryBackwardOp, type UnaryOp } from '@stripes/kernels';
import { record } from '../autograd.ts';
import { addMethods, Tensor } from '../tensor.ts';

function forward(op: UnaryOp, x: Tensor, a = 0, b = 0, name: string = op): Tensor {
  x.assertAlive(name);
  const y = Tensor.empty(x.shape);
  unary(rt(), op, x.buffer, y.buffer, x.size, a, b);
  return y;
}

/** A map whose derivative is one `unaryBackward` kernel on the saved input or output. */
function differentiable(op: UnaryOp & UnaryBackwardOp, savesOutput: boolean, x: Tensor, a = 0): Tensor {
  const y = forward(op, x, a);
  record(op, y, [x], [savesOutput ? y : x], (g, [s]) => {
    const gx = Tensor.empty(g.shape);
    unaryBackward(rt(), op, g.buffer, s.buffer, gx.buffer, g.size, a);
    return [gx];
  });
  return y;
}

export function neg(x: Tensor): Tensor {
  return scaleShift('neg', x, -1, 0);
}

/** y = x * scale + shift, the scalar forms of add/sub/mul/div. */
export function affine(x: Tensor, scale: number, shift: number): Tensor {
  return scaleShift('affine', x, scale, shift);
}

/** @internal `affine` under the name of the op the user called (`neg`, `add` with a number, ...), for errors and the graph. */
export function scaleShift(name: string, x: Tensor, scale: number, shift: number): Tensor {
  const y = forward('affine', x, scale, shift, name);
  record(name, y, [x], [], (g) => [scale === 1 ? g : affine(g, scale, 0)]);
  return y;
}

export const exp = (x: Tensor): Tensor => differentiable('exp', true, x);
export const log = (x: Tensor): Tensor => differentiable('log', false, x);
export const sqrt = (x: Tensor): Tensor => differentiable('sqrt', true, x);
export const abs = (x: Tensor): Tensor => differentiable('abs', false, x);
export const relu = (x: Tensor): Tensor => differentiable('relu', false, x);
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => differentiable('leakyRelu', false, x, slope);
export const tanh = (x: Tensor): Tensor => differentiable('tanh', true, x);
export const sigmoid = (x: Tensor): Tensor => differentiable('sigmoid', true, x);
/** x ** exponent for a constant exponent. */
export const powScalar = (x: Tensor, exponent: number): Tensor => differentiable('powScalar', false, x, exponent);

declare module '../tensor.ts' {
  interface Tensor {
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    leakyRelu(slope?: number): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
  }
}

addMethods({
  neg() { return neg(this); },
  exp() { return exp(this); },
  log() { return log(this); },
  sqrt() { return sqrt(this); },
  abs() { return abs(this); },
  relu() { return relu(this); },
  leakyRelu(slope) { return leakyRelu(this, slope); },
  tanh() { return tanh(this); },
  sigmoid() { return sigmoid(this); },
});
