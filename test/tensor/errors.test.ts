// Bad input: every error names the op and the problem (and the shapes involved).
import { describe, expect, it } from 'vitest';
import {
  add,
  broadcastTo,
  concat,
  flatten,
  full,
  matmul,
  max,
  mean,
  permute,
  reshape,
  slice,
  stack,
  sum,
  tensor,
  tidy,
  transpose,
  zeros,
} from '@stripes/tensor';

describe('mismatched shapes', () => {
  it('binary ops name the op, both shapes and the dimension', () => {
    expect(() => add(zeros([2, 3]), zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast together \(dimension 1: 3 vs 4\)/);
    expect(() => zeros([2, 3]).mul(zeros([3, 2]))).toThrow(/mul: shapes \[2, 3\] and \[3, 2\] cannot be broadcast/);
    expect(() => zeros([5]).sub(zeros([4]))).toThrow(/sub: shapes \[5\] and \[4\]/);
    expect(() => zeros([5]).div(zeros([2, 4]))).toThrow(/div: shapes/);
    expect(() => zeros([5]).pow(zeros([4]))).toThrow(/pow: shapes/);
    expect(() => zeros([5]).maximum(zeros([4]))).toThrow(/maximum: shapes/);
    expect(() => zeros([5]).minimum(zeros([4]))).toThrow(/minimum: shapes/);
  });

  it('matmul: inner dimensions, batch dimensions, rank', () => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/);
    expect(() => matmul(zeros([2, 3, 4]), zeros([3, 4, 5]))).toThrow(/matmul: batch dimensions of \[2, 3, 4\] and \[3, 4, 5\] must match/);
    expect(() => matmul(zeros([3]), zeros([3, 2]))).toThrow(/matmul: both operands need rank >= 2, got \[3\] and \[3, 2\]/);
  });

  it('concat / stack: shapes outside the axis, empty lists', () => {
    expect(() => concat([zeros([2, 3]), zeros([2, 4])], 0)).toThrow(/concat: shapes \[2, 3\], \[2, 4\] differ outside axis 0/);
    expect(() => concat([zeros([2, 3]), zeros([2, 3, 1])], 0)).toThrow(/concat: shapes .* differ/);
    expect(() => concat([])).toThrow(/concat: needs at least one tensor/);
    expect(() => stack([zeros([2]), zeros([3])])).toThrow(/concat: shapes/);
    expect(() => stack([])).toThrow(/stack: needs at least one tensor/);
  });

  it('broadcastTo a shape that does not fit', () => {
    expect(() => broadcastTo(zeros([3]), [4, 2])).toThrow(/broadcastTo: shapes \[3\] and \[4, 2\] cannot be broadcast/);
    expect(() => broadcastTo(zeros([2, 3]), [3])).toThrow(/broadcastTo: shape \[2, 3\] cannot be broadcast to \[3\]/);
    expect(() => broadcastTo(zeros([3, 1]), [1, 4])).toThrow(/broadcastTo: shape \[3, 1\] cannot be broadcast to \[1, 4\]/);
  });
});

