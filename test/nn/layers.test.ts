import { describe, expect, it } from 'vitest';
import { noGrad, tensor, tidy } from '@stripes/tensor';
import {
  Conv2d, ConvTranspose2d, Identity, InstanceNorm2d, LeakyReLU, ReflectionPad2d, ReLU, Sequential, Sigmoid, Tanh, ZeroPad2d,
  Module, type Padding2d,
} from '@stripes/nn';
import { expectClose, loadGolden } from '../helpers/golden.ts';

const golden = loadGolden('layers');

type Args = Record<string, number | boolean | number[]>;

/** The module PyTorch built for a fixture case, from its recorded constructor arguments. */
function build(module: string, a: Args): Module {
  const n = (k: string) => a[k] as number;
  switch (module) {
    case 'Conv2d':
      return new Conv2d(n('in_channels'), n('out_channels'), n('kernel_size'), { stride: n('stride'), padding: n('padding'), bias: a.bias as boolean | undefined });
    case 'ConvTranspose2d':
      return new ConvTranspose2d(n('in_channels'), n('out_channels'), n('kernel_size'), {
        stride: n('stride'), padding: n('padding'), outputPadding: n('output_padding'), bias: a.bias as boolean | undefined,
      });
    case 'InstanceNorm2d':
      return new InstanceNorm2d(n('num_features'), { affine: a.affine as boolean, eps: n('eps') });
    case 'ReflectionPad2d':
      return new ReflectionPad2d(a.padding as Padding2d);
    case 'ZeroPad2d':
      return new ZeroPad2d(a.padding as Padding2d);
    case 'LeakyReLU':
      return new LeakyReLU(n('negative_slope'));
    case 'Tanh':
      return new Tanh();
    case 'Sigmoid':
      return new Sigmoid();
    case 'Sequential':
      // generate.py's `seq`, layer for layer (its metadata lists their reprs).
      return new Sequential(
        new ReflectionPad2d(1),
        new Conv2d(3, 4, 3),
        new InstanceNorm2d(4),
        new ReLU(),
        new Conv2d(4, 2, 4, { stride: 2, padding: 1 }),
        new LeakyReLU(0.2),
        new Tanh(),
      );
    default:
      throw new Error(`no builder for ${module}`);
  }
}

const cases = Object.entries(golden.metadata)
  .map(([name, json]) => ({ name, opts: JSON.parse(json) as { module?: string; state: string[]; args?: Args } }))
  .filter((c) => c.opts.module);

describe('layers vs PyTorch', () => {
  it('covers every fixture case', () => {
    expect(cases.map((c) => c.name)).toEqual(['conv', 'conv_nobias', 'convT', 'in_plain', 'in_affine', 'reflect', 'reflect_asym', 'zeropad', 'lrelu', 'tanh', 'sigmoid', 'seq']);
  });

  for (const { name, opts } of cases) {
    it(`${name}: ${opts.module} has PyTorch's state-dict names and shapes and output`, async () => {
      const m = build(opts.module!, opts.args ?? {});
      const sd = m.stateDict();
      expect(Object.keys(sd)).toEqual(opts.state);
      for (const key of opts.state) expect([...sd[key].shape], key).toEqual(golden.get(`${name}.${key}`).shape);

      m.loadStateDict(Object.fromEntries(opts.state.map((key) => [key, golden.get(`${name}.${key}`)])));
      const x = golden.get(`${name}.x`);
      const expected = golden.get(`${name}.y`);
      const y = noGrad(() => tidy(() => m.call(tensor(x.data, x.shape))));
      expect([...y.shape]).toEqual(expected.shape);
      expectClose(await y.data(), expected.data, { rtol: 1e-4 }, name, expected.shape);
      y.dispose();
      m.dispose();
    });
  }
});

describe('layer construction', () => {
  it("Conv2d and ConvTranspose2d use PyTorch's default init bounds (fan-in from weight dims 1..)", async () => {
    const conv = new Conv2d(4, 6, 3);
    const convT = new ConvTranspose2d(4, 6, 3);
    for (const [m, fanIn] of [[conv, 4 * 9], [convT, 6 * 9]] as const) {
      const bound = 1 / Math.sqrt(fanIn);
      for (const p of m.parameters()) {
        const v = await p.data();
        const max = v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
        expect(max).toBeLessThanOrEqual(bound);
        // A uniform sample of >= 6 values nearly fills its range.
        expect(max).toBeGreaterThan(bound * 0.5);
      }
    }
    expect(Object.fromEntries(Object.entries(convT.stateDict()).map(([k, t]) => [k, t.shape]))).toEqual({ weight: [4, 6, 3, 3], bias: [6] });
    conv.dispose();
    convT.dispose();
  });

  it('rejects bad arguments with the layer named', () => {
    expect(() => new Conv2d(3, 0, 3)).toThrow(/Conv2d: outChannels must be a positive integer/);
    expect(() => new Conv2d(3, 4, [3, 3, 3] as never)).toThrow(/Conv2d: kernelSize/);
    expect(() => new ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: 2 })).toThrow(/outputPadding \[2, 2\] must be smaller than stride/);
    expect(() => new InstanceNorm2d(4, { trackRunningStats: true })).toThrow(/trackRunningStats is not supported/);
    expect(() => new ReflectionPad2d([1, 2] as never)).toThrow(/ReflectionPad2d: padding/);
    const norm = new InstanceNorm2d(4);
    expect(() => tidy(() => norm.call(tensor(new Float32Array(3 * 4), [1, 3, 2, 2])))).toThrow(/expected input \[N, 4, H, W\], got \[1, 3, 2, 2\]/);
  });

  it('InstanceNorm2d is parameter-free by default; affine adds weight (ones) and bias (zeros)', async () => {
    expect(new InstanceNorm2d(3).numParameters()).toBe(0);
    const affine = new InstanceNorm2d(3, { affine: true });
    expect(await affine.stateDict().weight.data()).toEqual(Float32Array.of(1, 1, 1));
    expect(await affine.stateDict().bias.data()).toEqual(Float32Array.of(0, 0, 0));
    affine.dispose();
  });

  it('Identity returns its input; activations keep gradients flowing', async () => {
    const x = tensor([-1, 2], [2]).requireGrad();
    expect(new Identity().call(x)).toBe(x);
    const y = new LeakyReLU(0.1).call(x);
    y.sum().backward();
    expect(await x.grad!.data()).toEqual(Float32Array.of(0.1, 1));
  });
});
