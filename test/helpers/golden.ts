/**
 * The PyTorch golden fixtures (test/golden/fixtures, written by
 * test/golden/generate.py; see its header for the naming scheme) and the
 * suite's closeness measure as vitest assertions. Both live in
 * test/golden/cases.ts, which the bundle's selfcheck runs without vitest.
 */
import { expect } from 'vitest';
import { compareClose, type Tolerance } from '../golden/cases.ts';

export { loadGolden, type FixtureCase, type Golden } from '../golden/cases.ts';

/**
 * Fails (through vitest's expect, naming `label`, the error and the worst
 * element) unless `actual` is close to `expected` by `compareClose`'s
 * measure: max |a-e| relative to the largest |expected| (floored by `atol`)
 * at most `rtol`. Returns that error.
 */
export function expectClose(
  actual: Float32Array | readonly number[],
  expected: Float32Array,
  tol: Tolerance,
  label: string,
  shape?: readonly number[],
): number {
  const { err, mismatch } = compareClose(actual, expected, tol, label, shape);
  if (mismatch) expect.fail(mismatch);
  return err;
}

export function assertSameShape(actual: readonly number[], expected: readonly number[], label: string): void {
  expect([...actual], `${label}: shape`).toEqual([...expected]);
}
