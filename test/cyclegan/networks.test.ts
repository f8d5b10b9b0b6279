import { describe, expect, test } from 'vitest';
import { NLayerDiscriminator, ResnetGenerator } from '@stripes/cyclegan';

// Forward outputs against PyTorch are golden cases (test/golden/cases.ts: cyclegan/forward).
describe('reference networks', () => {
  test('parameter counts at the paper defaults', () => {
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 64, nBlocks: 9 });
    const d = new NLayerDiscriminator({ inputNc: 3, ndf: 64, nLayers: 3 });
    expect(g.numParameters()).toBe(11_378_179);
    expect(d.numParameters()).toBe(2_764_737);
    g.dispose();
    d.dispose();
  });

});
