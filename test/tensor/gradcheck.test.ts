// Finite-difference gradient checks (test/helpers/gradcheck.ts documents the
// step and tolerance) of every differentiable op, in every argument, with
// broadcasting, and of small composite graphs. Inputs of ops with kinks
// (relu, abs, leakyRelu, maximum, minimum, max) are kept further than the
// finite-difference step from the kink, and log / sqrt / div away from 0.
import { describe, expect, it } from 'vitest';
import {
  abs,
  add,
  affine,
  broadcastTo,
  clone,
  concat,
  div,
  exp,
  flatten,
  leakyRelu,
  log,
  matmul,
  max,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  permute,
  pow,
  powScalar,
  relu,
  reshape,
  Rng,
  sigmoid,
  slice,
  sqrt,
  stack,
  sub,
  sum,
  tanh,
  transpose,
  type Tensor,
} from '@stripes/tensor';
import { gradcheck, randomInput, type GradcheckInput } from '../helpers/gradcheck.ts';

const rng = new Rng(20240601);
const inp = (shape: number[], opts: { low?: number; high?: number; awayFromZero?: number } = {}): GradcheckInput => randomInput(shape, rng, opts);

/**
 * Values on a 0.2 grid offset by `parity` * 0.1, jittered by at most 0.02:
 * an even and an odd input never come within 0.06 of each other, well beyond
 * the finite-difference step (0.01 here), so maximum / minimum have no ties.
 */
function separated(shape: number[], parity: 0 | 1): GradcheckInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 0.2 * (rng.int(11) - 5) + 0.1 * parity + 0.04 * (rng.random() - 0.5);
  return { shape, data };
}

/** Distinct values 0.1 apart in random order, so a max has a unique winner. */
function distinct(shape: number[]): GradcheckInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return { shape, data: Float32Array.from(vals) };
}

describe('gradcheck: elementwise maps', () => {
  const maps: Array<[string, (x: Tensor) => Tensor, GradcheckInput]> = [
    ['neg', neg, inp([3, 5])],
    ['affine(-1.5, 0.25)', (x) => affine(x, -1.5, 0.25), inp([4, 3])],
    ['exp', exp, inp([3, 5])],
    ['log', log, inp([3, 5], { low: 0.5, high: 2 })],
    ['sqrt', sqrt, inp([3, 5], { low: 0.5, high: 2 })],
    ['abs', abs, inp([3, 5], { awayFromZero: 0.1 })],
    ['relu', relu, inp([3, 5], { awayFromZero: 0.1 })],
    ['leakyRelu(0.2)', (x) => leakyRelu(x, 0.2), inp([3, 5], { awayFromZero: 0.1 })],
    ['leakyRelu default', (x) => x.leakyRelu(), inp([2, 7], { awayFromZero: 0.1 })],
    ['tanh', tanh, inp([3, 5], { low: -2, high: 2 })],
    ['sigmoid', sigmoid, inp([3, 5], { low: -3, high: 3 })],
    ['powScalar 2', (x) => powScalar(x, 2), inp([3, 5])],
    ['powScalar 3 (negative bases)', (x) => x.pow(3), inp([3, 5], { awayFromZero: 0.2 })],
    ['powScalar 0.5', (x) => x.pow(0.5), inp([3, 5], { low: 0.5, high: 2 })],
    ['powScalar -1', (x) => x.pow(-1), inp([3, 5], { awayFromZero: 0.4 })],
    ['powScalar 2.5', (x) => x.pow(2.5), inp([3, 5], { low: 0.2, high: 2 })],
    ['add scalar', (x) => x.add(3), inp([3, 5])],
    ['sub scalar', (x) => x.sub(1.5), inp([3, 5])],
    ['mul scalar', (x) => x.mul(-2), inp([3, 5])],
    ['div scalar', (x) => x.div(4), inp([3, 5])],
  ];
  for (const [name, fn, x] of maps) it(name, () => gradcheck(name, fn, [x]));
});

