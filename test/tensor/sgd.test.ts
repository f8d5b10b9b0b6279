// sgd_: the fused SGD step in place, with and without a momentum buffer (nn's SGD runs it per parameter).
import { describe, expect, it } from 'vitest';
import { sgd_, tensor, zeros, type SgdStepScalars } from '@stripes/tensor';

const NEAR = { rtol: 1e-6, atol: 1e-6 };
const SGD: SgdStepScalars = { lr: 0.1, momentum: 0.9, dampening: 0.25, weightDecay: 0.5, nesterov: false, fresh: true };

describe('sgd_', () => {
  it('with a momentum buffer: a fresh step starts the velocity at the gradient, later ones damp it in', async () => {
    const [w, g] = [[1, -2], [0.5, 0.25]];
    const param = tensor(w);
    const velocity = zeros([2]);
    sgd_(param, tensor(g), velocity, SGD);
    const d1 = g.map((gi, i) => gi + SGD.weightDecay * w[i]);
    const w1 = w.map((wi, i) => wi - SGD.lr * d1[i]);
    expect(await velocity.data()).toBeAllClose(d1, NEAR);
    expect(await param.data()).toBeAllClose(w1, NEAR);

    sgd_(param, tensor(g), velocity, { ...SGD, fresh: false });
    const d2 = g.map((gi, i) => gi + SGD.weightDecay * w1[i]);
    const b2 = d2.map((di, i) => SGD.momentum * d1[i] + (1 - SGD.dampening) * di);
    expect(await velocity.data()).toBeAllClose(b2, NEAR);
    expect(await param.data()).toBeAllClose(w1.map((wi, i) => wi - SGD.lr * b2[i]), NEAR);
  });

  it('without a buffer: plain SGD', async () => {
    const param = tensor([1, -2]);
    sgd_(param, tensor([0.5, 0.25]), null, { ...SGD, momentum: 0 });
    expect(await param.data()).toBeAllClose([1 - 0.1 * (0.5 + 0.5), -2 - 0.1 * (0.25 - 1)], NEAR);
  });

  it('refuses mismatched or disposed operands and momentum without a buffer, naming sgd_, and changes nothing', async () => {
    const param = tensor([1, 2, 3]);
    expect(() => sgd_(param, zeros([1, 3]), null, { ...SGD, momentum: 0 })).toThrow(/^sgd_: grad of shape \[1, 3\] does not match param of shape \[3\]$/);
    expect(() => sgd_(param, zeros([3]), zeros([2]), SGD)).toThrow(/^sgd_: momentumBuffer of shape \[2\] does not match param of shape \[3\]$/);
    expect(() => sgd_(param, zeros([3]), null, SGD)).toThrow(
      /^sgd_: a step without a momentumBuffer must be plain SGD \(momentum 0, fresh\), got momentum 0.9, fresh true$/,
    );
    expect(() => sgd_(param, zeros([3]), null, { ...SGD, momentum: 0, fresh: false })).toThrow(/^sgd_: a step without a momentumBuffer .* got momentum 0, fresh false$/);
    const gone = zeros([3]);
    gone.dispose();
    expect(() => sgd_(param, gone, null, { ...SGD, momentum: 0 })).toThrow(/^sgd_: tensor #\d+ of shape \[3\] was disposed and cannot be used$/);
    expect([...(await param.data())]).toEqual([1, 2, 3]);
  });
});
