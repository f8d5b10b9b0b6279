// instanceNorm2d: the fused activation against the norm followed by the
// elementwise op, large planes, what it frees, and errors. Its values against
// an f64 reference, gradchecks (every activation and affine combination) and
// memory are rows of test/tensor/ops.table.ts.
import { describe, expect, it } from 'vitest';
import { instanceNorm2d, leakyRelu, memory, relu, Rng, tensor, tidy, type NormActivation, type Tensor } from '@stripes/tensor';
import { gradcheck } from '../helpers/gradcheck.ts';
import { expectClose } from '../helpers/golden.ts';
import { NORM_DOMAIN } from './ops.table.ts';

describe('instanceNorm2d: the fused activation against the unfused graph', () => {
  const rng = new Rng(3);
  const shape = [2, 3, 3, 5];
  const activations: Array<[NormActivation, (t: Tensor) => Tensor]> = [
    ['relu', relu],
    ['leakyRelu', (t) => leakyRelu(t, 0.2)],
  ];

  for (const [activation, unfused] of activations) {
    const x = NORM_DOMAIN.x(activation)(shape, rng);
    const w = NORM_DOMAIN.weight(rng);
    const b = NORM_DOMAIN.bias(rng);
    const options = { activation, slope: 0.2 };
    it(`${activation}, affine: unfused (norm, then the elementwise op)`, async () => {
      await gradcheck(`instanceNorm2d then ${activation}`, (xt, wt, bt) => unfused(instanceNorm2d(xt, { weight: wt, bias: bt })), [x, w, b]);
    });
    it(`${activation}: fused and unfused agree, forward and backward`, async () => {
      const run = async (fused: boolean) => {
        const leaves = [x, w, b].map((i) => tensor(i.data, i.shape).requireGrad());
        const [xt, wt, bt] = leaves;
        const y = fused ? instanceNorm2d(xt, { ...options, weight: wt, bias: bt }) : unfused(instanceNorm2d(xt, { weight: wt, bias: bt }));
        y.backward(tensor(rng.fillNormal(new Float32Array(y.size)), y.shape));
        const out = [await y.data(), ...(await Promise.all(leaves.map((t) => t.grad!.data())))];
        for (const t of [y, ...leaves]) t.dispose();
        return out;
      };
      const seed = rng.getState();
      const fused = await run(true);
      rng.setState(seed);
      const reference = await run(false);
      ['y', 'gx', 'gw', 'gb'].forEach((label, i) => expectClose(fused[i], reference[i], { rtol: 1e-5 }, label));
    });
  }
});

describe('instanceNorm2d on large planes and memory', () => {
  it('a 1 x 3 x 256 x 256 input: one workgroup per plane still normalizes each plane', async () => {
    const rng = new Rng(8);
    const [n, c, h, w] = [1, 3, 256, 256];
    const x = rng.fillNormal(new Float32Array(n * c * h * w), 4, 3);
    const y = await tidy(() => instanceNorm2d(tensor(x, [n, c, h, w]))).data();
    for (let p = 0; p < n * c; p++) {
      const plane = y.subarray(p * h * w, (p + 1) * h * w);
      const mean = plane.reduce((s, v) => s + v, 0) / plane.length;
      const variance = plane.reduce((s, v) => s + (v - mean) ** 2, 0) / plane.length;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.abs(variance - 1)).toBeLessThan(1e-4);
    }
  });

  it('frees its statistics with the graph', async () => {
    const before = memory().liveBuffers;
    const x = tensor(new Float32Array(2 * 3 * 4 * 4).map((_, i) => Math.sin(i)), [2, 3, 4, 4]).requireGrad();
    const weight = tensor([1, 2, 3], [3]).requireGrad();
    tidy(() => instanceNorm2d(x).dispose());
    const loss = tidy(() => instanceNorm2d(x, { weight, activation: 'relu' }).sum());
    loss.backward();
    await x.grad!.data();
    for (const t of [loss, x, weight]) t.dispose();
    expect(memory().liveBuffers).toBe(before);
  });
});

describe('instanceNorm2d errors', () => {
  it('rejects a wrong rank, a 1-element plane, a wrong-size weight or bias', () => {
    const x = tensor(new Float32Array(2 * 3 * 4 * 5), [2, 3, 4, 5]);
    expect(() => instanceNorm2d(tensor(new Float32Array(12), [3, 4]))).toThrow(/instanceNorm2d: .*rank 4.*\[3, 4\]/);
    expect(() => instanceNorm2d(tensor(new Float32Array(6), [2, 3, 1, 1]))).toThrow(/instanceNorm2d: .*spatial.*\[2, 3, 1, 1\]/);
    expect(() => instanceNorm2d(x, { weight: tensor([1, 2], [2]) })).toThrow(/instanceNorm2d: weight of shape \[2\] .*3 channels.*\[2, 3, 4, 5\]/);
    expect(() => instanceNorm2d(x, { bias: tensor([1, 2, 3, 4, 5, 6], [2, 3]) })).toThrow(/instanceNorm2d: bias of shape \[2, 3\].*\[2, 3, 4, 5\]/);
    expect(() => instanceNorm2d(x, { eps: 0 })).toThrow(/instanceNorm2d: eps/);
    expect(() => instanceNorm2d(x, { activation: 'gelu' as NormActivation })).toThrow(/instanceNorm2d: unknown activation 'gelu'/);
  });
});
