import { describe, it } from 'vitest';
import { leakyRelu, relu, Rng, sigmoid, tanh } from '@stripes/tensor';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';

describe('activation gradients', () => {
  const rng = new Rng(12);
  // Kinked maps are checked away from 0, where the finite difference is exact.
  const kinkFree = () => randomInput([2, 3, 5], rng, { low: -2, high: 2, awayFromZero: 0.1 });
  it('relu', () => gradcheck('relu', relu, [kinkFree()]));
  it('leakyRelu (slope 0.2, and the default)', async () => {
    await gradcheck('leakyRelu 0.2', (x) => leakyRelu(x, 0.2), [kinkFree()]);
    await gradcheck('leakyRelu', (x) => leakyRelu(x), [kinkFree()]);
  });
  it('tanh', () => gradcheck('tanh', tanh, [randomInput([2, 3, 5], rng, { low: -3, high: 3 })]));
  it('sigmoid', () => gradcheck('sigmoid', sigmoid, [randomInput([2, 3, 5], rng, { low: -4, high: 4 })]));
});
