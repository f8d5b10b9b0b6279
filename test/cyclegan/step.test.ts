import { describe, expect, test } from 'vitest';
import { CycleGAN, readLosses } from '@stripes/cyclegan';
import { memory, randn } from '@stripes/tensor';

// One full optimizeParameters step against PyTorch is a golden case (test/golden/cases.ts: cyclegan/step).
describe('CycleGAN.dispose', () => {
  test('frees everything the model allocated: networks, Adam state, pooled images', async () => {
    const before = memory();
    const model = new CycleGAN({ ngf: 2, ndf: 2, nBlocks: 1, nLayersD: 1, poolSize: 2 });
    for (let i = 0; i < 2; i++) {
      const [a, b] = [randn([1, 3, 8, 8]), randn([1, 3, 8, 8])];
      await readLosses(model.optimizeParameters(a, b).losses);
      a.dispose();
      b.dispose();
    }
    model.dispose();
    const after = memory();
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.cachedBuffers).toBe(before.cachedBuffers);
  });
});
