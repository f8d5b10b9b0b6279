// conv2d's errors, and reflect padding equal to reflectionPad2d then conv2d. Its values against an f64 reference, gradchecks and memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { conv2d, randn, reflectionPad2d, Rng, tidy, zeros, type Tensor } from '@stripes/tensor';
import { roundingOf } from '../helpers/matchers.ts';

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

describe("conv2d paddingMode 'reflect'", () => {
  it.each([
    ['a 3-channel 7x7 layer with padding 3', [1, 3, 9, 7], [8, 3, 7, 7], 1, 3],
    ['a 16-channel 3x3 layer on odd sizes', [2, 16, 11, 13], [16, 16, 3, 3], 1, 1],
    ['a 64-channel 3x3 layer', [1, 64, 8, 8], [64, 64, 3, 3], 1, 1],
    ['a stride-2 3x3 layer', [1, 12, 9, 10], [20, 12, 3, 3], 2, 1],
    ['a stride-2 7x7 layer with padding 3', [2, 5, 7, 9], [6, 5, 7, 7], 2, 3],
    ['a 5x3 kernel padded [2, 1]', [1, 8, 6, 5], [4, 8, 5, 3], 1, [2, 1]],
  ] as const)('%s: forward, weight and bias gradients bitwise equal to reflectionPad2d then conv2d, the input gradient to float rounding', async (_, xShape, wShape, stride, padding) => {
    const rng = new Rng(xShape[1] * 31 + wShape[2]);
    const [pH, pW] = typeof padding === 'number' ? [padding, padding] : padding;
    const x = randn([...xShape], { rng }).requireGrad();
    const w = randn([...wShape], { rng }).requireGrad();
    const b = randn([wShape[0]], { rng }).requireGrad();
    const run = async (conv: () => Tensor): Promise<Float32Array[]> => {
      const y = conv();
      y.backward(randn(y.shape, { rng: new Rng(7) }));
      const values = await Promise.all([y, x.grad!, w.grad!, b.grad!].map((t) => t.data()));
      y.dispose();
      for (const t of [x, w, b]) t.zeroGrad();
      return values;
    };
    const fused = await run(() => conv2d(x, w, b, { stride, padding, paddingMode: 'reflect' }));
    const unfused = await run(() => tidy(() => conv2d(reflectionPad2d(x, [pW, pW, pH, pH]), w, b, { stride })));
    // gx's pixels within the padding of an edge add their mirrored terms in another order (stride 1 fuses them; stride 2 folds a padded gradient as the unfused does).
    fused.forEach((values, i) => (i === 1 ? expect(values).toBeAllClose(unfused[i], roundingOf(unfused[i]), 'gx') : expect(values, ['y', 'gx', 'gw', 'gb'][i]).toEqual(unfused[i])));
    for (const t of [x, w, b]) t.dispose();
  });

  it.each([
    ['padding as large as the input', () => conv2d(zeros([1, 2, 3, 5]), zeros([1, 2, 3, 3]), null, { padding: [3, 1], paddingMode: 'reflect' }),
      /^conv2d: reflect padding \[3, 1\] must be smaller than the input's H and W, got input \[1, 2, 3, 5\] with weight \[1, 2, 3, 3\]$/],
    ['an unknown mode', () => conv2d(zeros([1, 2, 3, 5]), zeros([1, 2, 3, 3]), null, { paddingMode: 'circular' as 'zeros' }),
      /^conv2d: unknown paddingMode 'circular'; valid: 'zeros', 'reflect'$/],
  ])('throws on %s', (_, fn, message) => {
    tidy(() => expect(fn).toThrow(message));
  });
});
