// Layout ops against f64 references: reshape, flatten, permute, transpose,
// slice, concat, stack, broadcastTo, clone. They move f32 values without
// arithmetic, so results must be exact.
import { describe, expect, it } from 'vitest';
import { broadcastTo, clone, concat, flatten, permute, reshape, Rng, slice, stack, tensor, tidy, transpose } from '@stripes/tensor';
import * as R from '../helpers/reference.ts';
import { expectClose, randomF32, randomShape, ref, sizeOf, TOL } from '../helpers/reference.ts';

function shuffle<T>(xs: T[], rng: Rng): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('reshape / flatten', () => {
  it('reshape keeps row-major order; -1 is inferred', async () => {
    const rng = new Rng(1);
    const d = randomF32(60, rng);
    const x = tensor(d, [3, 4, 5]);
    for (const [target, expected] of [
      [[60], [60]],
      [[-1], [60]],
      [[5, -1], [5, 12]],
      [[2, -1, 5], [2, 6, 5]],
      [[1, 3, 1, 20], [1, 3, 1, 20]],
      [[-1, 1], [60, 1]],
    ] as const) {
      const y = reshape(x, [...target]);
      expect(y.shape).toEqual(expected);
      expectClose(await y.data(), d, TOL.exact, `reshape to [${target}]`);
    }
    expect(x.reshape([4, 15]).shape).toEqual([4, 15]);
    const s = tensor([7]).reshape([]);
    expect(s.shape).toEqual([]);
    expect(await s.item()).toBe(7);
    expect(tensor([], [0, 3]).reshape([-1, 3]).shape).toEqual([0, 3]);
  });

  it('flatten merges startAxis..endAxis', async () => {
    const d = randomF32(120, new Rng(2));
    const x = tensor(d, [2, 3, 4, 5]);
    expect(flatten(x).shape).toEqual([120]);
    expect(x.flatten(1).shape).toEqual([2, 60]);
    expect(x.flatten(1, 2).shape).toEqual([2, 12, 5]);
    expect(x.flatten(-2, -1).shape).toEqual([2, 3, 20]);
    expect(x.flatten(2, 2).shape).toEqual([2, 3, 4, 5]);
    expect(flatten(tensor(3)).shape).toEqual([1]);
    expectClose(await x.flatten(1, 2).data(), d, TOL.exact, 'flatten');
  });
});

describe('permute / transpose', () => {
  it('random permutations of random shapes up to rank 6', async () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 14; trial++) {
      const rank = 1 + (trial % 6);
      const shape = randomShape(rank, rng, 5);
      const dims = shuffle([...Array(rank).keys()], rng);
      if (trial % 3 === 0) dims[0] -= rank; // a negative axis
      const d = randomF32(sizeOf(shape), rng);
      const y = tidy(() => (trial % 2 ? permute(tensor(d, shape), dims) : tensor(d, shape).permute(dims)));
      const e = R.permute(ref(shape, d), dims);
      expect(y.shape, `permute [${shape}] by [${dims}]`).toEqual(e.shape);
      expectClose(await y.data(), e, TOL.exact, `permute [${shape}] by [${dims}]`);
      y.dispose();
    }
  });

  it('transpose swaps the last two axes by default, or any two', async () => {
    const rng = new Rng(4);
    const shape = [3, 5, 7, 2];
    const d = randomF32(sizeOf(shape), rng);
    const x = tensor(d, shape);
    for (const [a, b] of [[-2, -1], [0, 1], [0, 3], [1, -2], [2, 2], [-4, -1]] as const) {
      const y = transpose(x, a, b);
      const e = R.transpose(ref(shape, d), a, b);
      expect(y.shape).toEqual(e.shape);
      expectClose(await y.data(), e, TOL.exact, `transpose(${a}, ${b})`);
    }
    const t = x.transpose();
    expect(t.shape).toEqual([3, 5, 2, 7]);
    expectClose(await t.data(), R.transpose(ref(shape, d)), TOL.exact, 'transpose()');
    // 2-D with odd sizes.
    const m = randomF32(13 * 31, rng);
    expectClose(await tensor(m, [13, 31]).transpose().data(), R.transpose(ref([13, 31], m)), TOL.exact, 'transpose 13x31');
  });
});

