import { describe, expect, test } from 'vitest';
import { NLayerDiscriminator, ResnetBlock, ResnetGenerator } from '@stripes/cyclegan';
import { Sequential, type Module } from '@stripes/nn';
import { add, manualSeed, randn, tidy, type Tensor } from '@stripes/tensor';
import { roundingOf } from '../helpers/matchers.ts';

/** The generator's forward with every layer called on its own: no Sequential fusion (reflection pads write their padded copies). */
function unfused(module: Module<[Tensor], Tensor>, x: Tensor): Tensor {
  if (module instanceof Sequential) return module.layers.reduce((h, layer) => unfused(layer as Module<[Tensor], Tensor>, h), x);
  if (module instanceof ResnetBlock) return add(x, unfused(module.convBlock, x));
  if (module instanceof ResnetGenerator) return unfused(module.model, x);
  return module.call(x);
}

// Forward outputs against PyTorch are golden cases (test/golden/cases.ts: cyclegan/forward).
describe('reference networks', () => {
  test('parameter counts at the paper defaults', () => {
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 64, nBlocks: 9 });
    const d = new NLayerDiscriminator({ inputNc: 3, ndf: 64, nLayers: 3 });
    expect(g.numParameters()).toBe(11_378_179);
    expect(d.numParameters()).toBe(2_764_737);
    g.dispose();
    d.dispose();
  });

  test('the generator with its reflection pads fused into its convs: bitwise the unfused output, its gradients to float rounding', async () => {
    manualSeed(3);
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 8, nBlocks: 2 });
    const x = randn([1, 3, 20, 20]).requireGrad();
    const gy = randn([1, 3, 20, 20]);
    const run = async (forward: (x: Tensor) => Tensor) => {
      for (const p of [x, ...g.parameters()]) p.zeroGrad();
      const y = tidy(() => forward(x));
      y.backward(gy);
      const values = await Promise.all([y, x.grad!, ...g.parameters().map((p) => p.grad!)].map((t) => t.data()));
      y.dispose();
      return values;
    };
    const fused = await run((h) => g.call(h));
    const plain = await run((h) => unfused(g, h));
    // The fused convs' input gradients add the mirrored terms of edge pixels in another order; the layers below inherit that
    // rounding: to the scale of all the gradients (a conv bias before instance norm has a gradient of rounding alone).
    expect(fused[0], 'output').toEqual(plain[0]);
    fused.slice(1).forEach((values, i) => expect(values).toBeAllClose(plain[i + 1], roundingOf(plain.slice(1)), i === 0 ? 'input gradient' : g.namedParameters()[i - 1][0]));
    g.dispose();
    for (const t of [x, gy]) t.dispose();
  });
});
