import { describe, expect, test } from 'vitest';
import { Conv2d, InstanceNorm2d, LeakyReLU, ReLU, Sequential, Tanh, type Module } from '@stripes/nn';
import { manualSeed, randn, tidy, type Tensor } from '@stripes/tensor';

/** Runs the layers one by one: no fusion. */
function unfused(layers: readonly Module[], x: Tensor): Tensor {
  return layers.reduce((h, l) => (l as Module<[Tensor], Tensor>).call(h), x);
}

describe('Sequential fuses InstanceNorm + (Leaky)ReLU', () => {
  for (const act of ['relu', 'leakyRelu'] as const) {
    test(`${act}: same output and gradients as the separate layers`, async () => {
      manualSeed(5);
      const seq = new Sequential(new Conv2d(3, 5, 3, { padding: 1 }), new InstanceNorm2d(5, { affine: true }), act === 'relu' ? new ReLU() : new LeakyReLU(0.2), new Conv2d(5, 2, 3), new Tanh());
      const x = randn([2, 3, 7, 6]);
      const run = async (fn: (x: Tensor) => Tensor) => {
        for (const p of seq.parameters()) p.zeroGrad();
        const y = tidy(() => fn(x));
        tidy(() => y.mul(y).sum().backward());
        const out = await y.data();
        y.dispose();
        return { out, grads: await Promise.all(seq.parameters().map((p) => p.grad!.data())) };
      };
      const fused = await run((h) => seq.call(h));
      const plain = await run((h) => unfused(seq.layers, h));
      for (let i = 0; i < plain.out.length; i++) expect(Math.abs(fused.out[i] - plain.out[i])).toBeLessThan(1e-5);
      fused.grads.forEach((g, k) => {
        for (let i = 0; i < g.length; i++) expect(Math.abs(g[i] - plain.grads[k][i]), `param ${k}[${i}]`).toBeLessThan(1e-4 * (1 + Math.abs(plain.grads[k][i])));
      });
      expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias']);
      seq.dispose();
      x.dispose();
    });
  }
});
