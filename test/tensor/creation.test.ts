// Creation ops: constants, host data (nested / flat + shape), seeded random
// tensors, clone, data() and item(), and their errors.
import { describe, expect, it } from 'vitest';
import { clone, full, manualSeed, ones, onesLike, rand, randn, Rng, tensor, zeros, zerosLike } from '@stripes/tensor';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';
import { sizeOf } from '../helpers/reference.ts';

describe('constants', () => {
  for (const shape of [[], [1], [7], [3, 5], [2, 3, 7], [4, 1, 3, 5], [0], [2, 0, 3]]) {
    it(`zeros / ones / full of shape [${shape}]`, async () => {
      const n = sizeOf(shape);
      const z = zeros(shape);
      const o = ones(shape);
      const f = full(shape, -2.75);
      for (const t of [z, o, f]) {
        expect(t.shape).toEqual(shape);
        expect(t.size).toBe(n);
        expect(t.rank).toBe(shape.length);
      }
      expect([...(await z.data())]).toEqual(new Array(n).fill(0));
      expect([...(await o.data())]).toEqual(new Array(n).fill(1));
      expect([...(await f.data())]).toEqual(new Array(n).fill(-2.75));
      [z, o, f].forEach((t) => t.dispose());
    });
  }

  it('fills more than one workgroup, and over a reused (dirty) buffer', async () => {
    const n = 256 * 3 + 17;
    const a = full([n], 7);
    expect((await a.data()).every((v) => v === 7)).toBe(true);
    a.dispose(); // back to the pool, still holding 7s
    const z = zeros([n]);
    expect((await z.data()).every((v) => v === 0)).toBe(true);
    const o = full([n], 1 / 3);
    expect((await o.data()).every((v) => v === Math.fround(1 / 3))).toBe(true);
    z.dispose();
    o.dispose();
  });

  it('zerosLike / onesLike take the shape', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const z = zerosLike(x);
    const o = onesLike(x);
    expect(z.shape).toEqual([2, 3]);
    expect(o.shape).toEqual([2, 3]);
    expect([...(await z.data())]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...(await o.data())]).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('tensor()', () => {
  it('infers the shape of nested arrays', async () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(a.shape).toEqual([2, 3]);
    expect([...(await a.data())]).toEqual([1, 2, 3, 4, 5, 6]);

    const b = tensor([
      [[1], [2]],
      [[3], [4]],
      [[5], [6]],
    ]);
    expect(b.shape).toEqual([3, 2, 1]);
    expect([...(await b.data())]).toEqual([1, 2, 3, 4, 5, 6]);

    const c = tensor([[0.1, -0.2]]);
    expect(c.shape).toEqual([1, 2]);
    expect([...(await c.data())]).toEqual([Math.fround(0.1), Math.fround(-0.2)]);
  });

  it('takes flat data (array or Float32Array) with a shape, or 1-D without', async () => {
    const a = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(a.shape).toEqual([3, 2]);
    expect([...(await a.data())]).toEqual([1, 2, 3, 4, 5, 6]);
    const data = Float32Array.from({ length: 24 }, (_, i) => i - 11.5);
    const b = tensor(data, [2, 3, 4]);
    expect(b.shape).toEqual([2, 3, 4]);
    expect([...(await b.data())]).toEqual([...data]);
    const c = tensor([7, 8, 9]);
    expect(c.shape).toEqual([3]);
    expect([...(await c.data())]).toEqual([7, 8, 9]);
    const d = tensor([], [0]);
    expect(d.shape).toEqual([0]);
    expect((await d.data()).length).toBe(0);
  });

  it('copies the host data (later host writes do not change the tensor)', async () => {
    const data = Float32Array.of(1, 2, 3);
    const t = tensor(data, [3]);
    data[0] = 100;
    expect([...(await t.data())]).toEqual([1, 2, 3]);
  });

  it('scalars: tensor(x) has shape [] and item() returns it', async () => {
    const s = tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.size).toBe(1);
    expect(await s.item()).toBe(3.5);
    expect(await tensor([[-4]]).item()).toBe(-4);
    expect(await tensor([2.5], [1, 1, 1]).item()).toBe(2.5);
  });

  it('data() returns a fresh copy each time', async () => {
    const t = tensor([1, 2]);
    const d1 = await t.data();
    d1[0] = 99;
    expect([...(await t.data())]).toEqual([1, 2]);
  });
});

