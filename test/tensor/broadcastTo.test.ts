// broadcastTo's errors. Its values, gradchecks and memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { broadcastTo, zeros } from '@stripes/tensor';

describe('broadcastTo errors', () => {
  it('a shape that does not fit', () => {
    expect(() => broadcastTo(zeros([3]), [4, 2])).toThrow(/broadcastTo: shapes \[3\] and \[4, 2\] cannot be broadcast/);
    expect(() => broadcastTo(zeros([2, 3]), [3])).toThrow(/broadcastTo: shape \[2, 3\] cannot be broadcast to \[3\]/);
    expect(() => broadcastTo(zeros([3, 1]), [1, 4])).toThrow(/broadcastTo: shape \[3, 1\] cannot be broadcast to \[1, 4\]/);
  });
});
