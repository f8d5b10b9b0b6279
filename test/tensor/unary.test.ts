// Elementwise maps against f64 references on random odd shapes; tolerances
// are documented in test/helpers/reference.ts (TOL).
import { describe, expect, it } from 'vitest';
import { abs, affine, exp, leakyRelu, log, neg, pow, powScalar, relu, Rng, sigmoid, sqrt, tanh, tensor, tidy, type Tensor } from '@stripes/tensor';
import { expectClose, map, randomF32, randomShape, ref, sizeOf, TOL, type Tolerance } from '../helpers/reference.ts';

interface MapCase {
  name: string;
  op: (x: Tensor) => Tensor;
  f: (v: number) => number;
  range: [number, number];
  tol: Tolerance;
}

const sigmoidRef = (v: number): number => 1 / (1 + Math.exp(-v));

const cases: MapCase[] = [
  { name: 'neg', op: neg, f: (v) => -v, range: [-5, 5], tol: TOL.exact },
  { name: 'neg (method)', op: (x) => x.neg(), f: (v) => -v, range: [-5, 5], tol: TOL.exact },
  { name: 'exp', op: exp, f: Math.exp, range: [-10, 10], tol: TOL.transcendental },
  { name: 'log', op: log, f: Math.log, range: [1e-3, 50], tol: TOL.transcendental },
  { name: 'sqrt', op: sqrt, f: Math.sqrt, range: [0, 100], tol: TOL.basic },
  { name: 'abs', op: abs, f: Math.abs, range: [-5, 5], tol: TOL.exact },
  { name: 'relu', op: relu, f: (v) => Math.max(v, 0), range: [-5, 5], tol: TOL.exact },
  { name: 'leakyRelu default slope 0.01', op: (x) => leakyRelu(x), f: (v) => (v > 0 ? v : Math.fround(0.01) * v), range: [-5, 5], tol: TOL.basic },
  { name: 'leakyRelu(0.2)', op: (x) => x.leakyRelu(0.2), f: (v) => (v > 0 ? v : Math.fround(0.2) * v), range: [-5, 5], tol: TOL.basic },
  { name: 'tanh', op: tanh, f: Math.tanh, range: [-6, 6], tol: TOL.transcendental },
  { name: 'sigmoid', op: sigmoid, f: sigmoidRef, range: [-20, 20], tol: TOL.transcendental },
  // Two roundings (or one FMA) with cancellation near x = 0.4: absolute error ~u * |2.5x|.
  { name: 'affine 2.5x - 1', op: (x) => affine(x, 2.5, -1), f: (v) => 2.5 * v - 1, range: [-5, 5], tol: { rtol: 1e-6, atol: 2e-6 } },
  { name: 'powScalar 2', op: (x) => powScalar(x, 2), f: (v) => v ** 2, range: [-3, 3], tol: TOL.transcendental },
  { name: 'powScalar 3 (negative base)', op: (x) => powScalar(x, 3), f: (v) => v ** 3, range: [-3, 3], tol: TOL.transcendental },
  { name: 'powScalar 0.5', op: (x) => x.pow(0.5), f: Math.sqrt, range: [0, 10], tol: TOL.transcendental },
  { name: 'powScalar -1', op: (x) => x.pow(-1), f: (v) => 1 / v, range: [0.1, 10], tol: TOL.transcendental },
  { name: 'powScalar 1.7', op: (x) => x.pow(1.7), f: (v) => v ** 1.7, range: [0, 10], tol: TOL.transcendental },
  { name: 'powScalar 0', op: (x) => x.pow(0), f: () => 1, range: [-3, 3], tol: TOL.exact },
];

describe('elementwise maps vs f64 reference', () => {
  const rng = new Rng(2024);
  for (const c of cases) {
    it(c.name, async () => {
      for (let trial = 0; trial < 3; trial++) {
        const shape = trial === 2 ? [257, 3] : randomShape(1 + rng.int(4), rng);
        const data = randomF32(sizeOf(shape), rng, c.range[0], c.range[1]);
        const y = tidy(() => c.op(tensor(data, shape)));
        expect(y.shape).toEqual(shape);
        expectClose(await y.data(), map(ref(shape, data), c.f), c.tol, `${c.name} [${shape}]`);
        y.dispose();
      }
    });
  }

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
    y.forEach((v, i) => {
      expect(Number.isNaN(v), `tanh(${big[i]}) is NaN`).toBe(false);
      expect(Math.abs(v - Math.tanh(big[i])), `tanh(${big[i]}) = ${v}`).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(v)).toBeLessThanOrEqual(1);
    });
    expect(y[big.indexOf(1e4)]).toBe(1);
    expect(y[big.indexOf(-1e4)]).toBe(-1);
    expect(y[big.indexOf(3e38)]).toBe(1);
  });

  it('sigmoid saturates to 0 / 1 for large |x| without NaN', async () => {
    const y = await sigmoid(tensor(big)).data();
    y.forEach((v, i) => {
      expect(Number.isNaN(v), `sigmoid(${big[i]}) is NaN`).toBe(false);
      const e = sigmoidRef(big[i]);
      // exp(x) may be off by 3 + 2|x| ULP in WGSL: ~1e-5 relative at |x| = 89.
      expect(Math.abs(v - e), `sigmoid(${big[i]}) = ${v}`).toBeLessThanOrEqual(2e-5 * e + 1e-38);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    });
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
      const got = await x.pow(e).data();
      expectClose(got, base.map((b) => b ** e), TOL.transcendental, `pow(x, ${e})`);
    }
    const exps = [3, 2, -1, 0, 5, 1];
    const t = await pow(x, tensor(exps)).data();
    expectClose(t, base.map((b, i) => b ** exps[i]), TOL.transcendental, 'pow(x, tensor)');
    // A negative base with a fractional exponent has no real value: NaN, as in IEEE pow.
    const nan = await pow(tensor([-2, 2]), tensor([0.5, 0.5])).data();
    expect(Number.isNaN(nan[0])).toBe(true);
    expect(Math.abs(nan[1] - Math.SQRT2)).toBeLessThan(1e-6);
    expect(Number.isNaN((await tensor([-8]).pow(1 / 3).data())[0])).toBe(true);
    // x^0 is 1 even at 0 and for negative bases.
    expect([...(await tensor([0, -3, 5]).pow(0).data())]).toEqual([1, 1, 1]);
  });
});
