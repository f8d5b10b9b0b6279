// transpose's default axes. permute / transpose values on random shapes and
// axis pairs, gradchecks and memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { zeros } from '@stripes/tensor';

describe('transpose', () => {
  it('swaps the last two axes by default', () => {
    expect(zeros([3, 5, 7, 2]).transpose().shape).toEqual([3, 5, 2, 7]);
    expect(zeros([13, 31]).transpose().shape).toEqual([31, 13]);
  });
});
