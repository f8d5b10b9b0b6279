// adam_: the fused Adam step in place over a list of parameters (nn's Adam runs it per group).
import { afterEach, describe, expect, it } from 'vitest';
import { adamSlots } from '@stripes/kernels';
import { adam_, keep, memory, rt, tensor, zeros, type AdamStepScalars, type Tensor } from '@stripes/tensor';

const NEAR = { rtol: 1e-6, atol: 1e-6 };
const ADAM: AdamStepScalars = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, stepSize: 0.01 / (1 - 0.9), biasCorrection2Sqrt: Math.sqrt(1 - 0.999) };
/** The second step's scalars (t = 2), so the moments carried over from the first matter. */
const ADAM_T2: AdamStepScalars = { ...ADAM, stepSize: 0.01 / (1 - 0.9 ** 2), biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** 2) };

afterEach(() => {
  rt().maxBindingBytes = rt().limits.maxStorageBufferBindingSize;
});

/** One parameter's operands, filled from `seed` (the same seed gives the same values). */
function operands(size: number, seed: number): { param: Tensor; grads: [Tensor, Tensor]; expAvg: Tensor; expAvgSq: Tensor } {
  const values = (k: number) => Array.from({ length: size }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233 + k) * 3);
  const t = (k: number) => keep(tensor(values(k), [size]));
  return { param: t(0), grads: [t(1), t(2)], expAvg: keep(zeros([size])), expAvgSq: keep(zeros([size])) };
}

type Operands = ReturnType<typeof operands>;

/** Two Adam steps, either over the whole list in one call each or one call per parameter. */
function twoSteps(sets: Operands[], perParameter: boolean): void {
  for (const [t, scalars] of [ADAM, ADAM_T2].entries()) {
    const lists = (of: Operands[]) => [of.map((o) => o.param), of.map((o) => o.grads[t]), of.map((o) => o.expAvg), of.map((o) => o.expAvgSq)] as const;
    if (perParameter) for (const o of sets) adam_(...lists([o]), scalars);
    else adam_(...lists(sets), scalars);
  }
}

/** Every updated tensor's bits, in order. */
async function bits(sets: Operands[]): Promise<Uint32Array[]> {
  const out: Uint32Array[] = [];
  for (const o of sets) for (const t of [o.param, o.expAvg, o.expAvgSq]) out.push(new Uint32Array((await t.data()).buffer));
  return out;
}

function dispose(sets: Operands[]): void {
  for (const o of sets) for (const t of [o.param, ...o.grads, o.expAvg, o.expAvgSq]) t.dispose();
}

