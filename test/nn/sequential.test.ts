import { describe, expect, test, vi } from 'vitest';
import { Conv2d, InstanceNorm2d, LeakyReLU, ReflectionPad2d, ReLU, Sequential, Tanh, type Module } from '@stripes/nn';
import { add, manualSeed, randn, rt, tidy, type Tensor } from '@stripes/tensor';
import { roundingOf } from '../helpers/matchers.ts';

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

/** fn(x)'s output, then the gradients of x and of seq's parameters for the output gradient gy. */
async function outputAndGradients(seq: Sequential, x: Tensor, gy: Tensor, fn: (x: Tensor) => Tensor): Promise<Float32Array[]> {
  for (const p of [x, ...seq.parameters()]) p.zeroGrad();
  const y = tidy(() => fn(x));
  y.backward(gy);
  const out = await y.data();
  y.dispose();
  return [out, ...(await Promise.all([x, ...seq.parameters()].map((p) => p.grad!.data())))];
}

describe('Sequential.forwardWithResidual', () => {
  test.each([
    ['ending in InstanceNorm2d: the norm adds the residual, no add', () => [new Conv2d(4, 4, 3, { padding: 1 }), new InstanceNorm2d(4)], 0],
    ['ending in another layer: an add', () => [new Conv2d(4, 4, 3, { padding: 1 }), new Tanh()], 1],
  ] as const)('%s; output and gradients bitwise x + seq(x)', async (_, layers, adds) => {
    manualSeed(11);
    const seq = new Sequential(...layers());
    const x = randn([2, 4, 5, 6]).requireGrad();
    const gy = randn([2, 4, 5, 6]);
    const run = (fn: (x: Tensor) => Tensor) => outputAndGradients(seq, x, gy, fn);
    let forwardAdds = 0;
    const fused = await run((h) => {
      const dispatch = vi.spyOn(rt(), 'dispatch');
      const y = seq.forwardWithResidual(h, h);
      forwardAdds = dispatch.mock.calls.filter(([kernel]) => kernel.name === 'binary').length;
      dispatch.mockRestore();
      return y;
    });
    expect(forwardAdds).toBe(adds);
    const plain = await run((h) => add(h, seq.call(h)));
    fused.forEach((values, i) => expect(values, i === 0 ? 'output' : i === 1 ? 'input gradient' : `parameter ${i - 2} gradient`).toEqual(plain[i]));
    seq.dispose();
    for (const t of [x, gy]) t.dispose();
  });
});

describe('Sequential fuses ReflectionPad2d + unpadded Conv2d', () => {
  test('bitwise the same output as the separate layers, the same gradients to float rounding; names unchanged', async () => {
    manualSeed(9);
    const seq = new Sequential(
      new ReflectionPad2d(3), new Conv2d(3, 8, 7), new InstanceNorm2d(8), new ReLU(),
      new ReflectionPad2d(1), new Conv2d(8, 8, 3, { stride: 2 }),
      new ReflectionPad2d([1, 1, 2, 2]), new Conv2d(8, 6, [5, 3]),
      // Not fusable: uneven sides, and a conv with its own padding.
      new ReflectionPad2d([1, 2, 1, 1]), new Conv2d(6, 4, 3),
      new ReflectionPad2d(1), new Conv2d(4, 2, 3, { padding: 1 }),
    );
    const x = randn([2, 3, 9, 11]).requireGrad();
    const gy = randn([2, 2, 7, 9]);
    const run = (fn: (x: Tensor) => Tensor) => outputAndGradients(seq, x, gy, fn);
    const padForward = vi.spyOn(ReflectionPad2d.prototype, 'forward');
    const fused = await run((h) => seq.call(h));
    expect(padForward).toHaveBeenCalledTimes(2);
    padForward.mockRestore();
    const plain = await run((h) => unfused(seq.layers, h));
    // A fused stride-1 conv's input gradient adds the mirrored terms of edge pixels in another order, and the layers below inherit
    // that rounding: to the scale of all the gradients (a conv bias before instance norm has a gradient of rounding alone).
    expect(fused[0], 'output').toEqual(plain[0]);
    fused.slice(1).forEach((values, i) => expect(values).toBeAllClose(plain[i + 1], roundingOf(plain.slice(1)), i === 0 ? 'input gradient' : `parameter ${i - 1} gradient`));
    expect(Object.keys(seq.stateDict())).toEqual(['1.weight', '1.bias', '5.weight', '5.bias', '7.weight', '7.bias', '9.weight', '9.bias', '11.weight', '11.bias']);
    seq.dispose();
    for (const t of [x, gy]) t.dispose();
  });
});
