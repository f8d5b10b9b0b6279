// In-place ops: copy_ (from a tensor or host values) and the fused optimizer steps adam_ / sgd_.
import { describe, expect, it } from 'vitest';
import { adam_, copy_, sgd_, tensor, zeros, type AdamStepScalars, type SgdStepScalars } from '@stripes/tensor';

const bits = (values: Float32Array): number[] => [...new Uint32Array(values.buffer, values.byteOffset, values.length)];

describe('copy_', () => {
  it('copies a tensor of the same shape and returns the target', async () => {
    const target = zeros([2, 3]);
    const source = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(target.copy_(source)).toBe(target);
    expect([...(await target.data())]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(copy_(target, tensor([[6, 5, 4], [3, 2, 1]]))).toBe(target);
    expect([...(await target.data())]).toEqual([6, 5, 4, 3, 2, 1]);
    expect([...(await source.data())]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('from host values keeps their exact bits', async () => {
    const values = new Float32Array([-0, NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38]);
    const target = zeros([2, 3]).copy_(values);
    expect(bits(await target.data())).toEqual(bits(values));
  });

  it('from a view onto the target itself leaves the values as they are', async () => {
    const target = tensor([1, 2, 3, 4]);
    target.copy_(target);
    target.copy_(target.reshape([4]));
    expect([...(await target.data())]).toEqual([1, 2, 3, 4]);
  });

  it('copies nothing into an empty tensor', async () => {
    const target = zeros([0, 3]);
    target.copy_(new Float32Array(0)).copy_(zeros([0, 3]));
    expect((await target.data()).length).toBe(0);
  });

  it('is not recorded by autograd: a leaf stays a leaf with no gradient', () => {
    const param = zeros([3]).requireGrad();
    param.copy_(tensor([1, 2, 3]).requireGrad());
    expect(param.gradFn).toBeNull();
    expect(param.requiresGrad).toBe(true);
    expect(param.grad).toBeNull();
  });

  describe('in order with queued work', () => {
    it('ops encoded before an upload read the old values, ops after it the new ones', async () => {
      const x = tensor([1, 2, 3]);
      const before = x.mul(2);
      x.copy_(new Float32Array([10, 20, 30]));
      const after = x.add(1);
      expect([...(await before.data())]).toEqual([2, 4, 6]);
      expect([...(await after.data())]).toEqual([11, 21, 31]);
    });

    it('an upload lands after queued writes into the target', async () => {
      const x = zeros([3]);
      x.copy_(tensor([7, 8, 9]));
      x.copy_(new Float32Array([1, 2, 3]));
      expect([...(await x.data())]).toEqual([1, 2, 3]);

      const param = tensor([1, 2, 3]);
      sgd_(param, tensor([1, 1, 1]), null, { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, fresh: true });
      param.copy_(new Float32Array([4, 5, 6]));
      expect([...(await param.data())]).toEqual([4, 5, 6]);
    });

    it('a device copy reads its source as queued work left it, and ops before it read the old target', async () => {
      const source = tensor([1, 2, 3]);
      const target = zeros([3]);
      const before = target.add(1);
      target.copy_(source.mul(3));
      expect([...(await before.data())]).toEqual([1, 1, 1]);
      expect([...(await target.data())]).toEqual([3, 6, 9]);
    });
  });

  describe('errors name copy_ and the shapes', () => {
    it('a source of another shape (no broadcasting)', () => {
      expect(() => zeros([3]).copy_(zeros([1]))).toThrow(/^copy_: source of shape \[1\] does not match the target's shape \[3\]$/);
      expect(() => zeros([2, 3]).copy_(zeros([3, 2]))).toThrow(/^copy_: source of shape \[3, 2\] does not match the target's shape \[2, 3\]$/);
    });

    it('host data of the wrong length', () => {
      expect(() => zeros([2, 2]).copy_(new Float32Array(3))).toThrow(/^copy_: host data holds 3 values for a target of shape \[2, 2\] \(4 elements\)$/);
    });

    it('a disposed target or source', () => {
      const gone = zeros([3]);
      gone.dispose();
      expect(() => gone.copy_(zeros([3]))).toThrow(/^copy_: tensor #\d+ of shape \[3\] was disposed and cannot be used$/);
      expect(() => gone.copy_(new Float32Array(3))).toThrow(/^copy_: tensor #\d+ of shape \[3\] was disposed/);
      expect(() => zeros([3]).copy_(gone)).toThrow(/^copy_: tensor #\d+ of shape \[3\] was disposed/);
    });
  });
});

const ADAM: AdamStepScalars = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, stepSize: 0.01 / (1 - 0.9), biasCorrection2Sqrt: Math.sqrt(1 - 0.999) };
const SGD: SgdStepScalars = { lr: 0.1, momentum: 0.9, dampening: 0.25, weightDecay: 0.5, nesterov: false, fresh: true };

function expectNear(actual: Float32Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected[i]))));
}

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
    expectNear(await expAvg.data(), m);
    expectNear(await expAvgSq.data(), v);
    expectNear(await param.data(), w.map((wi, i) => wi - ADAM.stepSize * (m[i] / (Math.sqrt(v[i]) / ADAM.biasCorrection2Sqrt + ADAM.eps))));
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

describe('sgd_', () => {
  it('with a momentum buffer: a fresh step starts the velocity at the gradient, later ones damp it in', async () => {
    const [w, g] = [[1, -2], [0.5, 0.25]];
    const param = tensor(w);
    const velocity = zeros([2]);
    sgd_(param, tensor(g), velocity, SGD);
    const d1 = g.map((gi, i) => gi + SGD.weightDecay * w[i]);
    const w1 = w.map((wi, i) => wi - SGD.lr * d1[i]);
    expectNear(await velocity.data(), d1);
    expectNear(await param.data(), w1);

    sgd_(param, tensor(g), velocity, { ...SGD, fresh: false });
    const d2 = g.map((gi, i) => gi + SGD.weightDecay * w1[i]);
    const b2 = d2.map((di, i) => SGD.momentum * d1[i] + (1 - SGD.dampening) * di);
    expectNear(await velocity.data(), b2);
    expectNear(await param.data(), w1.map((wi, i) => wi - SGD.lr * b2[i]));
  });

  it('without a buffer: plain SGD', async () => {
    const param = tensor([1, -2]);
    sgd_(param, tensor([0.5, 0.25]), null, { ...SGD, momentum: 0 });
    expectNear(await param.data(), [1 - 0.1 * (0.5 + 0.5), -2 - 0.1 * (0.25 - 1)]);
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
