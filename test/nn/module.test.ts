import { describe, expect, it } from 'vitest';
import { manualSeed, memory, Rng, tensor, tidy, type Tensor } from '@stripes/tensor';
import { clipGradNorm, Conv2d, Dropout, evaluate, init, InstanceNorm2d, LeakyReLU, Module, ReLU, Sequential } from '@stripes/nn';

/** A model whose names nest the way CycleGAN's do: `model.<i>.<name>` and `model.<i>.conv_block.<j>.<name>`. */
class Block extends Module {
  readonly convBlock: Sequential;
  constructor(dim: number) {
    super();
    this.convBlock = this.registerModule('conv_block', new Sequential(new Conv2d(dim, dim, 3, { padding: 1 }), new InstanceNorm2d(dim), new ReLU()));
  }
  forward(x: Tensor): Tensor {
    return x.add(this.convBlock.call(x));
  }
}

class Net extends Module {
  readonly model: Sequential;
  constructor() {
    super();
    this.model = this.registerModule('model', new Sequential(new Conv2d(3, 4, 1), new Block(4), new Dropout(0.5), new Conv2d(4, 2, 1, { bias: false })));
  }
  forward(x: Tensor): Tensor {
    return this.model.call(x);
  }
}

describe('Module', () => {
  it('names parameters with dotted PyTorch paths, in registration order', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n, p]) => `${n} [${p.shape.join(', ')}]`)).toEqual([
      'model.0.weight [4, 3, 1, 1]',
      'model.0.bias [4]',
      'model.1.conv_block.0.weight [4, 4, 3, 3]',
      'model.1.conv_block.0.bias [4]',
      'model.3.weight [2, 4, 1, 1]',
    ]);
    expect(Object.keys(net.stateDict())).toEqual(net.namedParameters().map(([n]) => n));
    expect(net.numParameters()).toBe(12 + 4 + 144 + 4 + 8);
    expect(net.parameters().every((p) => p.requiresGrad && p.gradFn === null)).toBe(true);
    expect(net.namedModules().map(([n, m]) => `${n}:${m.constructor.name}`)).toEqual([
      ':Net', 'model:Sequential', 'model.0:Conv2d', 'model.1:Block', 'model.1.conv_block:Sequential',
      'model.1.conv_block.0:Conv2d', 'model.1.conv_block.1:InstanceNorm2d', 'model.1.conv_block.2:ReLU', 'model.2:Dropout', 'model.3:Conv2d',
    ]);
    net.dispose();
  });

  it('train() / eval() reach every submodule; requireGrad freezes and unfreezes', () => {
    const net = new Net();
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.requireGrad(false);
    expect(net.parameters().some((p) => p.requiresGrad)).toBe(false);
    net.requireGrad();
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    net.dispose();
  });

  it('parameters survive tidy; dispose frees them and the module refuses calls', () => {
    const before = memory().liveBuffers;
    const net = tidy(() => {
      const n = new Net();
      n.call(tensor(new Float32Array(3 * 4), [1, 3, 2, 2]));
      return n;
    });
    expect(net.parameters().every((p) => !p.isDisposed)).toBe(true);
    expect(memory().liveBuffers).toBe(before + 5);
    net.dispose();
    expect(memory().liveBuffers).toBe(before);
    expect(() => net.call(tensor([1]))).toThrow(/Net: the module was disposed/);
  });

  it('`using` disposes a module and its parameters at the end of its block', () => {
    const before = memory().liveBuffers;
    let kept: Net;
    {
      using net = new Net();
      kept = net;
      expect(memory().liveBuffers).toBe(before + 5);
    }
    expect(memory().liveBuffers).toBe(before);
    expect(kept.parameters().every((p) => p.isDisposed)).toBe(true);
    expect(() => kept.call(tensor([1]))).toThrow(/Net: the module was disposed/);
  });

  it('registration rejects duplicate and dotted names and non-leaf parameters', () => {
    class Bad extends Module {
      constructor(kind: string) {
        super();
        if (kind === 'dup') {
          this.registerModule('a', new ReLU());
          this.registerModule('a', new ReLU());
        }
        if (kind === 'dot') this.registerModule('a.b', new ReLU());
        if (kind === 'nonleaf') this.registerParameter('w', tensor([1]).requireGrad().mul(2));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Bad('dup')).toThrow(/Bad: 'a' is already registered/);
    expect(() => new Bad('dot')).toThrow(/Bad: invalid name 'a.b'/);
    expect(() => tidy(() => new Bad('nonleaf'))).toThrow(/must be a leaf tensor/);
  });

  it('loadStateDict copies values in place and reports missing, unexpected and misshaped keys in one error', async () => {
    const a = new Net();
    const b = new Net();
    const weightBefore = b.stateDict()['model.0.weight'];
    b.loadStateDict(a.stateDict());
    expect(b.stateDict()['model.0.weight']).toBe(weightBefore);
    for (const [name, t] of Object.entries(a.stateDict())) expect(await b.stateDict()[name].data(), name).toEqual(await t.data());
    b.loadStateDict(b.stateDict());
    expect(await b.stateDict()['model.0.weight'].data()).toEqual(await a.stateDict()['model.0.weight'].data());

    const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, t] of Object.entries(a.stateDict())) sd[name] = { shape: [...t.shape], data: await t.data() };
    delete sd['model.0.bias'];
    sd['model.9.weight'] = { shape: [1], data: new Float32Array(1) };
    sd['model.3.weight'] = { shape: [2, 4], data: new Float32Array(8) };
    const snapshot = await b.stateDict()['model.3.weight'].data();
    let message = '';
    try {
      b.loadStateDict(sd);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(
      'loadStateDict: 3 problem(s) loading into Net:\n' +
        '  missing: model.0.bias\n' +
        '  unexpected: model.9.weight\n' +
        '  shape mismatch: model.3.weight: source [2, 4], model [2, 4, 1, 1]',
    );
    expect(await b.stateDict()['model.3.weight'].data()).toEqual(snapshot);

    // Non-strict: names may differ, shapes may not.
    expect(() => b.loadStateDict(sd, { strict: false })).toThrow(/1 problem\(s\)[\s\S]*shape mismatch: model.3.weight/);
    sd['model.3.weight'] = { shape: [2, 4, 1, 1], data: Float32Array.from({ length: 8 }, (_, i) => i) };
    expect(b.loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ['model.0.bias'], unexpectedKeys: ['model.9.weight'] });
    expect(await b.stateDict()['model.3.weight'].data()).toEqual(sd['model.3.weight'].data);
    a.dispose();
    b.dispose();
  });
});

