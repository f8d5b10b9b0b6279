/** Views that change the shape but not the data: they share storage. */
import { record } from '../autograd.ts';
import { fmt, normalizeAxis, sizeOf, type Shape } from '../shape.ts';
import { addMethods, type Tensor } from '../tensor.ts';

/** Same values in a new shape; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  x.assertAlive('reshape');
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new Error(`reshape: invalid target shape ${fmt(shape)} for a tensor of shape ${fmt(x.shape)}`);
  }
  const known = sizeOf(shape.filter((d) => d !== -1));
  const target = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (sizeOf(target) !== x.size || target.some((d) => !Number.isInteger(d))) {
    throw new Error(`reshape: cannot reshape a tensor of shape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
  }
  const y = x.alias(true, target);
  record('reshape', y, [x], [], (g) => [reshape(g, x.shape)]);
  return y;
}

/** Merges axes startAxis..endAxis (inclusive) into one. */
export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  x.assertAlive('flatten');
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis('flatten', startAxis, x.rank, x.shape);
  const e = normalizeAxis('flatten', endAxis, x.rank, x.shape);
  if (s > e) throw new Error(`flatten: startAxis ${startAxis} comes after endAxis ${endAxis} for shape ${fmt(x.shape)}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

declare module '../tensor.ts' {
  interface Tensor {
    reshape(shape: number[]): Tensor;
    flatten(startAxis?: number, endAxis?: number): Tensor;
  }
}

addMethods({
  reshape(shape) { return reshape(this, shape); },
  flatten(startAxis, endAxis) { return flatten(this, startAxis, endAxis); },
});
