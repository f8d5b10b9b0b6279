// GPU memory: a training loop under tidy stays flat, graphs are freed with
// their outputs, tidy / keep / nested tidy free exactly what they should, a
// disposed tensor is refused by name, and tidy refuses an async function.
// memory() counts buffers held by tensors (live) and freed ones kept for reuse
// (pooled); readback staging buffers are not counted.
import { describe, expect, it } from 'vitest';
import {
  add,
  broadcastTo,
  concat,
  keep,
  matmul,
  memory,
  type MemoryStats,
  noGrad,
  randn,
  Rng,
  stack,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '@stripes/tensor';

const live = (m: MemoryStats = memory()): { liveBuffers: number; liveBytes: number } => ({ liveBuffers: m.liveBuffers, liveBytes: m.liveBytes });

describe('training loop', () => {
  it('200 iterations of linear regression with SGD under tidy leave live memory flat', async () => {
    const rng = new Rng(42);
    const X = randn([32, 4], { rng });
    const trueW = tensor([1.5, -2, 0.5, 3], [4, 1]);
    const Y = noGrad(() => tidy(() => X.matmul(trueW).add(0.25)));
    let W = zeros([4, 1]).requireGrad();
    let b = zeros([1]).requireGrad();
    const lr = 0.1;
    const losses: number[] = [];
    const stats: MemoryStats[] = [];
    for (let it = 0; it < 200; it++) {
      const [W2, b2, loss] = tidy(() => {
        const d = X.matmul(W).add(b).sub(Y);
        const loss = d.mul(d).mean();
        loss.backward();
        const next = noGrad(() => [W.sub(W.grad!.mul(lr)), b.sub(b.grad!.mul(lr))]);
        return [...next, loss];
      });
      W.dispose(); // also frees W.grad
      b.dispose();
      W = W2.requireGrad();
      b = b2.requireGrad();
      losses.push(await loss.item());
      loss.dispose();
      stats.push(memory());
    }
    // Warm-up: the first iterations fill the pool; after that nothing grows.
    const warm = stats[10];
    stats.slice(10).forEach((m, i) => {
      expect(live(m), `live memory at iteration ${i + 10}`).toEqual(live(warm));
      expect(m.pooledBuffers, `pooled buffers at iteration ${i + 10}`).toBe(warm.pooledBuffers);
    });
    // Live: X, trueW, Y, W, b, the recorded loss is already disposed.
    expect(warm.liveBuffers).toBe(5);
    // The loop really trains.
    expect(losses[199]).toBeLessThan(losses[0] * 1e-3);
    const w = await W.data();
    [1.5, -2, 0.5, 3].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 2));
    expect(await b.item()).toBeCloseTo(0.25, 2);
    [X, trueW, Y, W, b].forEach((t) => t.dispose());
  });
});

describe('graph lifetime', () => {
  it('disposing a loss without backward frees its graph and saved tensors', () => {
    const x = randn([8, 8]).requireGrad();
    const w = randn([8, 8]).requireGrad();
    const base = live();
    // tanh and exp save their outputs, mul saves its inputs: all held by the graph.
    const loss = tidy(() => x.matmul(w).tanh().exp().mul(x).sum());
    expect(live().liveBuffers).toBeGreaterThan(base.liveBuffers + 1);
    loss.dispose();
    expect(live()).toEqual(base);
    expect(x.grad).toBeNull();
    x.dispose();
    w.dispose();
  });

  it('backward frees the saved tensors; disposing the loss and grads returns to baseline', () => {
    const base = live();
    const x = randn([5, 7]).requireGrad();
    const loss = tidy(() => x.sigmoid().mul(x.tanh()).mean());
    loss.backward();
    // Left: x, its grad, the loss.
    expect(live().liveBuffers).toBe(base.liveBuffers + 3);
    loss.dispose();
    x.dispose(); // frees x.grad too
    expect(live()).toEqual(base);
  });

  it('a graph shared by two outputs survives until its last user, even after its tensors are disposed', async () => {
    const base = live();
    const x = tensor([0.5, -1, 2]).requireGrad();
    const h = x.exp();
    const a = h.mul(2);
    const t = h.tanh();
    const y1 = a.sum();
    const y2 = t.sum();
    [h, a, t].forEach((u) => u.dispose()); // the graphs of y1 and y2 still hold exp's and tanh's saved outputs
    y1.backward(undefined, { retainGraph: true }); // exp's node is shared with y2
    y2.backward();
    const g = await x.grad!.data();
    [0.5, -1, 2].forEach((v, i) => expect(g[i]).toBeCloseTo(2 * Math.exp(v) + (1 - Math.tanh(Math.exp(v)) ** 2) * Math.exp(v), 5));
    // As in PyTorch, the first backward without retainGraph frees the shared part for both.
    const z1 = tidy(() => x.exp().mul(2).sum());
    z1.backward();
    expect(() => z1.backward()).toThrow(/already freed/);
    [y1, y2, z1, x].forEach((t) => t.dispose());
    expect(live()).toEqual(base);
  });
});

