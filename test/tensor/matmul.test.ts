// matmul against an f64 reference. Each output is a K-term dot product, within
// (K - 1) u (|A| @ |B|) of the exact value in any order (u = 2^-24), so it is
// checked with scale |A| @ |B| and rtol (K + 2) u.
import { describe, expect, it } from 'vitest';
import { matmul, Rng, tensor, tidy } from '@stripes/tensor';
import * as R from '../helpers/reference.ts';
import { expectClose, randomF32, ref, sizeOf, U32 } from '../helpers/reference.ts';

async function check(sa: number[], sb: number[], rng: Rng, method = false): Promise<void> {
  const da = randomF32(sizeOf(sa), rng, -2, 2);
  const db = randomF32(sizeOf(sb), rng, -2, 2);
  const label = `[${sa}] @ [${sb}]`;
  const y = tidy(() => (method ? tensor(da, sa).matmul(tensor(db, sb)) : matmul(tensor(da, sa), tensor(db, sb))));
  const e = R.matmul(ref(sa, da), ref(sb, db));
  expect(y.shape, label).toEqual(e.shape);
  const K = sa[sa.length - 1];
  expectClose(await y.data(), e, { rtol: (K + 2) * U32, scale: e.absProduct }, label);
  y.dispose();
}

describe('matmul vs f64 reference', () => {
  const rng = new Rng(12);

  it('2-D with odd M, N, K (inside, at and across the 32x32 tile)', async () => {
    const sizes: Array<[number, number, number]> = [
      [1, 1, 1],
      [3, 7, 5],
      [33, 17, 65],
      [70, 1, 40],
      [1, 100, 1],
      [32, 32, 32],
      [31, 129, 33],
      [97, 61, 5],
    ];
    for (const [M, K, N] of sizes) await check([M, K], [K, N], rng);
    await check([5, 9], [9, 3], rng, true);
  });

  it('batched with equal batch dims', async () => {
    await check([3, 5, 7], [3, 7, 9], rng);
    await check([2, 3, 9, 4], [2, 3, 4, 6], rng);
    await check([1, 6, 6], [1, 6, 6], rng);
  });

  it('broadcasts the batch of a 2-D operand', async () => {
    await check([4, 5, 6], [6, 7], rng);
    await check([5, 6], [4, 6, 7], rng);
    await check([2, 3, 5, 6], [6, 4], rng);
    await check([3, 2], [2, 3, 2, 5], rng);
  });

  it('broadcasts a batch of one', async () => {
    await check([1, 5, 6], [3, 6, 7], rng);
    await check([3, 5, 6], [1, 6, 7], rng);
    await check([1, 1, 5, 6], [3, 6, 7], rng);
    await check([2, 5, 6], [1, 1, 6, 7], rng);
  });

  it('batch dims equal up to leading 1s', async () => {
    await check([1, 3, 4, 5], [3, 5, 2], rng);
  });

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
