// transpose's default axes, and permute / transpose errors. Their values on
// random shapes and axis pairs, gradchecks and memory are rows of
// test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { permute, transpose, zeros } from '@stripes/tensor';

describe('transpose', () => {
  it('swaps the last two axes by default', () => {
    expect(zeros([3, 5, 7, 2]).transpose().shape).toEqual([3, 5, 2, 7]);
    expect(zeros([13, 31]).transpose().shape).toEqual([31, 13]);
  });
});

describe('permute / transpose errors', () => {
  it('a non-permutation and axes out of range', () => {
    const x = zeros([2, 3, 4]);
    expect(() => permute(x, [0, 1])).toThrow(/permute: \[0, 1\] is not a permutation of the 3 axes of shape \[2, 3, 4\]/);
    expect(() => permute(x, [0, 1, 1])).toThrow(/permute: \[0, 1, 1\] is not a permutation/);
    expect(() => permute(x, [0, 1, 3])).toThrow(/permute: axis 3 is out of range/);
    expect(() => transpose(x, 0, 3)).toThrow(/transpose: axis 3 is out of range/);
  });
});
