// Autograd semantics, following PyTorch: gradients accumulate into .grad,
// detach / noGrad / requiresGrad=false cut the graph, retainGraph allows a
// second backward, explicit output gradients, broadcasting reduces back; and
// finite-difference gradchecks of small composite graphs (each op alone is a
// row of test/tensor/ops.table.ts), and that gradcheck catches a wrong gradient.
import { describe, expect, it } from 'vitest';
import {
  add,
  concat,
  conv2d,
  convTranspose2d,
  div,
  exp,
  isGradEnabled,
  matmul,
  maximum,
  minimum,
  mul,
  noGrad,
  ones,
  pow,
  randn,
  Rng,
  sigmoid,
  sub,
  tanh,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '@stripes/tensor';
import { distinct, gradcheck, randomInput, type GradcheckInput } from '../helpers/gradcheck.ts';

const leaf = (data: number[], shape?: number[]): Tensor => tensor(data, shape).requireGrad();
const values = async (t: Tensor | null): Promise<number[]> => {
  expect(t, 'gradient').not.toBeNull();
  return [...(await t!.data())];
};

describe('backward basics', () => {
  it('computes d(sum(x * w))/dx = w and /dw = x', async () => {
    const x = leaf([1, 2, 3]);
    const w = leaf([4, -5, 6]);
    const y = x.mul(w).sum();
    expect(y.requiresGrad).toBe(true);
    expect(y.gradFn).not.toBeNull();
    y.backward();
    expect(await values(x.grad)).toEqual([4, -5, 6]);
    expect(await values(w.grad)).toEqual([1, 2, 3]);
    expect(x.grad!.shape).toEqual([3]);
  });

  it('a tensor used twice gets the sum of both gradients', async () => {
    const x = leaf([1, 2, 3]);
    x.add(x).sum().backward();
    expect(await values(x.grad)).toEqual([2, 2, 2]);
    x.zeroGrad();
    x.mul(x).sum().backward(); // d(x^2) = 2x
    expect(await values(x.grad)).toEqual([2, 4, 6]);
    x.zeroGrad();
    // Three uses through different paths: d(x*x*x + x)/dx = 3x^2 + 1
    x.mul(x).mul(x).add(x).sum().backward();
    expect(await values(x.grad)).toEqual([4, 13, 28]);
  });

  it('backward of a leaf scalar gives 1', async () => {
    const x = leaf([5], []);
    x.backward();
    expect(await values(x.grad)).toEqual([1]);
  });

  it('non-leaf tensors get no .grad; leaves do', async () => {
    const x = leaf([1, 2]);
    const h = x.mul(3);
    h.sum().backward();
    expect(h.grad).toBeNull();
    expect(await values(x.grad)).toEqual([3, 3]);
  });
});

describe('accumulation', () => {
  it('two backward calls add into .grad (PyTorch accumulates)', async () => {
    const x = leaf([1, 2, 3]);
    x.mul(3).sum().backward();
    x.mul(x).sum().backward();
    expect(await values(x.grad)).toEqual([3 + 2, 3 + 4, 3 + 6]);
  });

  it('zeroGrad drops the gradient; the next backward starts fresh', async () => {
    const x = leaf([1, 2]);
    x.mul(3).sum().backward();
    x.zeroGrad();
    expect(x.grad).toBeNull();
    x.mul(5).sum().backward();
    expect(await values(x.grad)).toEqual([5, 5]);
  });

  // conv2d and convTranspose2d add their weight and bias gradients into the
  // one the engine holds (BackwardFn's `into`), in place, when nothing else
  // shares it: the same values as a separate add, in the same .grad tensor.
  const layers = [
    ['conv2d', (x: Tensor, w: Tensor, b: Tensor) => conv2d(x, w, b, { padding: 1 }), [4, 3, 3, 3], 4],
    ['conv2d reflect', (x: Tensor, w: Tensor, b: Tensor) => conv2d(x, w, b, { padding: 1, paddingMode: 'reflect' }), [4, 3, 3, 3], 4],
    ['convTranspose2d', (x: Tensor, w: Tensor, b: Tensor) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }), [3, 4, 3, 3], 4],
  ] as const;
  it.each(layers)('%s used twice in one graph and across two backward calls: .grad is the sum, added in place', async (_, layer, wShape, biasLength) => {
    const rng = new Rng(5);
    // x1 is one slice of the weight gradient's reduction, x2 several (partial sums, then a reduce that accumulates).
    const [x1, x2] = [randn([1, 3, 6, 5], { rng }), randn([2, 3, 24, 20], { rng })];
    const w = randn([...wShape], { rng }).requireGrad();
    const b = randn([biasLength], { rng }).requireGrad();
    const seeds = [1, 2, 3].map(() => rng.normal());
    // Each use's gradients alone, then summed on the host.
    const separate: number[][][] = [];
    for (const [x, seed] of [[x1, seeds[0]], [x2, seeds[1]], [x1, seeds[2]]] as const) {
      tidy(() => layer(x, w, b).sum().mul(seed).backward());
      separate.push([await values(w.grad), await values(b.grad)]);
      w.zeroGrad();
      b.zeroGrad();
    }
    const sum = (i: number) => separate[0][i].map((v, j) => Math.fround(Math.fround(v + separate[1][i][j]) + separate[2][i][j]));

    tidy(() => layer(x1, w, b).sum().mul(seeds[0]).add(layer(x2, w, b).sum().mul(seeds[1])).backward());
    const [gw, gb] = [w.grad, b.grad];
    tidy(() => layer(x1, w, b).sum().mul(seeds[2]).backward());
    expect(w.grad).toBe(gw);
    expect(b.grad).toBe(gb);
    // Summed in order of arrival: the graph's two uses (either order), then the second call.
    const got = [await values(w.grad), await values(b.grad)];
    for (const i of [0, 1]) {
      const other = separate[0][i].map((v, j) => Math.fround(Math.fround(separate[1][i][j] + v) + separate[2][i][j]));
      got[i].forEach((v, j) => expect([sum(i)[j], other[j]]).toContain(v));
    }
    for (const t of [x1, x2, w, b]) t.dispose();
  });

  it('a .grad that another tensor shares is not written in place: the sum is a new tensor', async () => {
    const rng = new Rng(6);
    const x = randn([1, 2, 5, 5], { rng });
    const w = randn([3, 2, 3, 3], { rng }).requireGrad();
    tidy(() => conv2d(x, w).sum().backward());
    const first = w.grad!;
    const kept = first.detach();
    const before = await kept.data();
    tidy(() => conv2d(x, w).sum().backward());
    expect(w.grad).not.toBe(first);
    expect(await kept.data()).toEqual(before);
    expect(await values(w.grad)).toEqual([...before].map((v) => Math.fround(v + v)));
    for (const t of [x, w, kept]) t.dispose();
  });
});