describe('adam_', () => {
  it("updates param, expAvg and expAvgSq in place by torch.optim.Adam's first step", async () => {
    const [w, g] = [[1, -2, 0.5], [0.5, 0.25, -3]];
    const param = tensor(w);
    const expAvg = zeros([3]);
    const expAvgSq = zeros([3]);
    adam_([param], [tensor(g)], [expAvg], [expAvgSq], ADAM);
    const d = g.map((gi, i) => gi + ADAM.weightDecay * w[i]);
    const m = d.map((di) => (1 - ADAM.beta1) * di);
    const v = d.map((di) => (1 - ADAM.beta2) * di * di);
    expect(await expAvg.data()).toBeAllClose(m, NEAR);
    expect(await expAvgSq.data()).toBeAllClose(v, NEAR);
    expect(await param.data()).toBeAllClose(w.map((wi, i) => wi - ADAM.stepSize * (m[i] / (Math.sqrt(v[i]) / ADAM.biasCorrection2Sqrt + ADAM.eps))), NEAR);
  });

  it('over many parameters of mixed sizes, several per dispatch, is bitwise the per-parameter update', async () => {
    // More than two dispatches' worth, the last one partly filled; sizes of 1, under and over a workgroup, not multiples of 4.
    const sizes = [1, 3, 257, 6, 1, 4099, 255, 256, 7, 1025, 2, 515, 9, 1];
    const count = 2 * adamSlots(rt()) + 1;
    const sized = Array.from({ length: count }, (_, i) => sizes[i % sizes.length]);
    const fused = sized.map((size, i) => operands(size, i));
    const single = sized.map((size, i) => operands(size, i));
    const live = memory().liveBuffers;
    twoSteps(fused, false);
    twoSteps(single, true);
    expect(memory().liveBuffers, 'the unused slots\' stand-ins are released').toBe(live);
    expect(await bits(fused)).toEqual(await bits(single));
    dispose([...fused, ...single]);
  });

  it('is bitwise the same when tensors larger than one binding take a slot per range', async () => {
    const sized = [3000, 5, 2049, 1];
    const whole = sized.map((size, i) => operands(size, i));
    twoSteps(whole, false);
    rt().maxBindingBytes = 4096; // 1024 elements: the large tensors split into 3 ranges each
    const ranged = sized.map((size, i) => operands(size, i));
    twoSteps(ranged, false);
    expect(await bits(ranged)).toEqual(await bits(whole));
    dispose([...whole, ...ranged]);
  });

  it('refuses operands shaped unlike their param, or disposed, naming adam_ and the shapes, and changes nothing', async () => {
    const ok = tensor([5, 6]);
    const param = tensor([[1, 2], [3, 4]]);
    const refused = (grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, p = param) => () => adam_([ok, p], [zeros([2]), grad], [zeros([2]), expAvg], [zeros([2]), expAvgSq], ADAM);
    expect(refused(zeros([3]), zeros([2, 2]), zeros([2, 2]))).toThrow(/^adam_: grad of shape \[3\] does not match param of shape \[2, 2\]$/);
    expect(refused(zeros([2, 2]), zeros([4]), zeros([2, 2]))).toThrow(/^adam_: expAvg of shape \[4\] does not match param of shape \[2, 2\]$/);
    expect(refused(zeros([2, 2]), zeros([2, 2]), zeros([2, 1]))).toThrow(/^adam_: expAvgSq of shape \[2, 1\] does not match param of shape \[2, 2\]$/);
    const gone = zeros([2, 2]);
    gone.dispose();
    expect(refused(zeros([2, 2]), gone, zeros([2, 2]))).toThrow(/^adam_: tensor #\d+ of shape \[2, 2\] was disposed and cannot be used$/);
    expect(refused(zeros([2, 2]), zeros([2, 2]), zeros([2, 2]), gone)).toThrow(/^adam_: tensor #\d+ of shape \[2, 2\] was disposed/);
    expect([...(await ok.data())]).toEqual([5, 6]);
    expect([...(await param.data())]).toEqual([1, 2, 3, 4]);
  });

  it('refuses lists of different lengths, and a tensor updated in place that shares a buffer with another operand', async () => {
    const [a, b] = [tensor([1, 2]), tensor([3, 4])];
    const z = () => zeros([2]);
    expect(() => adam_([a, b], [z()], [z(), z()], [z(), z()], ADAM)).toThrow(/^adam_: 2 params, 1 grads, 2 expAvgs and 2 expAvgSqs; the lists need one entry per parameter$/);
    expect(() => adam_([a, a], [z(), z()], [z(), z()], [z(), z()], ADAM)).toThrow(/^adam_: param 1 shares its buffer with param 0; each tensor updated in place needs its own$/);
    expect(() => adam_([a, b], [z(), z()], [z(), a.reshape([1, 2]).reshape([2])], [z(), z()], ADAM)).toThrow(/^adam_: expAvg 1 shares its buffer with param 0;/);
    expect(() => adam_([a, b], [z(), a], [z(), z()], [z(), z()], ADAM)).toThrow(/^adam_: grad 1 shares its buffer with param 0, which is updated in place$/);
    expect([...(await a.data()), ...(await b.data())]).toEqual([1, 2, 3, 4]);
    // Gradients may share one buffer: they are only read.
    const g = tensor([1, 1]);
    adam_([a, b], [g, g], [z(), z()], [z(), z()], ADAM);
    expect(await a.data()).not.toEqual(Float32Array.of(1, 2));
  });
});
