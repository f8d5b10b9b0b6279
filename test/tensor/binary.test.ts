// Binary ops: the broadcasting rule, an operand used on both sides, ties of
// maximum / minimum in value and gradient, and shape errors. Their values on
// broadcasting layouts, scalar operands, gradients and memory are rows of
// test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { add, broadcastShapes, div, maximum, minimum, mul, Rng, sub, tensor, zeros } from '@stripes/tensor';
import { broadcastShape, map, randomF32, ref, TOL } from '../helpers/reference.ts';
import { BROADCAST_LAYOUTS, randomBroadcastPair } from './ops.table.ts';

describe('broadcasting', () => {
  it("broadcastShapes follows NumPy's rule on the op table's layouts and on random pairs", () => {
    const rng = new Rng(77);
    for (const [sa, sb] of [...BROADCAST_LAYOUTS, ...Array.from({ length: 6 }, () => randomBroadcastPair(rng))]) {
      expect(broadcastShapes('test', sa, sb), `[${sa}] with [${sb}]`).toEqual(broadcastShape(sa, sb));
    }
  });
});

describe('binary ops: special operands', () => {
  const rng = new Rng(77);

  it('same inputs on both sides (x op x)', async () => {
    const d = randomF32(35, rng, 0.5, 2);
    const x = tensor(d, [5, 7]);
    expect(await add(x, x).data()).toBeAllClose(map(ref([5, 7], d), (v) => 2 * v), TOL.basic, 'x + x');
    expect(await sub(x, x).data()).toBeAllClose(new Array(35).fill(0), TOL.exact, 'x - x');
    expect(await div(x, x).data()).toBeAllClose(new Array(35).fill(1), TOL.basic, 'x / x');
    expect(await mul(x, x).data()).toBeAllClose(map(ref([5, 7], d), (v) => v * v), TOL.basic, 'x * x');
  });

  it('maximum / minimum of equal values return that value', async () => {
    const a = tensor([1, -2, 3]);
    const b = tensor([1, -2, 4]);
    expect([...(await maximum(a, b).data())]).toEqual([1, -2, 4]);
    expect([...(await minimum(a, b).data())]).toEqual([1, -2, 3]);
  });

  it('maximum / minimum split the gradient of a tie in half, as PyTorch does', async () => {
    for (const op of [maximum, minimum]) {
      const a = tensor([1, -2, 3, 5], [4]).requireGrad();
      const b = tensor([1, 0, 3, -1], [4]).requireGrad();
      op(a, b).mul(tensor([2, 4, 6, 8])).sum().backward();
      // torch.maximum: ties at 0 and 2 give each side half; otherwise the larger side gets it all.
      const big = op === maximum;
      expect([...(await a.grad!.data())]).toEqual([1, big ? 0 : 4, 3, big ? 8 : 0]);
      expect([...(await b.grad!.data())]).toEqual([1, big ? 4 : 0, 3, big ? 0 : 8]);
    }
    // Broadcast: one b against a row with a tie sums both halves.
    const a = tensor([2, 7, 2], [3]).requireGrad();
    const b = tensor([2], [1]).requireGrad();
    maximum(a, b).sum().backward();
    expect([...(await a.grad!.data())]).toEqual([0.5, 1, 0.5]);
    expect([...(await b.grad!.data())]).toEqual([1]);
  });
});

describe('binary errors', () => {
  it('binary ops name the op, both shapes and the dimension', () => {
    expect(() => add(zeros([2, 3]), zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast together \(dimension 1: 3 vs 4\)/);
    expect(() => zeros([2, 3]).mul(zeros([3, 2]))).toThrow(/mul: shapes \[2, 3\] and \[3, 2\] cannot be broadcast/);
    expect(() => zeros([5]).sub(zeros([4]))).toThrow(/sub: shapes \[5\] and \[4\]/);
    expect(() => zeros([5]).div(zeros([2, 4]))).toThrow(/div: shapes/);
    expect(() => zeros([5]).pow(zeros([4]))).toThrow(/pow: shapes/);
    expect(() => zeros([5]).maximum(zeros([4]))).toThrow(/maximum: shapes/);
    expect(() => zeros([5]).minimum(zeros([4]))).toThrow(/minimum: shapes/);
  });
});
