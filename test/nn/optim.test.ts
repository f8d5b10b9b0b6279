import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { adamSlots, packOperandsPerDispatch } from '@stripes/kernels';
import { conv2d, keep, memory, randn, Rng, rt, tensor, tidy, type Tensor } from '@stripes/tensor';
import { Adam, SGD, type Optimizer, type OptimizerStateJson } from '@stripes/nn';
import { loadCheckpoint, saveCheckpoint } from '@stripes/nn/node';
import { expectClose } from '../helpers/golden.ts';
import { loadGolden, optimFor, optimParams, optimStep, type FixtureCase } from '../golden/cases.ts';

const golden = loadGolden('optim');
const scratch = mkdtempSync(join(tmpdir(), 'stripes-optim-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const TOL = { rtol: 1e-5 };

/** Steps `opt` with the fixture's step-`t` gradients; fails on any parameter off the fixture's. */
async function stepAndCheck(c: FixtureCase, opt: Optimizer<{ lr: number }>, params: Tensor[], t: number): Promise<void> {
  expect(await optimStep(golden, c, opt, params, t)).toEqual([]);
}

function dispose(opt: Optimizer<{ lr: number }>, params: Tensor[]): void {
  opt.dispose();
  for (const p of params) p.dispose();
}

// Each case's five steps against torch.optim run with the other golden cases (test/golden).
describe('optimizers vs PyTorch', () => {
  for (const c of [golden.cases('adam')[0], golden.cases('sgd')[0]]) {
    it(`${c.name}: a state dict saved after 3 steps, loaded into a new optimizer, continues identically`, async () => {
      const params = optimParams(golden, c);
      const opt = optimFor(c, params);
      for (let t = 1; t <= 3; t++) await stepAndCheck(c, opt, params, t);
      const path = join(scratch, `${c.name}.safetensors`);
      const state = opt.stateDict();
      const named = Object.fromEntries(params.map((p, i) => [`param.${i}`, p]));
      await saveCheckpoint(path, { tensors: { ...named, ...state.tensors }, json: state.json });

      const loaded = loadCheckpoint(path);
      const resumedParams = params.map((_, i) => keep(tensor(loaded.tensors[`param.${i}`].data, loaded.tensors[`param.${i}`].shape)).requireGrad());
      const resumed = optimFor(c, resumedParams);
      const stateTensors = Object.fromEntries(Object.entries(loaded.tensors).filter(([k]) => k.startsWith('state.')));
      resumed.loadStateDict({ tensors: stateTensors, json: loaded.json as OptimizerStateJson });
      expect(resumed.stateDict().json).toEqual(state.json);

      for (let t = 4; t <= 5; t++) {
        await stepAndCheck(c, opt, params, t);
        await stepAndCheck(c, resumed, resumedParams, t);
        for (const [i, p] of params.entries()) expect(await resumedParams[i].data(), `param ${i} step ${t}`).toEqual(await p.data());
      }
      dispose(opt, params);
      dispose(resumed, resumedParams);
    });
  }
});

/** Counts the runtime's dispatches of the `adam` kernel until `restore()`. */
function countAdamDispatches(): { count: number; restore: () => void } {
  const runtime = rt();
  const dispatch = runtime.dispatch;
  const counter = {
    count: 0,
    restore: () => {
      runtime.dispatch = dispatch;
    },
  };
  runtime.dispatch = ((...args: Parameters<typeof dispatch>) => {
    if (args[0].name === 'adam') counter.count++;
    dispatch.apply(runtime, args);
  }) as typeof dispatch;
  return counter;
}

/** torch.optim.SGD's update in f64, for the branches the fixture does not cover. */
function sgdReference(w: number[], grads: number[][], o: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }): number[] {
  let buf: number[] = [];
  w = [...w];
  for (const [t, g] of grads.entries()) {
    const d = g.map((gi, i) => gi + o.weightDecay * w[i]);
    let step = d;
    if (o.momentum !== 0) {
      buf = t === 0 ? [...d] : buf.map((b, i) => o.momentum * b + (1 - o.dampening) * d[i]);
      step = o.nesterov ? d.map((di, i) => di + o.momentum * buf[i]) : buf;
    }
    w = w.map((wi, i) => wi - o.lr * step[i]);
  }
  return w;
}

describe('optimizers', () => {
  const w0 = [0.5, -1.25, 2, 0.1, -0.3, 0.75];
  const grads = [0, 1, 2, 3].map((t) => w0.map((_, i) => Math.sin(1 + i * 0.7 + t * 1.3)));

  for (const o of [
    { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: true },
    { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0, nesterov: false },
  ]) {
    it(`SGD ${JSON.stringify(o)} matches the reference update`, async () => {
      const p = keep(tensor(w0, [2, 3])).requireGrad();
      const opt = new SGD([p], o);
      for (const g of grads) {
        opt.zeroGrad();
        p.grad = keep(tensor(g, [2, 3]));
        opt.step();
      }
      expectClose(await p.data(), Float32Array.from(sgdReference(w0, grads, o)), TOL, 'sgd');
      expect(Object.keys(opt.stateDict().tensors)).toEqual(o.momentum ? ['state.0.momentum_buffer'] : []);
      dispose(opt, [p]);
    });
  }

  it('param groups: per-group hyperparameters, mutable lr, parameters without gradients skipped', async () => {
    const a = keep(tensor([1, 2], [2])).requireGrad();
    const b = keep(tensor([3, 4], [2])).requireGrad();
    const c = keep(tensor([5], [1])).requireGrad();
    const opt = new SGD([{ params: [a] }, { params: [b, c], lr: 0.5 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5]);
    a.grad = keep(tensor([1, 1], [2]));
    b.grad = keep(tensor([1, 1], [2]));
    opt.step();
    opt.paramGroups[0].lr = 1;
    opt.step();
    expectClose(await a.data(), Float32Array.of(1 - 1.1, 2 - 1.1), TOL, 'a');
    expectClose(await b.data(), Float32Array.of(3 - 1, 4 - 1), TOL, 'b');
    expect(await c.data()).toEqual(Float32Array.of(5));
    expect(opt.stateDict().json.paramGroups.map((g) => [g.lr, g.params])).toEqual([[1, [0]], [0.5, [1, 2]]]);
    expect(Object.keys(opt.stateDict().json.state)).toEqual(['0', '1']);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    dispose(opt, [a, b, c]);
  });

  it('rejects bad hyperparameters and parameter lists', () => {
    const p = keep(tensor([1], [1])).requireGrad();
    expect(() => new Adam([p], { betas: [0.5, 1] })).toThrow(/Adam: invalid betas/);
    expect(() => new Adam([p], { lr: -1 })).toThrow(/Adam: invalid lr -1/);
    expect(() => new Adam([])).toThrow(/empty parameter list/);
    expect(() => new Adam([{ params: [p] }, { params: [p] }])).toThrow(/more than once/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
    expect(new Adam([p], { lr: undefined }).paramGroups[0].lr).toBe(1e-3);
    p.dispose();
  });

  it('loadStateDict reports every problem at once and changes nothing', async () => {
    const p = keep(tensor([1, 2, 3], [3])).requireGrad();
    const q = keep(tensor([1, 2], [2])).requireGrad();
    const opt = new Adam([p, q], { lr: 0.01 });
    p.grad = keep(tensor([1, 1, 1], [3]));
    opt.step();
    const good = opt.stateDict();
    const bad = {
      tensors: {
        'state.0.exp_avg': { shape: [4], data: new Float32Array(4) },
        'state.7.exp_avg': { shape: [3], data: new Float32Array(3) },
      },
      json: { state: { 0: { step: 1 } }, paramGroups: [{ ...good.json.paramGroups[0], betas: [0.5, 2] }] },
    };
    let message = '';
    try {
      opt.loadStateDict(bad as never);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('Adam.loadStateDict: 4 problem(s)');
    expect(message).toContain("'state.0.exp_avg' has shape [4], its parameter [3]");
    expect(message).toContain("unexpected tensor 'state.7.exp_avg'");
    expect(message).toContain("parameter 0: missing buffer 'exp_avg_sq'");
    expect(message).toContain('group 0: Adam: invalid betas');
    expect(opt.stateDict().json).toEqual(good.json);
    const expAvg = await good.tensors['state.0.exp_avg'].data();
    opt.loadStateDict(opt.stateDict());
    expect(await opt.stateDict().tensors['state.0.exp_avg'].data()).toEqual(expAvg);
    dispose(opt, [p, q]);
  });

  it('Adam steps a group in ceil(parameters / slots) dispatches, and parameters at different step counts each by their own', async () => {
    const sizes = [4, 1, 7, 300, 2, 5, 3, 9];
    const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.cos(k * 3.7 + i * 1.3));
    const make = () => sizes.map((n, k) => keep(tensor(values(n, k), [n])).requireGrad());
    const [grouped, alone] = [make(), make()];
    const opt = new Adam(grouped, { lr: 0.01, weightDecay: 0.1 });
    const opts = alone.map((p) => new Adam([p], { lr: 0.01, weightDecay: 0.1 }));
    const adamDispatches = countAdamDispatches();
    for (let t = 1; t <= 3; t++) {
      // Parameter 1 has no gradient on the first step, so from then on it is one step behind the others.
      for (const [k, p] of [...grouped.entries(), ...alone.entries()]) p.grad = t === 1 && k === 1 ? null : keep(tensor(values(sizes[k], k + t), [sizes[k]]));
      adamDispatches.count = 0;
      opt.step();
      const slots = adamSlots(rt());
      expect(adamDispatches.count, `step ${t}`).toBe(t === 1 ? Math.ceil((sizes.length - 1) / slots) : Math.ceil((sizes.length - 1) / slots) + 1);
      for (const [k, o] of opts.entries()) if (alone[k].grad) o.step();
    }
    adamDispatches.restore();
    for (const [k, p] of grouped.entries()) expect(await p.data(), `param ${k}`).toEqual(await alone[k].data());
    expect(opt.stateDict().json.state).toEqual(Object.fromEntries(sizes.map((_, k) => [k, { step: k === 1 ? 2 : 3 }])));
    dispose(opt, grouped);
    for (const [k, o] of opts.entries()) dispose(o, [alone[k]]);
  });

  it('a step repacks the conv weights it updated, several per dispatch: the next forward packs nothing and gives what packing on first use gives', async () => {
    const rng = new Rng(3);
    const channels = [3, 5, 8, 2];
    const ws = channels.map((c) => keep(randn([4, c, 3, 3], { rng })).requireGrad());
    const xs = channels.map((c) => keep(randn([1, c, 6, 6], { rng })));
    const forward = (weights: Tensor[]) => weights.map((w, k) => keep(conv2d(xs[k], w, null, { padding: 1 })));
    // A forward (which packs and caches each weight) and a backward give every weight a gradient.
    tidy(() => forward(ws).forEach((y) => y.sum().backward()));
    const opt = new SGD(ws, { lr: 0.1 });
    const dispatch = vi.spyOn(rt(), 'dispatch');
    const names = () => dispatch.mock.calls.map(([kernel]) => kernel.name);
    opt.step();
    expect(names().filter((n) => n === 'packChannelsLast')).toHaveLength(Math.ceil(ws.length / packOperandsPerDispatch(rt())));
    dispatch.mockClear();
    const ys = forward(ws);
    expect(names()).toEqual(ws.map(() => 'conv2dForward'));
    dispatch.mockRestore();
    // The same weights in new tensors, packed on their first use.
    const copies = await Promise.all(ws.map(async (w) => keep(tensor(Array.from(await w.data()), w.shape))));
    const want = forward(copies);
    for (const [k, y] of ys.entries()) expect(await y.data(), `conv ${k}`).toEqual(await want[k].data());
    for (const t of [...ys, ...want, ...copies, ...xs]) t.dispose();
    dispose(opt, ws);
  });

  it('steps without leaking: state is allocated once', () => {
    const p = keep(tensor([1, 2, 3, 4], [4])).requireGrad();
    const opt = new Adam([p]);
    p.grad = keep(tensor([1, -1, 1, -1], [4]));
    opt.step();
    const live = memory().liveBuffers;
    for (let i = 0; i < 5; i++) opt.step();
    expect(memory().liveBuffers).toBe(live);
    dispose(opt, [p]);
  });
});
