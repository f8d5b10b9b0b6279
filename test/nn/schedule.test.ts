import { describe, expect, it } from 'vitest';
import { keep, tensor } from '@stripes/tensor';
import { Adam, CosineAnnealingLR, LambdaLR, LinearDecayLR, StepLR } from '@stripes/nn';

/** A stand-in optimizer: schedules only touch the groups' lr. */
const groups = (...lrs: number[]) => ({ paramGroups: lrs.map((lr) => ({ lr })) });

describe('LR schedules', () => {
  it("LinearDecayLR reproduces CycleGAN's rule over 100 + 100 epochs, stepped after each epoch", () => {
    const base = 2e-4;
    const opt = groups(base);
    const sched = new LinearDecayLR(opt, { nEpochs: 100, nEpochsDecay: 100 });
    // networks.get_scheduler: lambda_rule(epoch) with opt.epoch_count = 1; LambdaLR calls it with last_epoch.
    const lambdaRule = (epoch: number) => 1.0 - Math.max(0, epoch + 1 - 100) / (100 + 1);
    for (let epoch = 1; epoch <= 200; epoch++) {
      // Epoch `epoch` trains with the lr set by the previous epoch's step (last_epoch = epoch - 1).
      expect(opt.paramGroups[0].lr, `epoch ${epoch}`).toBeCloseTo(base * lambdaRule(epoch - 1), 15);
      sched.step();
    }
    expect(sched.lastEpoch).toBe(200);
    expect(lambdaRule(99)).toBe(1);
    expect(lambdaRule(100)).toBeCloseTo(100 / 101, 15);
    expect(lambdaRule(199)).toBeCloseTo(1 / 101, 15);
  });

  it('LinearDecayLR honours epochCount (resuming the reference at a later epoch)', () => {
    const opt = groups(1);
    const sched = new LinearDecayLR(opt, { nEpochs: 10, nEpochsDecay: 10, epochCount: 6 });
    const lrs = [opt.paramGroups[0].lr];
    for (let i = 0; i < 8; i++) {
      sched.step();
      lrs.push(opt.paramGroups[0].lr);
    }
    lrs.forEach((lr, e) => expect(lr).toBeCloseTo(1 - Math.max(0, e + 6 - 10) / 11, 15));
  });

  it('StepLR and CosineAnnealingLR follow their formulas for every group', () => {
    const opt = groups(0.1, 0.02);
    const step = new StepLR(opt, { stepSize: 3, gamma: 0.5 });
    for (let e = 0; e <= 10; e++) {
      expect(step.lastLr[0]).toBeCloseTo(0.1 * 0.5 ** Math.floor(e / 3), 15);
      expect(step.lastLr[1]).toBeCloseTo(0.02 * 0.5 ** Math.floor(e / 3), 15);
      step.step();
    }
    const opt2 = groups(0.1, 0.02);
    const cos = new CosineAnnealingLR(opt2, { tMax: 7, etaMin: 1e-3 });
    for (let e = 0; e <= 14; e++) {
      for (const [i, base] of [0.1, 0.02].entries()) {
        expect(opt2.paramGroups[i].lr).toBeCloseTo(1e-3 + ((base - 1e-3) * (1 + Math.cos((Math.PI * e) / 7))) / 2, 15);
      }
      cos.step();
    }
    expect(opt2.paramGroups[0].lr).not.toBe(1e-3);
  });

  it('LambdaLR multiplies the base rate', () => {
    const opt = groups(0.5);
    const sched = new LambdaLR(opt, (e) => 1 / (e + 1));
    sched.step();
    sched.step();
    expect(opt.paramGroups[0].lr).toBeCloseTo(0.5 / 3, 15);
  });

  it('state round trip: a restored schedule continues identically and drives a real optimizer', () => {
    const make = () => {
      const opt = groups(2e-4);
      return [opt, new LinearDecayLR(opt, { nEpochs: 5, nEpochsDecay: 5 })] as const;
    };
    const [a, sa] = make();
    for (let i = 0; i < 7; i++) sa.step();
    const saved = JSON.parse(JSON.stringify(sa.stateDict()));
    const [b, sb] = make();
    sb.loadStateDict(saved);
    expect(b.paramGroups[0].lr).toBe(a.paramGroups[0].lr);
    for (let i = 0; i < 5; i++) {
      sa.step();
      sb.step();
      expect(b.paramGroups[0].lr).toBe(a.paramGroups[0].lr);
    }
    expect(() => sb.loadStateDict({ lastEpoch: 3, baseLrs: [1, 2] })).toThrow(/one number per parameter group/);
    expect(() => sb.loadStateDict({ lastEpoch: -1, baseLrs: [1] })).toThrow(/invalid lastEpoch/);

    const p = keep(tensor([1, 2], [2])).requireGrad();
    const adam = new Adam([p], { lr: 0.1 });
    const sched = new StepLR(adam, { stepSize: 1, gamma: 0.5 });
    sched.step();
    expect(adam.paramGroups[0].lr).toBe(0.05);
    expect(adam.stateDict().json.paramGroups[0].lr).toBe(0.05);
    adam.dispose();
    p.dispose();
  });
});