describe('slice / concat / stack', () => {
  it('slice along each axis, with negative and omitted ends', async () => {
    const rng = new Rng(5);
    const shape = [4, 7, 5];
    const d = randomF32(sizeOf(shape), rng);
    const x = tensor(d, shape);
    const ranges: Array<[number, number | undefined]> = [[0, undefined], [1, 3], [-2, undefined], [-3, -1], [0, -1], [2, 2], [0, 1], [-1, undefined]];
    for (let axis = -3; axis < 3; axis++) {
      for (const [s, e] of ranges) {
        const n = shape[axis < 0 ? axis + 3 : axis];
        if ((s < 0 ? s + n : s) > (e === undefined ? n : e < 0 ? e + n : e)) continue;
        const y = slice(x, axis, s, e);
        const r = R.slice(ref(shape, d), axis, s, e);
        expect(y.shape, `slice(${axis}, ${s}, ${e})`).toEqual(r.shape);
        expectClose(await y.data(), r, TOL.exact, `slice(${axis}, ${s}, ${e})`);
        y.dispose();
      }
    }
    expectClose(await x.slice(1, -4, 6).data(), R.slice(ref(shape, d), 1, -4, 6), TOL.exact, 'method slice');
  });

  it('concat along each axis, with differing sizes on that axis', async () => {
    const rng = new Rng(6);
    const base = [3, 4, 5];
    for (let axis = -3; axis < 3; axis++) {
      const a = axis < 0 ? axis + 3 : axis;
      const shapes = [1, 3, 2].map((k) => base.map((d, i) => (i === a ? k : d)));
      const datas = shapes.map((s) => randomF32(sizeOf(s), rng));
      const y = tidy(() => concat(shapes.map((s, i) => tensor(datas[i], s)), axis));
      const e = R.concat(shapes.map((s, i) => ref(s, datas[i])), axis);
      expect(y.shape).toEqual(e.shape);
      expectClose(await y.data(), e, TOL.exact, `concat axis ${axis}`);
      y.dispose();
    }
    // One input, and an empty piece.
    const d = randomF32(6, rng);
    expectClose(await concat([tensor(d, [2, 3])], 1).data(), d, TOL.exact, 'concat of one');
    const withEmpty = concat([tensor(d, [2, 3]), tensor([], [2, 0])], 1);
    expect(withEmpty.shape).toEqual([2, 3]);
    expectClose(await withEmpty.data(), d, TOL.exact, 'concat with an empty piece');
  });

  it('stack along each new axis, including negative ones', async () => {
    const rng = new Rng(7);
    const shape = [3, 5];
    const datas = [0, 1, 2, 3].map(() => randomF32(15, rng));
    for (let axis = -3; axis <= 2; axis++) {
      const y = tidy(() => stack(datas.map((d) => tensor(d, shape)), axis));
      const e = R.stack(datas.map((d) => ref(shape, d)), axis);
      expect(y.shape, `stack axis ${axis}`).toEqual(e.shape);
      expectClose(await y.data(), e, TOL.exact, `stack axis ${axis}`);
      y.dispose();
    }
    const s = stack([tensor(1), tensor(2), tensor(3)]);
    expect(s.shape).toEqual([3]);
    expect([...(await s.data())]).toEqual([1, 2, 3]);
  });
});

describe('broadcastTo / clone', () => {
  it('broadcastTo adds leading dims and expands size-1 dims', async () => {
    const rng = new Rng(8);
    for (const [from, to] of [
      [[3], [4, 3]],
      [[1], [2, 3, 5]],
      [[4, 1], [2, 4, 7]],
      [[1, 5, 1], [3, 5, 2]],
      [[], [2, 2]],
      [[2, 3], [2, 3]],
      [[3, 1], [1, 2, 3, 6]],
    ] as const) {
      const d = randomF32(sizeOf(from), rng);
      const y = broadcastTo(tensor(d, [...from]), [...to]);
      const e = R.broadcastTo(ref(from, d), to);
      expect(y.shape).toEqual([...to]);
      expectClose(await y.data(), e, TOL.exact, `broadcastTo [${from}] -> [${to}]`);
    }
  });

  it('clone copies every element of an odd-sized tensor', async () => {
    const d = randomF32(1031, new Rng(9));
    const x = tensor(d, [1031]);
    const y = clone(x);
    x.dispose();
    expectClose(await y.data(), d, TOL.exact, 'clone');
  });
});
