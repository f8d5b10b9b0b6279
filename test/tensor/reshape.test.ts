// reshape / flatten: the shapes they make (-1 inferred, axes merged), a scalar,
// an empty tensor, and errors. Their values, gradchecks and memory are rows of
// test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { flatten, reshape, tensor, zeros } from '@stripes/tensor';

describe('reshape / flatten: shapes', () => {
  it('reshape keeps the element count; -1 is inferred', () => {
    const x = zeros([3, 4, 5]);
    for (const [target, expected] of [
      [[60], [60]],
      [[-1], [60]],
      [[5, -1], [5, 12]],
      [[2, -1, 5], [2, 6, 5]],
      [[1, 3, 1, 20], [1, 3, 1, 20]],
      [[-1, 1], [60, 1]],
    ] as const) {
      expect(reshape(x, [...target]).shape, `reshape to [${target}]`).toEqual(expected);
    }
    expect(x.reshape([4, 15]).shape).toEqual([4, 15]);
  });

  it('reshape of a scalar and of an empty tensor', async () => {
    const s = tensor([7]).reshape([]);
    expect(s.shape).toEqual([]);
    expect(await s.item()).toBe(7);
    expect(tensor([], [0, 3]).reshape([-1, 3]).shape).toEqual([0, 3]);
  });

  it('flatten merges startAxis..endAxis; a scalar becomes [1]', () => {
    const x = zeros([2, 3, 4, 5]);
    expect(flatten(x).shape).toEqual([120]);
    expect(x.flatten(1).shape).toEqual([2, 60]);
    expect(x.flatten(1, 2).shape).toEqual([2, 12, 5]);
    expect(x.flatten(-2, -1).shape).toEqual([2, 3, 20]);
    expect(x.flatten(2, 2).shape).toEqual([2, 3, 4, 5]);
    expect(flatten(tensor(3)).shape).toEqual([1]);
  });
});

describe('reshape / flatten errors', () => {
  it('reshape to a shape of another size or an invalid shape', () => {
    const x = zeros([2, 3]);
    expect(() => reshape(x, [4, 2])).toThrow(/reshape: cannot reshape a tensor of shape \[2, 3\] \(6 elements\) into \[4, 2\]/);
    expect(() => reshape(x, [-1, 4])).toThrow(/reshape: cannot reshape a tensor of shape \[2, 3\] \(6 elements\) into \[-1, 4\]/);
    expect(() => reshape(x, [-1, -1])).toThrow(/reshape: invalid target shape \[-1, -1\]/);
    expect(() => reshape(x, [2, -3])).toThrow(/reshape: invalid target shape \[2, -3\]/);
    expect(() => reshape(x, [2.5, 2])).toThrow(/reshape: invalid target shape/);
  });

  it('flatten axes', () => {
    const x = zeros([2, 3, 4]);
    expect(() => flatten(x, 2, 1)).toThrow(/flatten: startAxis 2 comes after endAxis 1/);
    expect(() => flatten(x, 4)).toThrow(/flatten: axis 4 is out of range/);
  });
});
