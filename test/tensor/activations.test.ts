import { describe, expect, it } from 'vitest';
import { leakyRelu, relu, Rng, sigmoid, tanh, tensor, type Tensor } from '@stripes/tensor';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';
import { expectClose, loadGolden } from '../helpers/golden.ts';

const golden = loadGolden('ops');

const activations: Record<string, (x: Tensor, opts: Record<string, unknown>) => Tensor> = {
  relu: (x) => relu(x),
  leaky_relu: (x, opts) => leakyRelu(x, opts.negative_slope as number),
  tanh: (x) => tanh(x),
  sigmoid: (x) => sigmoid(x),
};

describe('activations vs PyTorch', () => {
  for (const [op, fn] of Object.entries(activations)) {
    for (const { name, opts } of golden.cases(op)) {
      it(name, async () => {
        const g = (k: string) => golden.get(`${name}.${k}`);
        const x = tensor(g('x').data, g('x').shape).requireGrad();
        const y = fn(x, opts);
        y.backward(tensor(g('gy').data, g('gy').shape));
        expect(y.shape).toEqual(g('y').shape);
        expectClose(await y.data(), g('y').data, { rtol: 1e-4 }, `${name}.y`, y.shape);
        expectClose(await x.grad!.data(), g('gx').data, { rtol: 1e-3 }, `${name}.gx`, x.shape);
        x.dispose();
        y.dispose();
      });
    }
  }
});

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
