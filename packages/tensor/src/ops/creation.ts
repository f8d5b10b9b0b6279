/** Tensor creation: constants, host data, seeded random values, copies. */
import { fill, rt } from '@stripes/kernels';
import { record } from '../autograd.ts';
import { globalRng, type Rng } from '../random.ts';
import { assertShape, fmt, sizeOf, type Shape } from '../shape.ts';
import { addMethods, Tensor } from '../tensor.ts';

export type NestedArray = number | NestedArray[];

export function full(shape: Shape, value: number): Tensor {
  assertShape('full', shape);
  const t = Tensor.empty(shape);
  fill(rt(), t.buffer, t.size, value);
  return t;
}

export function zeros(shape: Shape): Tensor {
  return full(shape, 0);
}

export function ones(shape: Shape): Tensor {
  return full(shape, 1);
}

export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0);
}

export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1);
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] ?? 0;
  }
  return shape;
}

/** Whether every level of `data` has exactly the length `shape` says (numbers only at the bottom). */
function isRegular(data: NestedArray, shape: readonly number[], d: number): boolean {
  if (d === shape.length) return !Array.isArray(data);
  return Array.isArray(data) && data.length === shape[d] && data.every((v) => isRegular(v, shape, d + 1));
}

/**
 * A tensor from host data: a flat array / Float32Array with an explicit
 * shape, or nested arrays whose shape is inferred (and checked to be regular).
 */
export function tensor(data: NestedArray | Float32Array | ArrayLike<number>, shape?: Shape): Tensor {
  let flat: Float32Array;
  let s: number[];
  if (typeof data === 'number') {
    flat = Float32Array.of(data);
    s = [];
  } else if (Array.isArray(data) && data.some((d) => Array.isArray(d))) {
    s = inferShape(data);
    const values = (data as unknown[]).flat(Infinity) as unknown[];
    if (!isRegular(data, s, 0) || values.length !== sizeOf(s) || values.some((v) => typeof v !== 'number')) {
      throw new Error(`tensor: nested array is ragged or holds non-numbers (inferred shape ${fmt(s)}, got ${values.length} values)`);
    }
    flat = Float32Array.from(values as number[]);
  } else {
    flat = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    s = [flat.length];
  }
  if (shape) {
    assertShape('tensor', shape);
    if (sizeOf(shape) !== flat.length) throw new Error(`tensor: ${flat.length} values cannot fill shape ${fmt(shape)} (${sizeOf(shape)} elements)`);
    s = [...shape];
  }
  const t = Tensor.empty(s);
  if (flat.length) rt().write(t.buffer, flat);
  return t;
}

/** Alias of `tensor`, for readers coming from tfjs. */
export const fromArray = tensor;

export interface RandomOptions {
  /** Generator to draw from; defaults to the process-wide one seeded by `manualSeed`. */
  rng?: Rng;
}

/** Normal samples N(mean, std^2), drawn on the CPU so a seed reproduces on every adapter. */
export function randn(shape: Shape, options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  assertShape('randn', shape);
  const values = (options.rng ?? globalRng).fillNormal(new Float32Array(sizeOf(shape)), options.mean ?? 0, options.std ?? 1);
  return tensor(values, shape);
}

/** Uniform samples in [low, high). */
export function rand(shape: Shape, options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  assertShape('rand', shape);
  const values = (options.rng ?? globalRng).fillUniform(new Float32Array(sizeOf(shape)), options.low ?? 0, options.high ?? 1);
  return tensor(values, shape);
}

/** A copy with its own storage; gradients pass straight through. */
export function clone(x: Tensor): Tensor {
  x.assertAlive('clone');
  const y = Tensor.empty(x.shape);
  if (x.size) rt().copy(x.buffer, 0, y.buffer, 0, x.size * 4);
  record('clone', y, [x], [], (g) => [g]);
  return y;
}

declare module '../tensor.ts' {
  interface Tensor {
    clone(): Tensor;
  }
}

addMethods({
  clone() { return clone(this); },
});
