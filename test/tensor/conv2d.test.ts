import { describe, expect, it } from 'vitest';
import { conv2d, memory, Rng, tidy, zeros, type Tensor } from '@stripes/tensor';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';

describe('conv2d: finite-difference gradients', () => {
  const rng = new Rng(3);
  const options: Array<[string, number[], number[], { stride?: number | [number, number]; padding?: number | [number, number] }]> = [
    ['k3 s1 p1', [2, 3, 5, 6], [4, 3, 3, 3], { padding: 1 }],
    ['k4 s2 p1', [1, 2, 7, 8], [3, 2, 4, 4], { stride: 2, padding: 1 }],
    ['k1 s2 p0', [2, 5, 5, 5], [3, 5, 1, 1], { stride: 2 }],
    ['k3 stride [2, 1] padding [0, 2]', [1, 3, 7, 5], [2, 3, 3, 3], { stride: [2, 1], padding: [0, 2] }],
  ];
  it.each(options)('%s', async (_, xs, ws, opts) => {
    await gradcheck('conv2d', (x, w, b) => conv2d(x, w, b, opts), [randomInput(xs, rng), randomInput(ws, rng), randomInput([ws[0]], rng)]);
  });
});

describe('conv2d: errors and memory', () => {
  const x = (...s: number[]): Tensor => zeros(s);
  it.each([
    ['a 3-D input', () => conv2d(x(3, 5, 5), x(2, 3, 3, 3)), /conv2d: input must be 4-D \[N, C, H, W\], got \[3, 5, 5\]/],
    ['a 2-D weight', () => conv2d(x(1, 3, 5, 5), x(2, 3)), /conv2d: weight must be 4-D .* got \[2, 3\]/],
    ['a channel mismatch', () => conv2d(x(1, 4, 5, 5), x(2, 3, 3, 3)), /conv2d: input \[1, 4, 5, 5\] has 4 channels but weight \[2, 3, 3, 3\]/],
    ['a wrong bias', () => conv2d(x(1, 3, 5, 5), x(2, 3, 3, 3), x(3)), /conv2d: bias must have shape \[2\] .* got \[3\]/],
    ['an empty output', () => conv2d(x(1, 3, 2, 5), x(2, 3, 3, 3)), /conv2d: input \[1, 3, 2, 5\] with weight \[2, 3, 3, 3\].* empty output \[1, 2, 0, 3\]/],
    ['a zero stride', () => conv2d(x(1, 3, 5, 5), x(2, 3, 3, 3), null, { stride: 0 }), /conv2d: stride must be an integer >= 1/],
    ['a negative padding', () => conv2d(x(1, 3, 5, 5), x(2, 3, 3, 3), null, { padding: [1, -1] }), /conv2d: padding must be an integer >= 0/],
  ])('throws on %s', (_, fn, message) => {
    tidy(() => expect(fn).toThrow(message));
  });

  it('frees everything it made', () => {
    const before = memory().liveBuffers;
    tidy(() => {
      const xt = zeros([1, 3, 9, 9]).requireGrad();
      const w = zeros([4, 3, 3, 3]).requireGrad();
      conv2d(xt, w, zeros([4]).requireGrad(), { padding: 1 }).sum().backward();
    });
    expect(memory().liveBuffers).toBe(before);
  });
});
