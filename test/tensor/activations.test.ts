import { describe, expect, it } from 'vitest';
import { leakyRelu, relu, Rng, sigmoid, tanh } from '@stripes/tensor';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';

describe('activation gradients', () => {
  const rng = new Rng(12);
  // Kinked maps are checked away from 0, where the finite difference is exact.
  const kinkFree = () => randomInput([2, 3, 5], rng, { low: -2, high: 2, awayFromZero: 0.1 });
  // gradcheck throws on the first coordinate whose analytic and numeric gradients disagree; it returns how many
  // it compared (at most its default 24 per input).
  const COORDS = 24;
  it('relu', async () => expect(await gradcheck('relu', relu, [kinkFree()])).toBe(COORDS));
  it('leakyRelu (slope 0.2, and the default)', async () => {
    expect(await gradcheck('leakyRelu 0.2', (x) => leakyRelu(x, 0.2), [kinkFree()])).toBe(COORDS);
    expect(await gradcheck('leakyRelu', (x) => leakyRelu(x), [kinkFree()])).toBe(COORDS);
  });
  it('tanh', async () => expect(await gradcheck('tanh', tanh, [randomInput([2, 3, 5], rng, { low: -3, high: 3 })])).toBe(COORDS));
  it('sigmoid', async () => expect(await gradcheck('sigmoid', sigmoid, [randomInput([2, 3, 5], rng, { low: -4, high: 4 })])).toBe(COORDS));
});
