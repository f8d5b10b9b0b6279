import { describe, expect, it } from 'vitest';
import { convTranspose2d, memory, Rng, tidy, zeros, type ConvTranspose2dOptions, type Tensor } from '@stripes/tensor';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';

describe('convTranspose2d: finite-difference gradients', () => {
  const rng = new Rng(5);
  const options: Array<[string, number[], number[], ConvTranspose2dOptions]> = [
    ['k3 s2 p1 op1', [2, 4, 3, 4], [4, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }],
    ['k4 s2 p1', [1, 3, 4, 3], [3, 2, 4, 4], { stride: 2, padding: 1 }],
    ['k3 s1 p1', [1, 3, 5, 4], [3, 5, 3, 3], { padding: 1 }],
    ['k3 stride [3, 2] padding [2, 0] outputPadding [2, 1]', [1, 2, 3, 4], [2, 3, 3, 3], { stride: [3, 2], padding: [2, 0], outputPadding: [2, 1] }],
  ];
  it.each(options)('%s', async (_, xs, ws, opts) => {
    await gradcheck('convTranspose2d', (x, w, b) => convTranspose2d(x, w, b, opts), [randomInput(xs, rng), randomInput(ws, rng), randomInput([ws[1]], rng)]);
  });
});

describe('convTranspose2d: errors and memory', () => {
  const x = (...s: number[]): Tensor => zeros(s);
  it.each([
    ['a 3-D input', () => convTranspose2d(x(3, 5, 5), x(3, 2, 3, 3)), /convTranspose2d: input must be 4-D \[N, C, H, W\], got \[3, 5, 5\]/],
    ['a 5-D weight', () => convTranspose2d(x(1, 3, 5, 5), x(3, 2, 3, 3, 1)), /convTranspose2d: weight must be 4-D .* got \[3, 2, 3, 3, 1\]/],
    ['a channel mismatch', () => convTranspose2d(x(1, 4, 5, 5), x(3, 2, 3, 3)), /convTranspose2d: input \[1, 4, 5, 5\] has 4 channels but weight \[3, 2, 3, 3\]/],
    ['a wrong bias', () => convTranspose2d(x(1, 3, 5, 5), x(3, 2, 3, 3), x(3)), /convTranspose2d: bias must have shape \[2\] .* got \[3\]/],
    ['outputPadding >= stride', () => convTranspose2d(x(1, 3, 5, 5), x(3, 2, 3, 3), null, { stride: 2, outputPadding: 2 }), /convTranspose2d: outputPadding \[2, 2\] must be smaller than stride \[2, 2\]/],
    ['an empty output', () => convTranspose2d(x(1, 3, 1, 5), x(3, 2, 3, 3), null, { padding: 2 }), /convTranspose2d: input \[1, 3, 1, 5\] with weight \[3, 2, 3, 3\].* empty output \[1, 2, -1, 3\]/],
  ])('throws on %s', (_, fn, message) => {
    tidy(() => expect(fn).toThrow(message));
  });

  it('frees everything it made', () => {
    const before = memory().liveBuffers;
    tidy(() => {
      const xt = zeros([1, 4, 5, 5]).requireGrad();
      const w = zeros([4, 3, 3, 3]).requireGrad();
      convTranspose2d(xt, w, zeros([3]).requireGrad(), { stride: 2, padding: 1, outputPadding: 1 }).sum().backward();
    });
    expect(memory().liveBuffers).toBe(before);
  });
});