describe('init', () => {
  it('the same seed gives the same weights; a different seed different ones', async () => {
    const weights = async (seed: number) => {
      manualSeed(seed);
      const net = new Net();
      const values = await Promise.all(net.parameters().map((p) => p.data()));
      net.dispose();
      return values;
    };
    const [a, b, c] = [await weights(11), await weights(11), await weights(12)];
    expect(b).toEqual(a);
    expect(c[0]).not.toEqual(a[0]);
  });

  it('normal / zeros / constant on a module, a tensor or a list; stats of the fan-based inits', async () => {
    const net = new Net();
    const rng = new Rng(3);
    init.normal(net, 0, 0.02, { rng });
    init.zeros(net.parameters().filter((p) => p.rank === 1));
    const w = net.stateDict()['model.1.conv_block.0.weight'];
    expect(await net.stateDict()['model.0.bias'].data()).toEqual(new Float32Array(4));
    const stats = async (t: Tensor) => {
      const v = await t.data();
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      return { mean, std: Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length) };
    };
    let s = await stats(w);
    expect(Math.abs(s.mean)).toBeLessThan(0.005);
    expect(s.std).toBeGreaterThan(0.016);
    expect(s.std).toBeLessThan(0.024);

    const big = tensor(new Float32Array(64 * 32 * 3 * 3), [64, 32, 3, 3]);
    init.kaimingNormal(big, { mode: 'fan_in', nonlinearity: 'relu', rng });
    s = await stats(big);
    expect(s.std / Math.sqrt(2 / (32 * 9))).toBeCloseTo(1, 1);
    init.xavierNormal(big, { gain: 2, rng });
    s = await stats(big);
    expect(s.std / (2 * Math.sqrt(2 / (32 * 9 + 64 * 9)))).toBeCloseTo(1, 1);
    init.kaimingUniform(big, { a: Math.sqrt(5), rng });
    const max = (await big.data()).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(max).toBeLessThanOrEqual(1 / Math.sqrt(32 * 9));
    init.constant([big], 0.5);
    expect((await big.data()).every((x) => x === 0.5)).toBe(true);
    expect(() => init.xavierNormal(tensor([1, 2]))).toThrow(/at least 2 dimensions/);
    expect(init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
    big.dispose();
    net.dispose();
  });

  it('xavierUniform draws U(-a, a) with a = gain * sqrt(3) * sqrt(2 / (fan_in + fan_out)), fans as torch computes them', async () => {
    // torch.nn.init._calculate_fan_in_and_fan_out: dims 1 and 0 times the receptive field.
    expect(init.calculateFans([64, 32, 3, 3])).toEqual({ fanIn: 32 * 9, fanOut: 64 * 9 });
    expect(init.calculateFans([10, 7])).toEqual({ fanIn: 7, fanOut: 10 });
    const w = tensor(new Float32Array(64 * 32 * 3 * 3), [64, 32, 3, 3]);
    const draw = async (gain: number | undefined, seed: number) => {
      init.xavierUniform(w, { gain, rng: new Rng(seed) });
      return w.data();
    };
    for (const gain of [undefined, 2]) {
      const a = (gain ?? 1) * Math.sqrt(3) * Math.sqrt(2 / (32 * 9 + 64 * 9));
      const v = await draw(gain, 5);
      const maxAbs = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(maxAbs).toBeLessThanOrEqual(a * (1 + 1e-6));
      expect(maxAbs).toBeGreaterThan(0.99 * a);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
      expect(Math.abs(mean)).toBeLessThan(0.01 * a);
      expect(variance / (a * a / 3)).toBeCloseTo(1, 1);
    }
    expect(await draw(undefined, 5)).toEqual(await draw(undefined, 5));
    expect(() => init.xavierUniform(tensor([1, 2]))).toThrow(/at least 2 dimensions/);
    w.dispose();
  });
});

