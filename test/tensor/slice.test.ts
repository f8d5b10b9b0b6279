// slice / concat / stack beyond the op table's rows (test/tensor/ops.table.ts):
// a stack of scalars, and the gradient of one tensor concatenated with itself.
import { describe, expect, it } from 'vitest';
import { concat, Rng, stack, tensor } from '@stripes/tensor';
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
