// matmul: an empty inner dimension and exact small integers. Its values on
// tiles, batches and broadcasts, gradchecks and memory are rows of
// test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { matmul, tensor } from '@stripes/tensor';

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
