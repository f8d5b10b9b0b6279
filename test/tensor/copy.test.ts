// copy_: in place from a tensor or host values, in order with queued GPU work.
import { describe, expect, it } from 'vitest';
import { copy_, sgd_, tensor, zeros } from '@stripes/tensor';

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