describe('random', () => {
  it('randn: the same seed gives identical values, another seed differs', async () => {
    manualSeed(1234);
    const a = await randn([33, 7]).data();
    manualSeed(1234);
    const b = await randn([33, 7]).data();
    manualSeed(1235);
    const c = await randn([33, 7]).data();
    expect([...b]).toEqual([...a]);
    expect([...c]).not.toEqual([...a]);
    // A private generator gives the same stream and leaves the global one alone.
    const d = await randn([33, 7], { rng: new Rng(99) }).data();
    const e = await randn([33, 7], { rng: new Rng(99) }).data();
    expect([...e]).toEqual([...d]);
  });

  it('rand: the same seed gives identical values', async () => {
    manualSeed(7);
    const a = await rand([5, 11]).data();
    manualSeed(7);
    const b = await rand([5, 11]).data();
    expect([...b]).toEqual([...a]);
    const c = await rand([5, 11], { rng: new Rng(7) }).data();
    const d = await rand([5, 11], { rng: new Rng(7) }).data();
    expect([...d]).toEqual([...c]);
  });

  function moments(x: Float32Array): { mean: number; variance: number; min: number; max: number } {
    let s = 0;
    let s2 = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const v of x) {
      s += v;
      s2 += v * v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const mean = s / x.length;
    return { mean, variance: s2 / x.length - mean * mean, min, max };
  }

  // n = 40000: the sample mean's standard error is sigma / 200, so the bounds below are > 6 sigma.
  it('randn has roughly the asked-for mean and std', async () => {
    const n = 40000;
    const std = moments(await randn([200, 200], { rng: new Rng(5) }).data());
    expect(Math.abs(std.mean)).toBeLessThan(0.03);
    expect(Math.abs(std.variance - 1)).toBeLessThan(0.05);
    const shifted = moments(await randn([n], { rng: new Rng(6), mean: 3, std: 2 }).data());
    expect(Math.abs(shifted.mean - 3)).toBeLessThan(0.06);
    expect(Math.abs(shifted.variance - 4)).toBeLessThan(0.2);
  });

  it('rand is uniform on [low, high)', async () => {
    const u = moments(await rand([40000], { rng: new Rng(8) }).data());
    expect(u.min).toBeGreaterThanOrEqual(0);
    expect(u.max).toBeLessThan(1);
    expect(Math.abs(u.mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(u.variance - 1 / 12)).toBeLessThan(0.005);
    const w = moments(await rand([40000], { rng: new Rng(9), low: -3, high: 5 }).data());
    expect(w.min).toBeGreaterThanOrEqual(-3);
    expect(w.max).toBeLessThan(5);
    expect(Math.abs(w.mean - 1)).toBeLessThan(0.08);
    expect(Math.abs(w.variance - 64 / 12)).toBeLessThan(0.3);
  });
});

describe('clone', () => {
  it('copies values into independent storage', async () => {
    const x = tensor([1, -2, 3, -4, 5, -6, 7], [7]);
    const y = clone(x);
    const z = x.clone();
    expect(y.shape).toEqual([7]);
    x.dispose();
    expect([...(await y.data())]).toEqual([1, -2, 3, -4, 5, -6, 7]);
    expect([...(await z.data())]).toEqual([1, -2, 3, -4, 5, -6, 7]);
    const s = tensor(2).clone();
    expect(s.shape).toEqual([]);
    expect(await s.item()).toBe(2);
  });

  it('the gradient flows through a clone used beside its source', async () => {
    expect(await gradcheck('clone(x) * x', (x) => x.clone().mul(x), [randomInput([3, 5], new Rng(9))])).toBe(15);
  });
});

describe('creation errors', () => {
  it('invalid shapes and ragged or mismatched data', () => {
    expect(() => full([2, -1], 0)).toThrow(/full: invalid shape \[2, -1\]/);
    expect(() => zeros([1.5])).toThrow(/full: invalid shape \[1.5\]/);
    expect(() => tensor([1, 2, 3, 4, 5], [2, 3])).toThrow(/tensor: 5 values cannot fill shape \[2, 3\] \(6 elements\)/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor: nested array is ragged/);
    // Ragged even though the value count matches the shape inferred from the first elements.
    expect(() => tensor([[1, 2], [3], [4, 5, 6]])).toThrow(/tensor: nested array is ragged/);
    expect(() => tensor([1, [2]] as never)).toThrow(/tensor: nested array is ragged/);
    expect(() => tensor([[1, 'a']] as never)).toThrow(/tensor: nested array is ragged or holds non-numbers/);
  });

  it('item on more than one element', async () => {
    await expect(tensor([1, 2]).item()).rejects.toThrow(/item: tensor of shape \[2\] has 2 elements, expected exactly 1/);
  });
});
