// Elementwise maps at a scalar, an empty tensor and edge values (saturation,
// overflow, kinks, signed zeros, negative bases). Their values on random odd
// shapes, gradients and memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { abs, exp, leakyRelu, log, pow, relu, sigmoid, sqrt, tanh, tensor } from '@stripes/tensor';
import { TOL } from '../helpers/reference.ts';

const sigmoidRef = (v: number): number => 1 / (1 + Math.exp(-v));

describe('elementwise maps: shapes', () => {
  it('maps of a scalar and an empty tensor keep their shape', async () => {
    const s = exp(tensor(0));
    expect(s.shape).toEqual([]);
    expect(await s.item()).toBe(1);
    const e = tanh(tensor([], [0, 3]));
    expect(e.shape).toEqual([0, 3]);
    expect((await e.data()).length).toBe(0);
  });
});

describe('edge values', () => {
  const big = [0, 1e-30, -1e-30, 0.5, -0.5, 9, -9, 10, -10, 20, -20, 44, -44, 50, -50, 88, -88, 89, -89, 100, -100, 1e4, -1e4, 1e30, -1e30, 3e38, -3e38];

  it('tanh saturates to ±1 for large |x| without NaN, and is odd', async () => {
    const y = await tanh(tensor(big)).data();
    // A NaN fails toBeAllClose against a finite expected value.
    expect(y).toBeAllClose(big.map(Math.tanh), { rtol: 0, atol: 1e-6 }, 'tanh');
    expect(Math.max(...y.map(Math.abs))).toBeLessThanOrEqual(1);
    expect(y[big.indexOf(1e4)]).toBe(1);
    expect(y[big.indexOf(-1e4)]).toBe(-1);
    expect(y[big.indexOf(3e38)]).toBe(1);
  });

  it('sigmoid saturates to 0 / 1 for large |x| without NaN', async () => {
    const y = await sigmoid(tensor(big)).data();
    // exp(x) may be off by 3 + 2|x| ULP in WGSL: ~1e-5 relative at |x| = 89. A NaN fails against a finite expected value.
    expect(y).toBeAllClose(big.map(sigmoidRef), { rtol: 2e-5, atol: 1e-38 }, 'sigmoid');
    expect(Math.min(...y)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...y)).toBeLessThanOrEqual(1);
    expect(y[big.indexOf(1e4)]).toBe(1);
    expect(y[big.indexOf(-1e4)]).toBe(0);
    expect(y[big.indexOf(0)]).toBe(0.5);
  });

  it('exp overflows to Infinity and underflows to 0; log(0) is -Infinity; log / sqrt of negatives are NaN', async () => {
    const e = await exp(tensor([100, -200, 0])).data();
    expect([...e]).toEqual([Infinity, 0, 1]);
    const l = await log(tensor([0, 1, -1])).data();
    expect(l[0]).toBe(-Infinity);
    expect(l[1]).toBe(0);
    expect(Number.isNaN(l[2])).toBe(true);
    const s = await sqrt(tensor([0, 4, -1])).data();
    expect(s[0]).toBe(0);
    expect(s[1]).toBe(2);
    expect(Number.isNaN(s[2])).toBe(true);
  });

  it('relu, abs and leakyRelu at 0 and at signed extremes', async () => {
    const x = tensor([0, -0, 3e38, -3e38, 1e-30, -1e-30]);
    expect([...(await relu(x).data())].map((v) => v + 0)).toEqual([0, 0, Math.fround(3e38), 0, Math.fround(1e-30), 0]);
    expect([...(await abs(x).data())]).toEqual([0, 0, Math.fround(3e38), Math.fround(3e38), Math.fround(1e-30), Math.fround(1e-30)]);
    const lr = await leakyRelu(tensor([-10, 0, 10]), 0.5).data();
    expect([...lr].map((v) => v + 0)).toEqual([-5, 0, 10]);
  });

  it('pow: a negative base with an integer exponent, scalar and tensor exponents', async () => {
    const base = [-2, -3, -0.5, 2, -1, -4];
    const x = tensor(base);
    for (const e of [2, 3, -1, -2, 4, 5]) {
      expect(await x.pow(e).data()).toBeAllClose(base.map((b) => b ** e), TOL.transcendental, `pow(x, ${e})`);
    }
    const exps = [3, 2, -1, 0, 5, 1];
    expect(await pow(x, tensor(exps)).data()).toBeAllClose(base.map((b, i) => b ** exps[i]), TOL.transcendental, 'pow(x, tensor)');
    // A negative base with a fractional exponent has no real value: NaN, as in IEEE pow.
    const nan = await pow(tensor([-2, 2]), tensor([0.5, 0.5])).data();
    expect(Number.isNaN(nan[0])).toBe(true);
    expect(Math.abs(nan[1] - Math.SQRT2)).toBeLessThan(1e-6);
    expect(Number.isNaN((await tensor([-8]).pow(1 / 3).data())[0])).toBe(true);
    // x^0 is 1 even at 0 and for negative bases.
    expect([...(await tensor([0, -3, 5]).pow(0).data())]).toEqual([1, 1, 1]);
  });
});
