/**
 * `expect(actual).toBeAllClose(expected, { rtol, atol, scale }, label?)`: elementwise
 * closeness as numpy.allclose, element i passing when
 * |a_i - e_i| <= atol + rtol * max(|e_i|, scale_i). `scale` is a per-element
 * error scale (sum |x| for a reduction, |A| @ |B| for a matmul; see
 * test/helpers/reference.ts). A NaN expected requires NaN, an infinity the
 * same infinity. `label` starts the failure message (vitest drops
 * `expect(value, message)`'s message for custom matchers). Registered for
 * every test file by test/setup.ts.
 */
import { unravel, type Ref, type Tolerance } from './reference.ts';

export type Expected = Ref | ArrayLike<number>;

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

const isRef = (e: Expected): e is Ref => 'data' in e && 'shape' in e;

function allowedAt(expected: number, i: number, tol: Tolerance): number {
  return (tol.atol ?? 0) + tol.rtol * Math.max(Math.abs(expected), tol.scale ? tol.scale[i] : 0);
}

function closeAt(a: number, e: number, allowed: number): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  return Math.abs(a - e) <= allowed;
}

const fmtShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * Float rounding of the same sums added in another order: `r` of the
 * largest |value| of `expected` (or of all of several arrays), for every
 * element. A gradient's small entries carry the rounding of its large ones,
 * and a gradient that is zero but for rounding (a conv bias before instance
 * norm) the rounding of the gradients it was summed from: pass them all.
 */
export function roundingOf(expected: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>, r = 1e-5): Tolerance {
  const arrays = typeof expected[0] === 'number' ? [expected as ArrayLike<number>] : (expected as ReadonlyArray<ArrayLike<number>>);
  let max = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]));
  return { rtol: r, atol: r * max };
}

export function toBeAllClose(actual: ArrayLike<number>, expected: Expected, tol: Tolerance, label?: string): MatcherResult {
  const prefix = label ? `${label}: ` : '';
  const e = isRef(expected) ? expected.data : expected;
  const shape = isRef(expected) ? expected.shape : [e.length];
  if (actual.length !== e.length) {
    return { pass: false, message: () => `${prefix}expected ${actual.length} values to be all close to ${e.length} values of shape ${fmtShape(shape)}` };
  }
  let mismatches = 0;
  let first = -1;
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < e.length; i++) {
    const diff = Math.abs(actual[i] - e[i]);
    if (Number.isFinite(diff)) {
      maxAbs = Math.max(maxAbs, diff);
      if (e[i] !== 0) maxRel = Math.max(maxRel, diff / Math.abs(e[i]));
    }
    if (!closeAt(actual[i], e[i], allowedAt(e[i], i, tol))) {
      mismatches++;
      if (first < 0) first = i;
    }
  }
  const tolText = `rtol ${tol.rtol}, atol ${tol.atol ?? 0}${tol.scale ? ', per-element scale' : ''}`;
  const errors = `max abs error ${maxAbs.toExponential(3)}, max rel error ${maxRel.toExponential(3)}`;
  if (mismatches === 0) {
    return { pass: true, message: () => `${prefix}expected shape ${fmtShape(shape)} not to be all close (${tolText}); ${errors}` };
  }
  const a = actual[first];
  const x = e[first];
  return {
    pass: false,
    message: () =>
      `${prefix}expected shape ${fmtShape(shape)} to be all close (${tolText}): ${mismatches} of ${e.length} elements differ; ` +
      `first at ${fmtShape(unravel(first, shape))} (flat ${first}): actual ${a}, expected ${x}, ` +
      `|diff| ${Math.abs(a - x).toExponential(3)} > allowed ${allowedAt(x, first, tol).toExponential(3)}; ${errors}`,
  };
}

interface AllCloseMatchers<R = unknown> {
  /** Elementwise closeness (see test/helpers/matchers.ts); on failure names the first mismatching index, the max errors and the shape. */
  toBeAllClose(expected: Expected, tol: Tolerance, label?: string): R;
}

declare module 'vitest' {
  // The type parameter as vitest declares it, so the merge is accepted.
  interface Assertion<T = any> extends AllCloseMatchers<T> {}
  interface AsymmetricMatchersContaining extends AllCloseMatchers {}
}
