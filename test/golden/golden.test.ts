// Runs every PyTorch golden case (cases.ts: ops, layers, optimizers, the
// CycleGAN networks and step; the bundle's selfcheck runs the same list), and
// checks the fixtures are complete and self-consistent and that the
// comparison passes and fails when it should.
import { describe, expect, it } from 'vitest';
import { assertSameShape, expectClose, loadGolden } from '../helpers/golden.ts';
import { goldenCases } from './cases.ts';

const cases = goldenCases();

describe('PyTorch golden cases', () => {
  it('cover every fixture case', () => {
    const names = (prefix: string) => cases.filter((c) => c.name.startsWith(prefix)).map((c) => c.name);
    expect(names('ops/conv2d_')).toHaveLength(13);
    expect(names('ops/conv_transpose2d_')).toHaveLength(6);
    expect(names('ops/reflection_pad2d')).toEqual(['ops/reflection_pad2d']);
    expect(names('layers/')).toEqual(
      ['conv', 'conv_nobias', 'convT', 'in_plain', 'in_affine', 'reflect', 'reflect_asym', 'zeropad', 'lrelu', 'tanh', 'sigmoid', 'seq'].map((n) => `layers/${n}`),
    );
    expect(names('optim/')).toEqual(['optim/adam', 'optim/adam_wd', 'optim/adam_default', 'optim/sgd_momentum']);
    expect(names('cyclegan/')).toEqual(['cyclegan/forward', 'cyclegan/step']);
  });

  for (const c of cases) it(c.name, async () => expect(await c.run()).toEqual([]));
});

