// matmul: an empty inner dimension, exact small integers, and errors. Its values on
// tiles, batches and broadcasts, gradchecks and memory are rows of
// test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { matmul, tensor, zeros } from '@stripes/tensor';

describe('matmul: exact cases', () => {
  it('an empty inner dimension gives zeros', async () => {
    const y = matmul(tensor([], [3, 0]), tensor([], [0, 4]));
    expect(y.shape).toEqual([3, 4]);
    expect([...(await y.data())]).toEqual(new Array(12).fill(0));
  });

  it('exact small integers', async () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = tensor([
      [7, 8],
      [9, 10],
      [11, 12],
    ]);
    expect([...(await a.matmul(b).data())]).toEqual([58, 64, 139, 154]);
  });
});

describe('matmul errors', () => {
  it('matmul: inner dimensions, batch dimensions, rank', () => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/);
    expect(() => matmul(zeros([2, 3, 4]), zeros([3, 4, 5]))).toThrow(/matmul: batch dimensions of \[2, 3, 4\] and \[3, 4, 5\] must match/);
    expect(() => matmul(zeros([3]), zeros([3, 2]))).toThrow(/matmul: both operands need rank >= 2, got \[3\] and \[3, 2\]/);
  });
});
