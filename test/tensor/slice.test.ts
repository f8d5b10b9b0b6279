// slice / concat / stack beyond the op table's rows (test/tensor/ops.table.ts):
// a stack of scalars, the gradient of one tensor concatenated with itself, and
// errors.
import { describe, expect, it } from 'vitest';
import { concat, Rng, slice, stack, tensor, zeros } from '@stripes/tensor';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';

describe('concat / stack', () => {
  it('stack of scalars is a vector', async () => {
    const s = stack([tensor(1), tensor(2), tensor(3)]);
    expect(s.shape).toEqual([3]);
    expect([...(await s.data())]).toEqual([1, 2, 3]);
  });

  it('concat of the same tensor twice: both pieces add into its gradient', async () => {
    expect(await gradcheck('concat of the same tensor twice', (a) => concat([a, a], 0), [randomInput([2, 3], new Rng(6))])).toBe(6);
  });
});

describe('slice / concat / stack errors', () => {
  it('concat / stack: shapes outside the axis, empty lists', () => {
    expect(() => concat([zeros([2, 3]), zeros([2, 4])], 0)).toThrow(/concat: shapes \[2, 3\], \[2, 4\] differ outside axis 0/);
    expect(() => concat([zeros([2, 3]), zeros([2, 3, 1])], 0)).toThrow(/concat: shapes .* differ/);
    expect(() => concat([])).toThrow(/concat: needs at least one tensor/);
    expect(() => stack([zeros([2]), zeros([3])])).toThrow(/concat: shapes/);
    expect(() => stack([])).toThrow(/stack: needs at least one tensor/);
  });

  it('slice ranges', () => {
    const x = zeros([3, 4]);
    expect(() => slice(x, 0, 2, 5)).toThrow(/slice: range 2:5 is out of bounds for axis 0 of shape \[3, 4\]/);
    expect(() => slice(x, 1, 3, 1)).toThrow(/slice: range 3:1 is out of bounds for axis 1/);
    expect(() => slice(x, 1, -5)).toThrow(/slice: range -5: is out of bounds for axis 1/);
    expect(() => slice(x, 0, 1.5, 2)).toThrow(/slice: range 1.5:2 is out of bounds/);
  });

  it('axes out of range', () => {
    const x = zeros([2, 3, 4]);
    expect(() => slice(x, 3, 0, 1)).toThrow(/slice: axis 3 is out of range/);
    expect(() => concat([x, x], 3)).toThrow(/concat: axis 3 is out of range/);
    expect(() => stack([x, x], 4)).toThrow(/stack: axis 4 is out of range/);
  });
});