describe('cutting the graph', () => {
  it('detach shares values but cuts the graph', async () => {
    const x = leaf([1, 2, 3]);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect([...(await d.data())]).toEqual([1, 2, 3]);
    // y = x * detach(x): only the first factor carries gradient, so dy/dx = x, not 2x.
    x.mul(d).sum().backward();
    expect(await values(x.grad)).toEqual([1, 2, 3]);
  });

  it('noGrad records nothing and restores the previous mode', async () => {
    const x = leaf([1, 2]);
    expect(isGradEnabled()).toBe(true);
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2).exp().sum();
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() => y.backward()).toThrow(/backward: .*does not require grad/);
    expect(x.grad).toBeNull();
    // Restored even when the function throws.
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
  });

  it('inputs with requiresGrad false get no gradient', async () => {
    const x = leaf([1, 2, 3]);
    const c = tensor([4, 5, 6]);
    expect(c.requiresGrad).toBe(false);
    x.mul(c).add(c).sum().backward();
    expect(c.grad).toBeNull();
    expect(await values(x.grad)).toEqual([4, 5, 6]);
    // An op whose inputs all lack requiresGrad records nothing.
    const z = c.mul(2);
    expect(z.requiresGrad).toBe(false);
    expect(z.gradFn).toBeNull();
  });

  it('multi-input backward closures compute no gradient for an input that needs none', () => {
    const ops: Record<string, (a: Tensor, b: Tensor) => Tensor> = { add, sub, mul, div, pow, maximum, minimum, matmul, concat: (a, b) => concat([a, b]) };
    for (const [name, op] of Object.entries(ops)) {
      for (const grads of [[true, false], [false, true]]) {
        const [a, b] = grads.map((g, i) => tensor([1.5 + i, 2, 0.5 + i, 3], [2, 2]).requireGrad(g));
        const c = op(a, b);
        const got = tidy(() => noGrad(() => c.gradFn!.apply(ones(c.shape), [null, null]).map((g) => g !== null)));
        expect(got, `${name} with requiresGrad ${grads}`).toEqual(grads);
        for (const t of [a, b, c]) t.dispose();
      }
    }
  });

  it('requiresGrad cannot be turned off on a non-leaf', () => {
    const y = leaf([1]).mul(2);
    expect(() => (y.requiresGrad = false)).toThrow(/requiresGrad: cannot turn off gradients of a non-leaf tensor/);
  });
});