describe('tidy and keep', () => {
  it('frees intermediates and keeps a returned tensor', async () => {
    const x = tensor([1, 2, 3]);
    const base = live();
    const y = tidy(() => x.add(1).mul(2).exp().log());
    expect(live().liveBuffers).toBe(base.liveBuffers + 1);
    expect([...(await y.data())]).toEqual([4, 6, 8]);
    y.dispose();
    expect(live()).toEqual(base);
  });

  it('keeps tensors returned in arrays and objects', async () => {
    const x = tensor([1, 2]);
    const base = live();
    const r = tidy(() => ({ a: x.add(1), list: [x.mul(3), x.neg()], nested: { deep: [x.exp().log()] }, n: 5, s: 'text' }));
    expect(live().liveBuffers).toBe(base.liveBuffers + 4);
    expect([...(await r.a.data())]).toEqual([2, 3]);
    expect([...(await r.list[0].data())]).toEqual([3, 6]);
    expect([...(await r.list[1].data())]).toEqual([-1, -2]);
    const deep = await r.nested.deep[0].data();
    expect(deep[0]).toBeCloseTo(1, 5);
    expect(deep[1]).toBeCloseTo(2, 5);
    expect(r.n).toBe(5);
    [r.a, ...r.list, r.nested.deep[0]].forEach((t) => t.dispose());
    expect(live()).toEqual(base);
  });

  it('keep() survives tidy', async () => {
    const x = tensor([1, 2]);
    const base = live();
    let kept: Tensor | null = null;
    tidy(() => {
      kept = keep(x.add(10));
      x.mul(2); // freed
    });
    expect(live().liveBuffers).toBe(base.liveBuffers + 1);
    expect([...(await kept!.data())]).toEqual([11, 12]);
    kept!.dispose();
    expect(live()).toEqual(base);
  });

  it('nested tidy: inner results move to the outer scope and are freed there', async () => {
    const x = tensor([1, 2]);
    const base = live();
    let inner: Tensor | null = null;
    const outer = tidy(() => {
      inner = tidy(() => x.add(1).mul(2)); // the add is freed here
      expect(live().liveBuffers).toBe(base.liveBuffers + 1);
      const kept = tidy(() => keep(x.mul(5)));
      expect(live().liveBuffers).toBe(base.liveBuffers + 2);
      kept.dispose();
      return inner.add(1);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(live().liveBuffers).toBe(base.liveBuffers + 1);
    expect([...(await outer.data())]).toEqual([5, 7]);
    outer.dispose();
    expect(live()).toEqual(base);
  });

  it('frees everything when the function throws', () => {
    const x = tensor([1, 2]);
    const base = live();
    expect(() =>
      tidy(() => {
        x.add(1);
        x.mul(2);
        throw new Error('inside tidy');
      }),
    ).toThrow('inside tidy');
    expect(live()).toEqual(base);
  });

  it('a tensor created outside tidy and returned from it is not freed', async () => {
    const x = tensor([3]);
    const y = tidy(() => x);
    expect(y).toBe(x);
    expect(x.isDisposed).toBe(false);
    expect(await x.item()).toBe(3);
  });
});

describe('views and ops that make temporaries', () => {
  it('a reshape shares storage: the buffer is freed only when both handles are disposed', async () => {
    const base = live();
    const x = tensor([1, 2, 3, 4]);
    const v = x.reshape([2, 2]);
    expect(live().liveBuffers).toBe(base.liveBuffers + 1);
    x.dispose();
    expect([...(await v.data())]).toEqual([1, 2, 3, 4]);
    expect(live().liveBuffers).toBe(base.liveBuffers + 1);
    v.dispose();
    expect(live()).toEqual(base);
  });

  it('stack outside tidy leaves nothing behind once its inputs and output are disposed', () => {
    const base = live();
    const a = tensor([1, 2]);
    const b = tensor([3, 4]);
    const s = stack([a, b], 1);
    [a, b, s].forEach((t) => t.dispose());
    expect(live()).toEqual(base);
  });

  it('dispose is idempotent and frees the gradient', () => {
    const base = live();
    const x = tensor([1, 2]).requireGrad();
    tidy(() => x.mul(x).sum().backward());
    expect(x.grad).not.toBeNull();
    x.dispose();
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(x.grad).toBeNull();
    expect(live()).toEqual(base);
  });

  it('`using` disposes a tensor at the end of its block, its gradient with it', () => {
    const base = live();
    let kept: Tensor;
    {
      using x = tensor([1, 2]).requireGrad();
      tidy(() => x.mul(x).sum().backward());
      kept = x;
      expect(x.isDisposed).toBe(false);
    }
    expect(kept.isDisposed).toBe(true);
    expect(kept.grad).toBeNull();
    expect(live()).toEqual(base);
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
