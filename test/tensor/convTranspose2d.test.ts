// convTranspose2d's errors. Its values against an f64 reference, gradchecks and memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { convTranspose2d, tidy, zeros, type Tensor } from '@stripes/tensor';

describe('convTranspose2d: errors', () => {
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
});
