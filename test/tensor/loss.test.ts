import { describe, expect, it } from 'vitest';
import { l1Loss, memory, mseLoss, Rng, tensor, tidy, type Tensor } from '@stripes/tensor';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';
const losses: Array<[string, (x: Tensor, t: Tensor) => Tensor]> = [
  ['l1Loss', l1Loss],
  ['mseLoss', mseLoss],
];

describe('loss values and gradients', () => {
  const rng = new Rng(9);
  for (const [opName, fn] of losses) {
    it(`${opName} against f64 on an odd shape`, async () => {
      const shape = [3, 5, 7, 9];
      const x = randomInput(shape, rng, { low: -3, high: 3 }).data;
      const t = randomInput(shape, rng).data;
      let expected = 0;
      for (let i = 0; i < x.length; i++) expected += opName === 'l1Loss' ? Math.abs(x[i] - t[i]) : (x[i] - t[i]) ** 2;
      expected /= x.length;
      const actual = await tidy(() => fn(tensor(x, shape), tensor(t, shape))).item();
      expect(Math.abs(actual - expected) / expected).toBeLessThan(1e-5);
    });
    // Kept apart by at least 0.2 so the finite-difference step never crosses |d| = 0.
    const apart = () => {
      const x = randomInput([2, 3, 5], rng);
      const d = randomInput([2, 3, 5], rng, { awayFromZero: 0.2 });
      return [x, { shape: x.shape, data: x.data.map((v, i) => v - d.data[i]) }];
    };
    it(`${opName}: gradients of both arguments`, async () => {
      await gradcheck(opName, fn, apart(), { maxCoords: 30 });
    });
    it(`${opName}: gradient of the target alone`, async () => {
      const [x, t] = apart();
      await gradcheck(`${opName} target`, fn, [{ ...x, noGrad: true }, t]);
    });
  }

  it('scales by the upstream gradient and frees what it saved', async () => {
    const before = memory().liveBuffers;
    const x = tensor([1, -2, 3, 0.5], [2, 2]).requireGrad();
    const target = tensor([0, 0, 1, 1], [2, 2]).requireGrad();
    const loss = tidy(() => mseLoss(x, target).mul(3).add(l1Loss(x, target)));
    loss.backward();
    // 3 * 2 (x - t) / 4 + sign(x - t) / 4
    const expected = [1.75, -3.25, 3.25, -1];
    expect(Array.from(await x.grad!.data())).toEqual(expected);
    expect(Array.from(await target.grad!.data())).toEqual(expected.map((v) => -v));
    for (const t of [loss, x, target]) t.dispose();
    expect(memory().liveBuffers).toBe(before);
  });
});

describe('loss errors', () => {
  it('requires the same shape for input and target', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    expect(() => l1Loss(x, tensor(new Float32Array(3), [3]))).toThrow(/l1Loss: input \[2, 3\] and target \[3\] must have the same shape/);
    expect(() => mseLoss(x, tensor(new Float32Array(6), [3, 2]))).toThrow(/mseLoss: input \[2, 3\] and target \[3, 2\]/);
    expect(() => mseLoss(tensor(new Float32Array(0), [0, 2]), tensor(new Float32Array(0), [0, 2]))).toThrow(/mseLoss: .*empty.*\[0, 2\]/);
  });
});