describe('gradcheck: binary ops in both arguments, with broadcasting', () => {
  const layouts: Array<[number[], number[]]> = [
    [[3, 4], [3, 4]],
    [[2, 3, 4], [4]],
    [[3, 1], [1, 4]],
    [[4], [2, 3, 4]],
    [[2, 1, 3], [4, 1]],
    [[], [2, 3]],
  ];
  const ops: Array<[string, (a: Tensor, b: Tensor) => Tensor, (s: number[]) => GradcheckInput, (s: number[]) => GradcheckInput]> = [
    ['add', add, (s) => inp(s), (s) => inp(s)],
    ['sub', sub, (s) => inp(s), (s) => inp(s)],
    ['mul', mul, (s) => inp(s), (s) => inp(s)],
    ['div', div, (s) => inp(s), (s) => inp(s, { awayFromZero: 0.5 })],
    ['pow', pow, (s) => inp(s, { low: 0.5, high: 2 }), (s) => inp(s, { low: -1.5, high: 1.5 })],
    ['maximum', maximum, (s) => separated(s, 0), (s) => separated(s, 1)],
    ['minimum', minimum, (s) => separated(s, 0), (s) => separated(s, 1)],
  ];
  for (const [name, op, ma, mb] of ops) {
    for (const [sa, sb] of layouts) {
      const label = `${name} [${sa}] with [${sb}]`;
      it(label, () => gradcheck(label, op, [ma(sa), mb(sb)]));
    }
  }

  it('mul with a constant operand (no gradient asked for it)', () =>
    gradcheck('mul, b constant', (a, b) => a.mul(b), [inp([3, 4]), { ...inp([4]), noGrad: true }]));

  it('pow with a negative base and integer exponent tensor', () =>
    gradcheck('pow, negative base', (a, b) => pow(a, b), [inp([2, 3], { low: -2, high: -0.5 }), { shape: [3], data: Float32Array.of(2, 3, -1), noGrad: true }]));
});

describe('gradcheck: reductions', () => {
  const axesCases: Array<[number | number[] | undefined, boolean]> = [
    [undefined, false],
    [0, false],
    [-1, true],
    [[0, 2], false],
    [[-1, 1], true],
    [1, false],
  ];
  for (const [axes, keepDims] of axesCases) {
    const tag = `axes ${JSON.stringify(axes)}, keepDims ${keepDims}`;
    it(`sum ${tag}`, () => gradcheck(`sum ${tag}`, (x) => sum(x, axes, keepDims), [inp([2, 3, 4])]));
    it(`mean ${tag}`, () => gradcheck(`mean ${tag}`, (x) => mean(x, axes, keepDims), [inp([2, 3, 4])]));
    it(`max ${tag}`, () => gradcheck(`max ${tag}`, (x) => max(x, axes, keepDims), [distinct([2, 3, 4])]));
  }
  it('sum over more than 256 elements (workgroup kernel)', () =>
    gradcheck('sum of 300', (x) => x.sum(1), [inp([2, 300])], { maxCoords: 12 }));
});

describe('gradcheck: layout ops', () => {
  const cases: Array<[string, (...xs: Tensor[]) => Tensor, GradcheckInput[]]> = [
    ['reshape', (x) => reshape(x, [4, -1]), [inp([2, 3, 4])]],
    ['flatten', (x) => flatten(x, 1), [inp([2, 3, 4])]],
    ['permute [2, 0, 1]', (x) => permute(x, [2, 0, 1]), [inp([2, 3, 4])]],
    ['permute [1, -1, 0]', (x) => x.permute([1, -1, 0]), [inp([2, 3, 4])]],
    ['transpose', (x) => transpose(x), [inp([2, 3, 4])]],
    ['transpose (0, 2)', (x) => x.transpose(0, 2), [inp([2, 3, 4])]],
    ['slice axis 0', (x) => slice(x, 0, 1, 3), [inp([4, 5])]],
    ['slice axis 1, negative', (x) => slice(x, 1, -3, -1), [inp([4, 5])]],
    ['slice axis -1 to end', (x) => x.slice(-1, 2), [inp([2, 2, 5])]],
    ['concat axis 0', (a, b, c) => concat([a, b, c], 0), [inp([1, 3]), inp([2, 3]), inp([3, 3])]],
    ['concat axis 1', (a, b) => concat([a, b], 1), [inp([2, 3]), inp([2, 2])]],
    ['concat axis -1 of rank 3', (a, b) => concat([a, b], -1), [inp([2, 2, 1]), inp([2, 2, 3])]],
    ['concat of the same tensor twice', (a) => concat([a, a], 0), [inp([2, 3])]],
    ['stack axis 0', (a, b) => stack([a, b], 0), [inp([2, 3]), inp([2, 3])]],
    ['stack axis 1', (a, b, c) => stack([a, b, c], 1), [inp([2, 3]), inp([2, 3]), inp([2, 3])]],
    ['stack axis -1', (a, b) => stack([a, b], -1), [inp([3, 2]), inp([3, 2])]],
    ['broadcastTo [3] -> [2, 4, 3]', (x) => broadcastTo(x, [2, 4, 3]), [inp([3])]],
    ['broadcastTo [2, 1, 3] -> [2, 4, 3]', (x) => broadcastTo(x, [2, 4, 3]), [inp([2, 1, 3])]],
    ['clone', (x) => clone(x), [inp([3, 5])]],
    ['clone (method)', (x) => x.clone().mul(x), [inp([3, 5])]],
  ];
  for (const [name, fn, inputs] of cases) it(name, () => gradcheck(name, fn, inputs));
});

