// Buffers stay flat over a long run of training steps, used as train() uses them (a tidy per step,
// losses read back now and then, throttle every step): any per-step leak would show as growth.
import { describe, expect, test } from 'vitest';
import { CycleGAN, LOSS_NAMES, readLosses } from '@stripes/cyclegan';
import { memory, randn, Rng, throttle, tidy } from '@stripes/tensor';

const STEPS = 500;
const SAMPLE_EVERY = 50;

describe('CycleGAN training memory', () => {
  test(`live buffers and the bytes held (live, pooled, cached) are flat over ${STEPS} steps once the image pools are full`, async () => {
    const model = new CycleGAN({ ngf: 2, ndf: 2, nBlocks: 1, nLayersD: 1, poolSize: 4, seed: 3 });
    const rng = new Rng(4);
    // Live bytes are not compared: a request may be served by a free buffer of a larger size class, so the same live
    // tensors can add up to a few hundred bytes more or less from step to step. What is held in all is flat.
    const samples: { step: number; liveBuffers: number; heldBytes: number }[] = [];
    for (let step = 1; step <= STEPS; step++) {
      const { losses } = tidy(() => model.optimizeParameters(randn([1, 3, 8, 8], { rng }), randn([1, 3, 8, 8], { rng })));
      if (step % 10 === 0) {
        const values = await readLosses(losses);
        for (const k of LOSS_NAMES) expect(Number.isFinite(values[k]), `${k} at step ${step}`).toBe(true);
      } else {
        for (const k of LOSS_NAMES) losses[k].dispose();
      }
      await throttle();
      if (step % SAMPLE_EVERY === 0) {
        const m = memory();
        samples.push({ step, liveBuffers: m.liveBuffers, heldBytes: m.liveBytes + m.pooledBytes + m.cachedBytes });
      }
    }
    model.dispose();
    // Every sample equals the first (step 50: pools full, Adam state allocated).
    expect(samples).toHaveLength(STEPS / SAMPLE_EVERY);
    for (const s of samples) expect({ ...s, step: samples[0].step }, `step ${s.step}`).toEqual(samples[0]);
  }, 240_000);
});
