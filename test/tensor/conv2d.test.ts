// conv2d's errors. Its values against an f64 reference, gradchecks and memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { conv2d, tidy, zeros, type Tensor } from '@stripes/tensor';

describe('conv2d: errors', () => {
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
});
