import { describe, expect, test } from 'vitest';
import { loadGolden, expectClose } from '../helpers/golden.ts';
import { NLayerDiscriminator, ResnetGenerator } from '@stripes/cyclegan';
import { tensor, tidy } from '@stripes/tensor';

describe('reference networks', () => {
  test('parameter counts at the paper defaults', () => {
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 64, nBlocks: 9 });
    const d = new NLayerDiscriminator({ inputNc: 3, ndf: 64, nLayers: 3 });
    expect(g.numParameters()).toBe(11_378_179);
    expect(d.numParameters()).toBe(2_764_737);
    g.dispose();
    d.dispose();
  });

  test('forward outputs match PyTorch for the same weights', async () => {
    const golden = loadGolden('cyclegan');
    const config = JSON.parse(golden.metadata.config);
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: config.ngf, nBlocks: config.n_blocks ?? 6 });
    const d = new NLayerDiscriminator({ inputNc: 3, ndf: config.ndf, nLayers: config.n_layers_D ?? 3 });
    const sub = (prefix: string) =>
      Object.fromEntries([...golden.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    g.loadStateDict(sub('G_A.'));
    d.loadStateDict(sub('D_A.'));
    const realA = golden.get('realA');
    const realB = golden.get('realB');
    const [fakeB, dOut] = tidy(() => [g.call(tensor(realA.data, realA.shape)), d.call(tensor(realB.data, realB.shape))]);
    expectClose(await fakeB.data(), golden.get('fakeB').data, { rtol: 1e-4 }, 'G_A(realA)');
    expectClose(await dOut.data(), golden.get('D_A_realB').data, { rtol: 1e-4 }, 'D_A(realB)');
    g.dispose();
    d.dispose();
  });
});
