// sum / mean / max: exact small cases, infinities, ties in max's gradient, and
// large reductions against f64 references. A sum of n f32 terms is within
// (n - 1) u sum|x| of the exact value in any summation order, so sums and
// means are checked per output with that bound (u = 2^-24); max is exact.
// Large cases cover both reduction kernels (one thread per output below 256
// reduced elements, one workgroup per output from 256) and the 2D grid (more
// than 65535 workgroups), and bad axes. Reductions over every kind of axis list, their
// gradchecks and memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { max, mean, Rng, sum, tensor, zeros } from '@stripes/tensor';
import { randomF32, reduce, ref, sizeOf, TOL, U32 } from '../helpers/reference.ts';

type Op = 'sum' | 'mean' | 'max';

describe('reductions: exact values', () => {
  it('sum of a scalar is that scalar', async () => {
    const s = sum(tensor(4));
    expect(s.shape).toEqual([]);
    expect(await s.item()).toBe(4);
  });

  it('sum of all elements gives a scalar; keepDims gives all 1s', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const a = x.sum();
    expect(a.shape).toEqual([]);
    expect(await a.item()).toBe(21);
    const b = x.sum(undefined, true);
    expect(b.shape).toEqual([1, 1]);
    expect(await b.item()).toBe(21);
    expect([...(await x.sum(0).data())]).toEqual([5, 7, 9]);
    expect([...(await x.sum(1).data())]).toEqual([6, 15]);
    expect([...(await x.mean(-1).data())]).toEqual([2, 5]);
    expect([...(await x.max(0, true).data())]).toEqual([4, 5, 6]);
    expect(x.max(0, true).shape).toEqual([1, 3]);
  });

  it('max of all-negative values and of ±Infinity', async () => {
    expect(await max(tensor([-5, -3, -9])).item()).toBe(-3);
    expect(await max(tensor([-Infinity, -1e30])).item()).toBe(Math.fround(-1e30));
    expect(await max(tensor([1, Infinity, 2])).item()).toBe(Infinity);
    // All -Infinity (e.g. a fully masked row), in both kernels: -Infinity, not -FLT_MAX.
    expect(await max(tensor([-Infinity, -Infinity])).item()).toBe(-Infinity);
    expect([...(await max(tensor(new Array(600).fill(-Infinity), [2, 300]), 1).data())]).toEqual([-Infinity, -Infinity]);
  });
});

describe('max gradient', () => {
  it('shares the gradient evenly between tied maxima (torch.amax), per output', async () => {
    const x = tensor([3, 1, 3, 3, 0, 2, 5, 5, 5, 5, -1, 4], [3, 4]).requireGrad();
    max(x, 1).mul(tensor([3, 6, 8])).sum().backward();
    expect([...(await x.grad!.data())]).toEqual([1, 0, 1, 1, 0, 0, 3, 3, 4, 4, 0, 0]);
    const y = tensor([5, 1, 5, 5], [4]).requireGrad();
    max(y).backward(); // all axes, as torch.max(x) without a dim
    expect([...(await y.grad!.data())]).toEqual([1 / 3, 0, 1 / 3, 1 / 3].map(Math.fround));
  });
});

describe('large reductions', () => {
  /** Checks sum / mean / max of a [outer, inner] tensor along `axis` with a direct f64 loop. */
  async function checkLarge(outer: number, inner: number, axis: 0 | 1, ops: Op[]): Promise<void> {
    const rng = new Rng(outer * 7 + inner);
    const data = randomF32(outer * inner, rng, -2, 2);
    const outputs = axis === 1 ? outer : inner;
    const count = axis === 1 ? inner : outer;
    const s = new Float64Array(outputs);
    const a = new Float64Array(outputs);
    const m = new Float64Array(outputs).fill(-Infinity);
    for (let i = 0; i < outer; i++) {
      for (let j = 0; j < inner; j++) {
        const v = data[i * inner + j];
        const o = axis === 1 ? i : j;
        s[o] += v;
        a[o] += Math.abs(v);
        if (v > m[o]) m[o] = v;
      }
    }
    const x = tensor(data, [outer, inner]);
    for (const op of ops) {
      const y = op === 'sum' ? x.sum(axis) : op === 'mean' ? x.mean(axis) : x.max(axis);
      expect(y.shape).toEqual([outputs]);
      const got = await y.data();
      const label = `${op} of [${outer}, ${inner}] over axis ${axis}`;
      if (op === 'max') expect(got).toBeAllClose(m, TOL.exact, label);
      else if (op === 'sum') expect(got).toBeAllClose(s, { rtol: (count + 2) * U32, scale: a }, label);
      else expect(got).toBeAllClose(s.map((v) => v / count), { rtol: (count + 2) * U32, scale: a.map((v) => v / count) }, label);
      y.dispose();
    }
    x.dispose();
  }

  it('more than 256 elements per output (workgroup-per-output kernel), few outputs', async () => {
    await checkLarge(3, 1000, 1, ['sum', 'mean', 'max']);
    await checkLarge(1000, 5, 0, ['sum', 'mean', 'max']);
    await checkLarge(7, 256, 1, ['sum', 'max']); // exactly 256: the workgroup kernel's threshold
    await checkLarge(9, 255, 1, ['sum', 'max']); // one below it: the thread-per-output kernel
  });

  it('a single output over 265k elements', async () => {
    const rng = new Rng(11);
    const shape = [513, 517];
    const data = randomF32(sizeOf(shape), rng, 0, 1);
    const x = tensor(data, shape);
    const e = reduce(ref(shape, data), 'sum');
    expect(await x.sum().data()).toBeAllClose(e, { rtol: (e.count + 2) * U32, scale: e.absSum }, 'sum of [513, 517]');
    expect(await x.max().data()).toBeAllClose(reduce(ref(shape, data), 'max'), TOL.exact, 'max of [513, 517]');
    x.dispose();
  });

  it('more than 65535 outputs with few elements each (thread-per-output kernel)', async () => {
    await checkLarge(70001, 3, 1, ['sum', 'max']);
    await checkLarge(2, 70001, 0, ['mean']);
  });

  it('more than 65535 outputs with more than 256 elements each (workgroup kernel on the 2D grid)', async () => {
    // The smallest such case (16.8M elements): lavapipe takes ~1 s per pass.
    await checkLarge(65537, 257, 1, ['sum']);
  });
});

describe('reduction errors', () => {
  it('bad axes', () => {
    const x = zeros([2, 3, 4]);
    expect(() => sum(x, 3)).toThrow(/sum: axis 3 is out of range for shape \[2, 3, 4\] \(rank 3\)/);
    expect(() => mean(x, -4)).toThrow(/mean: axis -4 is out of range/);
    expect(() => max(x, [0, 5])).toThrow(/max: axis 5 is out of range/);
    expect(() => sum(x, [1, -2])).toThrow(/sum: repeated axis in \[1, -2\] for shape \[2, 3, 4\]/);
    expect(() => sum(x, 0.5)).toThrow(/sum: axis 0.5 is out of range/);
    expect(() => max(zeros([2, 0]), 1)).toThrow(/max: cannot reduce over an empty axis 1 of shape \[2, 0\]/);
  });
});