describe('Dropout', () => {
  const x = () => tensor(Float32Array.from({ length: 4000 }, (_, i) => 1 + (i % 7)), [4, 10, 10, 10]);

  it('same seed, same mask; zeroes about p of the values and scales the rest by 1 / (1 - p)', async () => {
    const run = async (seed: number) => {
      const d = new Dropout(0.3, { rng: new Rng(seed) });
      return tidy(() => d.call(x())).data();
    };
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const input = await x().data();
    let dropped = 0;
    a.forEach((v, i) => {
      if (v === 0) dropped++;
      else expect(v).toBeCloseTo(input[i] / 0.7, 5);
    });
    expect(dropped / a.length).toBeGreaterThan(0.27);
    expect(dropped / a.length).toBeLessThan(0.33);
  });

  it('is the identity in eval mode and for p = 0; p = 1 drops everything', async () => {
    const input = x();
    expect(new Dropout(0.5).eval().call(input)).toBe(input);
    expect(new Dropout(0).call(input)).toBe(input);
    expect((await new Dropout(1).call(input).data()).every((v) => v === 0)).toBe(true);
    expect(() => new Dropout(1.5)).toThrow(/Dropout: p must be in \[0, 1\]/);
  });

  it('backpropagates through the mask', async () => {
    const input = x().requireGrad();
    const y = new Dropout(0.5, { rng: new Rng(1) }).call(input);
    y.sum().backward();
    const [yv, gv] = [await y.data(), await input.grad!.data()];
    gv.forEach((g, i) => expect(g).toBe(yv[i] === 0 ? 0 : 2));
  });
});

describe('evaluate and clipGradNorm', () => {
  it('evaluate: eval mode inside, modes restored after, no graph, intermediates freed', () => {
    const net = new Sequential(new Conv2d(2, 2, 1), new Dropout(0.5), new LeakyReLU(0.2));
    net.modules()[2].training = false;
    const live = memory().liveBuffers;
    let modesInside: boolean[] = [];
    const y = evaluate(net, () => {
      modesInside = net.modules().map((m) => m.training);
      return net.call(tensor(new Float32Array(8), [1, 2, 2, 2]));
    });
    expect(modesInside).toEqual([false, false, false, false]);
    expect(net.modules().map((m) => m.training)).toEqual([true, true, false, true]);
    expect(y.requiresGrad).toBe(false);
    expect(memory().liveBuffers).toBe(live + 1);
    y.dispose();
    net.dispose();
  });

  it('clipGradNorm scales all gradients by one factor when the global norm exceeds maxNorm', async () => {
    const a = tensor([0, 0]).requireGrad();
    const b = tensor([0]).requireGrad();
    const c = tensor([0]).requireGrad();
    a.grad = tensor([3, 0]);
    b.grad = tensor([4]);
    const norm = clipGradNorm([a, b, c], 1);
    expect(await norm.item()).toBeCloseTo(5, 5);
    expectCloseTo(await a.grad.data(), [0.6, 0]);
    expectCloseTo(await b.grad.data(), [0.8]);
    expect(c.grad).toBeNull();
    const norm2 = clipGradNorm([a, b], 10);
    expect(await norm2.item()).toBeCloseTo(1, 5);
    expectCloseTo(await b.grad.data(), [0.8]);
    expect(await clipGradNorm([c], 1).item()).toBe(0);
  });
});

function expectCloseTo(actual: Float32Array, expected: number[]): void {
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 5));
}