describe('retainGraph', () => {
  it('allows a second backward; without it the second backward throws a clear error', async () => {
    const x = leaf([1, 2, 3]);
    const y = x.exp().mul(x).sum(); // saves tensors in exp and mul
    y.backward(undefined, { retainGraph: true });
    const first = await values(x.grad);
    y.backward(); // allowed: the graph was retained; this one frees it
    const second = await values(x.grad);
    second.forEach((v, i) => expect(v).toBeCloseTo(2 * first[i], 4));
    expect(() => y.backward()).toThrow(/backward: the graph through '\w+' was already freed .*retainGraph: true/);
  });

  it('a graph of ops that save nothing still refuses a second backward', () => {
    const x = leaf([1, 2]);
    const y = x.add(1).sum();
    y.backward();
    expect(() => y.backward()).toThrow(/already freed/);
  });
});

describe('explicit gradients and broadcasting', () => {
  it('backward with a gradient of the output shape', async () => {
    const x = leaf([1, 2, 3, 4, 5, 6], [2, 3]);
    const w = tensor([1, 10, 100, 1000, 10000, 100000], [2, 3]);
    const y = x.mul(w);
    y.backward(tensor([1, 2, 3, 4, 5, 6], [2, 3]));
    expect(await values(x.grad)).toEqual([1, 20, 300, 4000, 50000, 600000]);
    expect(x.grad!.shape).toEqual([2, 3]);
  });

  it('backward through broadcasting reduces to each input shape', async () => {
    const x = leaf([1, 2, 3], [3, 1]);
    const b = leaf([10, 20, 30, 40], [4]);
    const s = leaf([2], []);
    x.add(b).mul(s).sum().backward();
    expect(x.grad!.shape).toEqual([3, 1]);
    expect(await values(x.grad)).toEqual([8, 8, 8]); // 4 columns * s
    expect(b.grad!.shape).toEqual([4]);
    expect(await values(b.grad)).toEqual([6, 6, 6, 6]); // 3 rows * s
    expect(s.grad!.shape).toEqual([]);
    expect(await values(s.grad)).toEqual([4 * (1 + 2 + 3) + 3 * (10 + 20 + 30 + 40)]); // sum(x + b)
  });

  it('broadcasting in matmul reduces the batch of a 2-D operand', async () => {
    const a = leaf(Array.from({ length: 12 }, (_, i) => i), [2, 3, 2]);
    const w = leaf([1, 0, 0, 1], [2, 2]);
    a.matmul(w).sum().backward();
    expect(w.grad!.shape).toEqual([2, 2]);
    // dL/dw[k][n] = sum over batch and rows of a[..., k]
    const colSums = [0 + 2 + 4 + 6 + 8 + 10, 1 + 3 + 5 + 7 + 9 + 11];
    expect(await values(w.grad)).toEqual([colSums[0], colSums[0], colSums[1], colSums[1]]);
    expect(a.grad!.shape).toEqual([2, 3, 2]);
  });

  it('backward inside tidy keeps .grad alive afterwards', async () => {
    const x = leaf([1, 2]);
    tidy(() => {
      x.mul(x).sum().backward();
    });
    expect(x.grad!.isDisposed).toBe(false);
    expect(await values(x.grad)).toEqual([2, 4]);
  });
});

const rng = new Rng(20240601);
const inp = (shape: number[], opts: { low?: number; high?: number } = {}): GradcheckInput => randomInput(shape, rng, opts);

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
      [distinct([3, 4], rng)],
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

describe('backward misuse', () => {
  it('backward on a disposed tensor', () => {
    const x = tensor([1, 2]).requireGrad();
    const l = x.sum();
    l.dispose();
    expect(() => l.backward()).toThrow(/backward: tensor #\d+ of shape \[\] was disposed/);
  });

  it('a non-scalar without a gradient', () => {
    const y = tensor([1, 2, 3]).requireGrad().mul(2);
    expect(() => y.backward()).toThrow(/backward: called without a gradient on a non-scalar tensor of shape \[3\]/);
  });

  it('a gradient of the wrong shape', () => {
    const y = tensor([1, 2, 3, 4, 5, 6], [2, 3]).requireGrad().mul(2);
    expect(() => y.backward(zeros([3, 2]))).toThrow(/backward: gradient of shape \[3, 2\] does not match the tensor's shape \[2, 3\]/);
    expect(() => y.backward(zeros([6]))).toThrow(/backward: gradient of shape \[6\] does not match/);
    expect(() => y.sum().backward(zeros([1]))).toThrow(/backward: gradient of shape \[1\] does not match the tensor's shape \[\]/);
  });

  it('a tensor that does not require grad', () => {
    expect(() => tensor([1]).sum().backward()).toThrow(/backward: the tensor of shape \[\] does not require grad/);
  });

  it('a second backward without retainGraph', () => {
    const y = tensor([1, 2]).requireGrad().exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward: the graph through '(sum|exp)' was already freed by an earlier backward\(\); pass \{ retainGraph: true \}/);
  });
});