describe('gradcheck: matmul', () => {
  const cases: Array<[number[], number[]]> = [
    [[3, 4], [4, 5]],
    [[1, 7], [7, 1]],
    [[5, 3], [3, 2]],
    [[2, 3, 4], [2, 4, 2]],
    [[2, 3, 4], [4, 3]], // 2-D b broadcast over the batch: its gradient sums over it
    [[3, 2], [2, 2, 3]],
    [[1, 3, 2], [2, 2, 3]],
    [[2, 2, 3], [1, 3, 2]],
  ];
  for (const [sa, sb] of cases) {
    const label = `matmul [${sa}] @ [${sb}]`;
    it(label, () => gradcheck(label, (a, b) => matmul(a, b), [inp(sa), inp(sb)]));
  }
});

describe('gradcheck: composite graphs', () => {
  it('shared subexpression: x * x + x', () => gradcheck('x*x + x', (x) => x.mul(x).add(x), [inp([3, 4])]));

  it('shared subexpression through two paths: tanh(x) * x - exp(x)', () =>
    gradcheck('tanh(x)*x - exp(x)', (x) => tanh(x).mul(x).sub(exp(x)), [inp([2, 5])]));

  it('broadcasting: sigmoid(x[3,1] * w[1,4] + b[4]).sum(0)', () =>
    gradcheck('broadcast affine', (x, w, b) => x.mul(w).add(b).sigmoid().sum(0), [inp([3, 1]), inp([1, 4]), inp([4])]));

  it('reductions: variance along an axis', () =>
    gradcheck(
      'variance',
      (x) => {
        const d = x.sub(x.mean(1, true));
        return d.mul(d).mean(1);
      },
      [inp([3, 5])],
    ));

  it('diamond: a = exp(x); tanh(a) * sigmoid(2a)', () =>
    gradcheck(
      'diamond',
      (x) => {
        const a = exp(x);
        return tanh(a).mul(sigmoid(a.mul(2)));
      },
      [inp([2, 3])],
    ));

  it('softmax through max, exp, sum and div', () =>
    gradcheck(
      'softmax',
      (x) => {
        const e = exp(x.sub(x.max(1, true)));
        return e.div(e.sum(1, true));
      },
      [distinct([3, 4])],
    ));

  it('two-layer perceptron with mse', () =>
    gradcheck(
      'mlp',
      (x, w1, b1, w2, y) => {
        const h = tanh(matmul(x, w1).add(b1));
        const d = matmul(h, w2).sub(y);
        return d.mul(d).mean();
      },
      [inp([4, 3]), inp([3, 5]), inp([5]), inp([5, 2]), { ...inp([4, 2]), noGrad: true }],
    ));

  it('overlapping slices concatenated', () =>
    gradcheck('slices', (x) => concat([x.slice(1, 0, 3), x.slice(1, 1, 4).mul(x.slice(1, 2, 5))], 0), [inp([2, 5])]));

  it('a reshape / permute / broadcast chain', () =>
    gradcheck('layout chain', (x, y) => x.reshape([2, 3, 2]).permute([2, 0, 1]).mul(y).sum([0, 2]), [inp([3, 4]), inp([1, 3])]));
});

describe('gradcheck itself', () => {
  it('fails when the analytic gradient is wrong (x * detach(x) hides half of it)', async () => {
    await expect(gradcheck('wrong', (x) => x.mul(x.detach()), [inp([2, 3], { low: 0.5, high: 1 })])).rejects.toThrow(/wrong: gradient of input 0 at index \d+: analytic/);
  });
});
