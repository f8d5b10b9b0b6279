import { describe, expect, it } from 'vitest';
import {
  discriminatorSpec, fromReferenceNetworks, referenceOptions, toReferenceNetworks,
  type CycleGANArchitecture, type ReferenceNetwork, type ReferenceNetworkFile,
} from '@stripes/cyclegan';
import { networkShapes } from '@stripes/cyclegan/node';
import type { TensorEntry } from '@stripes/nn';

const ARCH: CycleGANArchitecture = { inputNc: 3, outputNc: 1, ngf: 4, ndf: 2, nBlocks: 3, nLayersD: 2, dropout: false };

/** The four state dicts of `arch`, each value its tensor's index, as a reference run's files would hold them. */
function files(arch: CycleGANArchitecture): Record<ReferenceNetwork, ReferenceNetworkFile> {
  const all: Record<string, TensorEntry> = {};
  [...networkShapes(arch)].forEach(([name, shape], k) => (all[name] = { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(k) }));
  const nets = toReferenceNetworks(all, arch);
  return Object.fromEntries(Object.entries(nets).map(([net, dict]) => [net, { source: `latest_net_${net}.pth`, tensors: Object.fromEntries(dict) }])) as Record<ReferenceNetwork, ReferenceNetworkFile>;
}

/** The message of what `fn` throws. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe("the reference's four state dicts", () => {
  it('give back the architecture, every tensor under its checkpoint name, and the InstanceNorm statistics left out', () => {
    const f = files(ARCH);
    // PyTorch's state_dict order: each module's weight, then its bias, modules in order.
    expect(Object.keys(f.G_A.tensors).slice(0, 5)).toEqual(['model.1.weight', 'model.1.bias', 'model.4.weight', 'model.4.bias', 'model.7.weight']);
    f.D_B.tensors['model.3.running_mean'] = { shape: [4], data: new Float32Array(4) };
    const state = fromReferenceNetworks(f);
    expect(state.architecture).toEqual(ARCH);
    expect(Object.keys(state.tensors).sort()).toEqual([...networkShapes(ARCH).keys()].sort());
    expect(state.tensors['net_D_A.model.0.weight']).toBe(f.D_A.tensors['model.0.weight']);
    expect(state.dropped).toEqual({ G_A: [], G_B: [], D_A: [], D_B: ['model.3.running_mean'] });
    expect(discriminatorSpec(f.D_A.tensors)).toEqual({ inputNc: 1, ndf: 2, nLayers: 2 });
  });

  it('networks that disagree are named with what G_A and D_A make them', () => {
    const f = files(ARCH);
    f.G_B = files({ ...ARCH, ngf: 8 }).G_B;
    f.D_B = files({ ...ARCH, nLayersD: 3 }).D_B;
    f.D_A = { ...f.D_A, source: 'latest_net_D_A.pth' };
    const message = thrown(() => fromReferenceNetworks(f));
    expect(message).toMatch(/^2 problems:/);
    expect(message).toContain('latest_net_G_B.pth: a generator 1 -> 3 channels, ngf 8, 3 blocks, no dropout; G_A (latest_net_G_A.pth) makes it 1 -> 3 channels, ngf 4, 3 blocks, no dropout');
    expect(message).toContain('latest_net_D_B.pth: a PatchGAN on 3-channel images, ndf 2, 3 layers; D_A (latest_net_D_A.pth) makes it a PatchGAN on 3-channel images, ndf 2, 2 layers');
  });

  it('every missing, unexpected and misshaped tensor in one error, each naming its file; a file of the wrong kind says so', () => {
    const f = files(ARCH);
    delete f.G_B.tensors['model.10.conv_block.5.bias'];
    f.G_B.tensors['model.10.conv_block.4.bias'] = { shape: [1], data: new Float32Array(1) };
    f.D_A.tensors['model.2.weight'] = { shape: [4, 2, 3, 3], data: new Float32Array(72) };
    const message = thrown(() => fromReferenceNetworks(f));
    expect(message).toMatch(/^3 problems:/);
    expect(message).toContain("latest_net_G_B.pth: unexpected tensor 'model.10.conv_block.4.bias'");
    expect(message).toContain("latest_net_G_B.pth: tensor 'model.10.conv_block.5.bias' is missing");
    expect(message).toContain("latest_net_D_A.pth: 'model.2.weight' has shape [4, 2, 3, 3], the architecture needs [4, 2, 4, 4]");

    const swapped = files(ARCH);
    swapped.G_A = { ...swapped.D_A, source: 'latest_net_G_A.pth' };
    expect(thrown(() => fromReferenceNetworks(swapped))).toBe('latest_net_G_A.pth: not a ResnetGenerator state dict: no 7x7 conv weight at model.1.weight');
  });

  it("spells the architecture in the reference's options", () => {
    expect(referenceOptions({ ...ARCH, nBlocks: 9, nLayersD: 3 })).toBe('--input_nc 3 --output_nc 1 --ngf 4 --ndf 2 --netG resnet_9blocks --netD basic --no_dropout');
    expect(referenceOptions({ ...ARCH, dropout: true })).toBe(
      '--input_nc 3 --output_nc 1 --ngf 4 --ndf 2 (no --netG names 3 residual blocks: ResnetGenerator(..., n_blocks=3) in code) --netD n_layers --n_layers_D 2',
    );
  });
});