describe('golden fixtures', () => {
  it('every ops case has its tensors, gradients shaped like their inputs', () => {
    const g = loadGolden('ops');
    const ops = ['conv2d', 'conv_transpose2d', 'instance_norm', 'pad', 'relu', 'leaky_relu', 'tanh', 'sigmoid'];
    for (const op of ops) {
      const cases = g.cases(op);
      expect(cases.length, op).toBeGreaterThan(0);
      for (const { name, opts } of cases) {
        assertSameShape(g.get(`${name}.gy`).shape, g.get(`${name}.y`).shape, `${name}.gy`);
        for (const input of ['x', 'w', 'b']) {
          if (!g.tensors.has(`${name}.${input}`)) continue;
          assertSameShape(g.get(`${name}.g${input}`).shape, g.get(`${name}.${input}`).shape, `${name}.g${input}`);
        }
        expect(g.tensors.has(`${name}.b`), `${name} bias`).toBe(opts.bias ?? opts.affine ?? false);
      }
    }
    expect(g.cases('conv2d').length).toBeGreaterThanOrEqual(12);
    expect(g.cases('l1_loss').length + g.cases('mse_loss').length).toBe(5);
  });

  it('elementwise cases agree with the closed forms', () => {
    const g = loadGolden('ops');
    const forms: Record<string, [(x: number) => number, (x: number) => number]> = {
      relu: [(x) => Math.max(x, 0), (x) => (x > 0 ? 1 : 0)],
      leaky_relu: [(x) => (x > 0 ? x : 0.2 * x), (x) => (x > 0 ? 1 : 0.2)],
      tanh: [Math.tanh, (x) => 1 - Math.tanh(x) ** 2],
      sigmoid: [(x) => 1 / (1 + Math.exp(-x)), (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2],
    };
    for (const [op, [f, df]] of Object.entries(forms)) {
      const [{ name }] = g.cases(op);
      const x = g.get(`${name}.x`).data;
      const gy = g.get(`${name}.gy`).data;
      expectClose(x.map(f), g.get(`${name}.y`).data, { rtol: 1e-6 }, `${name}.y`);
      expectClose(x.map((v, i) => df(v) * gy[i]), g.get(`${name}.gx`).data, { rtol: 1e-6 }, `${name}.gx`);
    }
  });

  it('loss cases agree with the mean L1 / MSE formulas', () => {
    const g = loadGolden('ops');
    for (const op of ['l1_loss', 'mse_loss']) {
      for (const { name } of g.cases(op)) {
        const x = g.get(`${name}.x`).data;
        const t = g.get(`${name}.target`).data;
        const n = x.length;
        const loss = x.reduce((s, v, i) => s + (op === 'l1_loss' ? Math.abs(v - t[i]) : (v - t[i]) ** 2), 0) / n;
        expect(g.get(`${name}.loss`).shape).toEqual([]);
        expectClose([loss], g.get(`${name}.loss`).data, { rtol: 1e-6 }, `${name}.loss`);
        const gx = x.map((v, i) => (op === 'l1_loss' ? Math.sign(v - t[i]) : 2 * (v - t[i])) / n);
        expectClose(gx, g.get(`${name}.gx`).data, { rtol: 1e-6 }, `${name}.gx`);
      }
    }
  });

  it('optim cases hold every step and the final state', () => {
    const g = loadGolden('optim');
    const cases = [...g.cases('adam'), ...g.cases('sgd')];
    expect(cases.map((c) => c.name)).toEqual(['adam', 'adam_wd', 'adam_default', 'sgd_momentum']);
    for (const { name, opts } of cases) {
      const state = opts.op === 'adam' ? ['exp_avg', 'exp_avg_sq'] : ['momentum_buffer'];
      for (const p of opts.params as string[]) {
        const shape = g.get(`${name}.${p}.init`).shape;
        for (let t = 1; t <= (opts.steps as number); t++) {
          assertSameShape(g.get(`${name}.${p}.grad.${t}`).shape, shape, `${name}.${p}.grad.${t}`);
          assertSameShape(g.get(`${name}.${p}.step.${t}`).shape, shape, `${name}.${p}.step.${t}`);
        }
        for (const s of state) assertSameShape(g.get(`${name}.${p}.${s}`).shape, shape, `${name}.${p}.${s}`);
      }
    }
  });

  it('layer cases store the state dict under PyTorch names', () => {
    const g = loadGolden('layers');
    const seq = g.cases('Sequential')[0];
    expect(seq.opts.state).toEqual(['1.weight', '1.bias', '4.weight', '4.bias']);
    for (const { name, opts } of [...g.cases('Conv2d'), ...g.cases('InstanceNorm2d'), seq]) {
      for (const key of opts.state as string[]) expect(g.tensors.has(`${name}.${key}`), `${name}.${key}`).toBe(true);
    }
  });

  it('cyclegan holds four networks before and after the step, with reference names', () => {
    const g = loadGolden('cyclegan');
    const counts = JSON.parse(g.metadata.param_counts) as Record<string, number>;
    for (const net of ['G_A', 'G_B', 'D_A', 'D_B']) {
      const names = [...g.tensors.keys()].filter((k) => k.startsWith(`${net}.`));
      const total = names.reduce((s, k) => s + g.get(k).data.length, 0);
      expect(total, net).toBe(counts[net]);
      for (const k of names) {
        assertSameShape(g.get(`after.${k}`).shape, g.get(k).shape, `after.${k}`);
        assertSameShape(g.get(`grad.${k}`).shape, g.get(k).shape, `grad.${k}`);
      }
    }
    expect(g.get('G_A.model.10.conv_block.1.weight').shape).toEqual([16, 16, 3, 3]);
    expect(g.get('G_A.model.16.weight').shape).toEqual([16, 8, 3, 3]);
    expect(g.get('D_A.model.11.weight').shape).toEqual([1, 32, 4, 4]);
    expect(g.get('D_A_realB').shape).toEqual([1, 1, 2, 2]);
    for (const k of ['realA', 'realB', 'fakeA', 'fakeB', 'recA', 'recB', 'idtA', 'idtB']) {
      expect(g.get(k).shape, k).toEqual([1, 3, 32, 32]);
    }
    const losses = JSON.parse(g.metadata.losses) as Record<string, number>;
    const sum = losses.G_A + losses.G_B + losses.cycle_A + losses.cycle_B + losses.idt_A + losses.idt_B;
    expect(sum).toBeCloseTo(losses.G, 10);
  });
});

describe('expectClose', () => {
  const expected = new Float32Array([1, -2, 0, 4]);

  it('measures error against the largest expected magnitude', () => {
    expect(expectClose(expected, expected, { rtol: 0 }, 'same')).toBe(0);
    // 1e-3 off on an element that is 0 is 2.5e-4 of the tensor's scale 4.
    expect(expectClose([1, -2, 1e-3, 4], expected, { rtol: 3e-4 }, 'near zero')).toBeCloseTo(2.5e-4, 8);
  });

  it('fails naming the label, the error and the worst index', () => {
    expect(() => expectClose([1, -2, 0.5, 4], expected, { rtol: 1e-3 }, 'conv.gw', [2, 2])).toThrow(
      /conv\.gw: max relative error 1\.250e-1 > rtol 0\.001 .*worst at 2 \[1, 0\]: actual 0\.5, expected 0/,
    );
    expect(() => expectClose([1, NaN, 0, 4], expected, { rtol: 1 }, 'nan')).toThrow(/nan: .*worst at 1: actual NaN/);
    expect(() => expectClose([1, 2], expected, { rtol: 1 }, 'short')).toThrow(/short: length/);
  });

  it('uses atol as a floor on the scale for all-zero expectations', () => {
    const zeros = new Float32Array(3);
    expect(() => expectClose([0, 1e-9, 0], zeros, { rtol: 1e-3 }, 'zeros')).toThrow(/zeros/);
    expect(expectClose([0, 1e-9, 0], zeros, { rtol: 2e-3, atol: 1e-6 }, 'zeros')).toBeCloseTo(1e-3, 8);
  });
});
