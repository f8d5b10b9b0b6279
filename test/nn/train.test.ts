import { describe, expect, it } from 'vitest';
import { manualSeed, memory, mseLoss, randn, Rng, tidy, type Tensor } from '@stripes/tensor';
import { Adam, Conv2d, evaluate, InstanceNorm2d, LeakyReLU, Sequential, Tanh } from '@stripes/nn';

describe('training', () => {
  it('a small conv net trained with Adam fits fixed data, without leaking buffers', async () => {
    manualSeed(0);
    const rng = new Rng(42);
    const x = randn([2, 3, 8, 8], { rng });
    // A target the net can represent: a fixed random conv net's output.
    const teacher = new Sequential(new Conv2d(3, 3, 3, { padding: 1, rng }), new Tanh());
    const target = evaluate(teacher, () => teacher.call(x));
    teacher.dispose();

    const net = new Sequential(
      new Conv2d(3, 8, 3, { padding: 1 }),
      new InstanceNorm2d(8),
      new LeakyReLU(0.2),
      new Conv2d(8, 3, 3, { padding: 1 }),
    );
    const opt = new Adam(net.parameters(), { lr: 1e-2 });
    const step = (): Tensor =>
      tidy(() => {
        opt.zeroGrad();
        const loss = mseLoss(net.call(x), target);
        loss.backward();
        opt.step();
        return loss;
      });

    const first = step();
    const initial = await first.item();
    first.dispose();
    const live = memory().liveBuffers;
    for (let i = 0; i < 150; i++) step().dispose();
    // Gradients and Adam state exist from the first step on; nothing else may pile up.
    expect(memory().liveBuffers).toBe(live);
    const final = step();
    const finalLoss = await final.item();
    final.dispose();

    expect(initial).toBeGreaterThan(0.1);
    expect(finalLoss).toBeLessThan(0.02);
    expect(finalLoss).toBeLessThan(initial / 10);
    opt.dispose();
    net.dispose();
    x.dispose();
    target.dispose();
  });
});
