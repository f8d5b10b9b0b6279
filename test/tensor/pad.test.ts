// pad / reflectionPad2d: an empty input, exact gradients, and errors. Their
// values against an f64 reference, gradchecks and memory are rows of
// test/tensor/ops.table.ts; against PyTorch, golden cases (test/golden/cases.ts:
// ops/pad_*, and ops/reflection_pad2d on CHW and NCHW).
import { describe, expect, it } from 'vitest';
import { memory, pad, reflectionPad2d, tensor, tidy, type PadMode } from '@stripes/tensor';

describe('pad: empty inputs and exact gradients', () => {
  it('constant padding of an empty input, and its empty gradient', async () => {
    const x = tensor(new Float32Array(0), [1, 2, 0, 3]).requireGrad();
    const y = pad(x, [1, 0, 1, 1], 'constant', 2);
    expect(y.shape).toEqual([1, 2, 2, 4]);
    expect(Array.from(await y.data())).toEqual(new Array(16).fill(2));
    y.sum().backward();
    expect(x.grad!.shape).toEqual([1, 2, 0, 3]);
    x.dispose();
    y.dispose();
  });

  it("reflectionPad2d's gradient counts each element's mirrors, and nothing is left behind", async () => {
    const before = memory().liveBuffers;
    const x = tensor(new Float32Array(2 * 2 * 3 * 3).fill(1), [2, 2, 3, 3]).requireGrad();
    const loss = tidy(() => reflectionPad2d(x, 2).sum());
    loss.backward();
    // Every input element is read by (1 + its mirrors) along each dim: corners and centre of 3 wide, pad 2.
    expect(Array.from((await x.grad!.data()).subarray(0, 9))).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
    loss.dispose();
    x.dispose();
    expect(memory().liveBuffers).toBe(before);
  });
});

describe('pad errors', () => {
  const input = () => tensor(new Float32Array(2 * 3 * 4 * 5), [2, 3, 4, 5]);
  it('reflection padding must be smaller than the dim it pads', () => {
    const x = input();
    expect(() => reflectionPad2d(x, 4)).toThrow(/reflectionPad2d: reflection padding \[4, 4, 4, 4\] must be smaller .*H 4, W 5.*\[2, 3, 4, 5\]/);
    expect(() => pad(x, [5, 0, 0, 0], 'reflect')).toThrow(/pad: reflection padding \[5, 0, 0, 0\].*\[2, 3, 4, 5\]/);
    // Replication and constants have no such limit.
    expect(pad(x, [6, 0, 0, 5], 'replicate').shape).toEqual([2, 3, 9, 11]);
  });
  it('rejects wrong ranks and malformed paddings', () => {
    const x = input();
    expect(() => reflectionPad2d(tensor(new Float32Array(20), [4, 5]), 1)).toThrow(/reflectionPad2d: .*rank 3 or 4.*\[4, 5\]/);
    expect(() => pad(tensor([1, 2, 3], [3]), [1, 1, 0, 0])).toThrow(/pad: .*rank >= 2.*\[3\]/);
    expect(() => pad(x, [1, 1])).toThrow(/pad: padding must be 4 .*\[1, 1\].*\[2, 3, 4, 5\]/);
    expect(() => pad(x, [1, -1, 0, 0])).toThrow(/pad: padding must be 4 non-negative/);
    expect(() => pad(x, [1, 1, 1, 1], 'circular' as PadMode)).toThrow(/pad: unknown mode 'circular'/);
  });
});
