// adam_: the fused Adam step in place (nn's Adam runs it per parameter).
import { describe, expect, it } from 'vitest';
import { adam_, tensor, zeros, type AdamStepScalars } from '@stripes/tensor';

const NEAR = { rtol: 1e-6, atol: 1e-6 };
const ADAM: AdamStepScalars = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, stepSize: 0.01 / (1 - 0.9), biasCorrection2Sqrt: Math.sqrt(1 - 0.999) };

describe('adam_', () => {
  it("updates param, expAvg and expAvgSq in place by torch.optim.Adam's first step", async () => {
    const [w, g] = [[1, -2, 0.5], [0.5, 0.25, -3]];
    const param = tensor(w);
    const expAvg = zeros([3]);
    const expAvgSq = zeros([3]);
    adam_(param, tensor(g), expAvg, expAvgSq, ADAM);
    const d = g.map((gi, i) => gi + ADAM.weightDecay * w[i]);
    const m = d.map((di) => (1 - ADAM.beta1) * di);
    const v = d.map((di) => (1 - ADAM.beta2) * di * di);
    expect(await expAvg.data()).toBeAllClose(m, NEAR);
    expect(await expAvgSq.data()).toBeAllClose(v, NEAR);
    expect(await param.data()).toBeAllClose(w.map((wi, i) => wi - ADAM.stepSize * (m[i] / (Math.sqrt(v[i]) / ADAM.biasCorrection2Sqrt + ADAM.eps))), NEAR);
  });

  it('refuses operands shaped unlike param, or disposed, naming adam_ and the shapes, and changes nothing', async () => {
    const param = tensor([[1, 2], [3, 4]]);
    expect(() => adam_(param, zeros([3]), zeros([2, 2]), zeros([2, 2]), ADAM)).toThrow(/^adam_: grad of shape \[3\] does not match param of shape \[2, 2\]$/);
    expect(() => adam_(param, zeros([2, 2]), zeros([4]), zeros([2, 2]), ADAM)).toThrow(/^adam_: expAvg of shape \[4\] does not match param of shape \[2, 2\]$/);
    expect(() => adam_(param, zeros([2, 2]), zeros([2, 2]), zeros([2, 1]), ADAM)).toThrow(/^adam_: expAvgSq of shape \[2, 1\] does not match param of shape \[2, 2\]$/);
    const gone = zeros([2, 2]);
    gone.dispose();
    expect(() => adam_(param, zeros([2, 2]), gone, zeros([2, 2]), ADAM)).toThrow(/^adam_: tensor #\d+ of shape \[2, 2\] was disposed and cannot be used$/);
    expect(() => adam_(gone, zeros([2, 2]), zeros([2, 2]), zeros([2, 2]), ADAM)).toThrow(/^adam_: tensor #\d+ of shape \[2, 2\] was disposed/);
    expect([...(await param.data())]).toEqual([1, 2, 3, 4]);
  });
});
