// Losses: exact gradients under an upstream scale, and shape errors. Their
// values, gradchecks and memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { l1Loss, memory, mseLoss, tensor, tidy } from '@stripes/tensor';

describe('loss gradients', () => {
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

  it('takes a number target as a constant: no target tensor, no gradient but the input\'s', async () => {
    const before = memory().liveBuffers;
    const x = tensor([1, -2, 3, 0.5], [2, 2]).requireGrad();
    const loss = tidy(() => mseLoss(x, 1).mul(3).add(l1Loss(x, 0)));
    // (3 (0 + 9 + 4 + 0.25) + (1 + 2 + 3 + 0.5)) / 4
    expect(await loss.item()).toBe(11.5625);
    loss.backward();
    // 3 * 2 (x - 1) / 4 + sign(x) / 4
    expect(Array.from(await x.grad!.data())).toEqual([0.25, -4.75, 3.25, -0.5]);
    for (const t of [loss, x]) t.dispose();
    expect(memory().liveBuffers).toBe(before);
  });
});

describe('loss errors', () => {
  it('requires the same shape for input and target', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    expect(() => l1Loss(x, tensor(new Float32Array(3), [3]))).toThrow(/l1Loss: input \[2, 3\] and target \[3\] must have the same shape/);
    expect(() => mseLoss(x, tensor(new Float32Array(6), [3, 2]))).toThrow(/mseLoss: input \[2, 3\] and target \[3, 2\]/);
    expect(() => mseLoss(tensor(new Float32Array(0), [0, 2]), tensor(new Float32Array(0), [0, 2]))).toThrow(/mseLoss: .*empty.*\[0, 2\]/);
    expect(() => l1Loss(tensor(new Float32Array(0), [2, 0]), 1)).toThrow(/l1Loss: .*empty.*\[2, 0\]/);
  });
});