describe('use after dispose', () => {
  it('every kind of use names the op and says the tensor was disposed', async () => {
    const x = tensor([1, 2, 3]);
    const y = tensor([1, 2, 3]);
    x.dispose();
    const disposed = (op: string): RegExp => new RegExp(`${op}: tensor #\\d+ of shape \\[3\\] was disposed and cannot be used`);
    expect(() => add(x, y)).toThrow(disposed('add'));
    expect(() => y.mul(x)).toThrow(disposed('mul'));
    expect(() => x.exp()).toThrow(disposed('exp'));
    expect(() => x.neg()).toThrow(disposed('neg'));
    expect(() => x.add(1)).toThrow(disposed('add'));
    expect(() => x.sub(1)).toThrow(disposed('sub'));
    expect(() => x.mul(2)).toThrow(disposed('mul'));
    expect(() => x.div(2)).toThrow(disposed('div'));
    expect(() => x.sum()).toThrow(disposed('sum'));
    expect(() => x.reshape([3, 1])).toThrow(disposed('reshape'));
    expect(() => x.permute([0])).toThrow(disposed('permute'));
    expect(() => x.slice(0, 1)).toThrow(disposed('slice'));
    expect(() => concat([y, x])).toThrow(disposed('concat'));
    expect(() => x.clone()).toThrow(disposed('clone'));
    expect(() => x.detach()).toThrow(disposed('detach'));
    expect(() => broadcastTo(x, [2, 3])).toThrow(disposed('broadcastTo'));
    const m = zeros([3, 1]);
    m.dispose();
    expect(() => matmul(m, zeros([1, 2]))).toThrow(/matmul: tensor #\d+ of shape \[3, 1\] was disposed/);
    expect(() => matmul(zeros([2, 3]), m)).toThrow(/matmul: tensor #\d+ of shape \[3, 1\] was disposed/);
    await expect(x.data()).rejects.toThrow(disposed('data'));
    expect(() => x.buffer).toThrow(/access: tensor #\d+ .*was disposed/);
  });

  it('backward on a disposed tensor', () => {
    const x = tensor([1, 2]).requireGrad();
    const l = x.sum();
    l.dispose();
    expect(() => l.backward()).toThrow(/backward: tensor #\d+ of shape \[\] was disposed/);
  });
});

describe('backward misuse', () => {
  it('a non-scalar without a gradient', () => {
    const y = tensor([1, 2, 3]).requireGrad().mul(2);
    expect(() => y.backward()).toThrow(/backward: called without a gradient on a non-scalar tensor of shape \[3\]/);
  });

  it('a gradient of the wrong shape', () => {
    const y = tensor([1, 2, 3, 4, 5, 6], [2, 3]).requireGrad().mul(2);
    expect(() => y.backward(zeros([3, 2]))).toThrow(/backward: gradient of shape \[3, 2\] does not match the tensor's shape \[2, 3\]/);
    expect(() => y.backward(zeros([6]))).toThrow(/backward: gradient of shape \[6\] does not match/);
    expect(() => y.sum().backward(zeros([1]))).toThrow(/backward: gradient of shape \[1\] does not match the tensor's shape \[\]/);
  });

  it('a tensor that does not require grad', () => {
    expect(() => tensor([1]).sum().backward()).toThrow(/backward: the tensor of shape \[\] does not require grad/);
  });

  it('a second backward without retainGraph', () => {
    const y = tensor([1, 2]).requireGrad().exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward: the graph through '(sum|exp)' was already freed by an earlier backward\(\); pass \{ retainGraph: true \}/);
  });
});

describe('bad axes', () => {
  it('reductions', () => {
    const x = zeros([2, 3, 4]);
    expect(() => sum(x, 3)).toThrow(/sum: axis 3 is out of range for shape \[2, 3, 4\] \(rank 3\)/);
    expect(() => mean(x, -4)).toThrow(/mean: axis -4 is out of range/);
    expect(() => max(x, [0, 5])).toThrow(/max: axis 5 is out of range/);
    expect(() => sum(x, [1, -2])).toThrow(/sum: repeated axis in \[1, -2\] for shape \[2, 3, 4\]/);
    expect(() => sum(x, 0.5)).toThrow(/sum: axis 0.5 is out of range/);
    expect(() => max(zeros([2, 0]), 1)).toThrow(/max: cannot reduce over an empty axis 1 of shape \[2, 0\]/);
  });

  it('permute / transpose / flatten / slice / concat / stack', () => {
    const x = zeros([2, 3, 4]);
    expect(() => permute(x, [0, 1])).toThrow(/permute: \[0, 1\] is not a permutation of the 3 axes of shape \[2, 3, 4\]/);
    expect(() => permute(x, [0, 1, 1])).toThrow(/permute: \[0, 1, 1\] is not a permutation/);
    expect(() => permute(x, [0, 1, 3])).toThrow(/permute: axis 3 is out of range/);
    expect(() => transpose(x, 0, 3)).toThrow(/transpose: axis 3 is out of range/);
    expect(() => flatten(x, 2, 1)).toThrow(/flatten: startAxis 2 comes after endAxis 1/);
    expect(() => flatten(x, 4)).toThrow(/flatten: axis 4 is out of range/);
    expect(() => slice(x, 3, 0, 1)).toThrow(/slice: axis 3 is out of range/);
    expect(() => concat([x, x], 3)).toThrow(/concat: axis 3 is out of range/);
    expect(() => stack([x, x], 4)).toThrow(/stack: axis 4 is out of range/);
  });
});

describe('bad shapes and ranges', () => {
  it('reshape', () => {
    const x = zeros([2, 3]);
    expect(() => reshape(x, [4, 2])).toThrow(/reshape: cannot reshape a tensor of shape \[2, 3\] \(6 elements\) into \[4, 2\]/);
    expect(() => reshape(x, [-1, 4])).toThrow(/reshape: cannot reshape a tensor of shape \[2, 3\] \(6 elements\) into \[-1, 4\]/);
    expect(() => reshape(x, [-1, -1])).toThrow(/reshape: invalid target shape \[-1, -1\]/);
    expect(() => reshape(x, [2, -3])).toThrow(/reshape: invalid target shape \[2, -3\]/);
    expect(() => reshape(x, [2.5, 2])).toThrow(/reshape: invalid target shape/);
  });

  it('slice ranges', () => {
    const x = zeros([3, 4]);
    expect(() => slice(x, 0, 2, 5)).toThrow(/slice: range 2:5 is out of bounds for axis 0 of shape \[3, 4\]/);
    expect(() => slice(x, 1, 3, 1)).toThrow(/slice: range 3:1 is out of bounds for axis 1/);
    expect(() => slice(x, 1, -5)).toThrow(/slice: range -5: is out of bounds for axis 1/);
    expect(() => slice(x, 0, 1.5, 2)).toThrow(/slice: range 1.5:2 is out of bounds/);
  });

  it('creation', () => {
    expect(() => full([2, -1], 0)).toThrow(/full: invalid shape \[2, -1\]/);
    expect(() => zeros([1.5])).toThrow(/full: invalid shape \[1.5\]/);
    expect(() => tensor([1, 2, 3, 4, 5], [2, 3])).toThrow(/tensor: 5 values cannot fill shape \[2, 3\] \(6 elements\)/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor: nested array is ragged/);
    // Ragged even though the value count matches the shape inferred from the first elements.
    expect(() => tensor([[1, 2], [3], [4, 5, 6]])).toThrow(/tensor: nested array is ragged/);
    expect(() => tensor([1, [2]] as never)).toThrow(/tensor: nested array is ragged/);
    expect(() => tensor([[1, 'a']] as never)).toThrow(/tensor: nested array is ragged or holds non-numbers/);
  });

  it('item on more than one element', async () => {
    await expect(tensor([1, 2]).item()).rejects.toThrow(/item: tensor of shape \[2\] has 2 elements, expected exactly 1/);
  });
});

describe('tidy misuse', () => {
  it('an async function is refused, and what it made synchronously is freed', async () => {
    const x = tensor([1, 2]);
    let made: ReturnType<typeof x.add> | null = null;
    expect(() =>
      tidy(async () => {
        made = x.add(1);
        return made;
      }),
    ).toThrow(/tidy: the function returned a Promise; tidy only takes synchronous functions/);
    expect(made!.isDisposed).toBe(true);
  });
});
