// A user's TypeScript: compiled with `tsc --strict` (NodeNext) against the
// installed packages' declarations; it must type-check with zero errors.
import { conv2d, ready, randn, tidy, type DeviceInfo, type Tensor } from '@stripes/tensor';
import { init, type Runtime } from '@stripes/kernels';
import { Adam, Conv2d, InstanceNorm2d, Module, ReLU, Sequential, decodeStateDict, type TensorEntry } from '@stripes/nn';
import { saveCheckpoint } from '@stripes/nn/node';
import { CycleGAN, NLayerDiscriminator, ResnetGenerator } from '@stripes/cyclegan';
import { train, type TrainConfig } from '@stripes/cyclegan/node';

class Block extends Module {
  readonly body = this.registerModule('body', new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new InstanceNorm2d(4), new ReLU()));
  forward(x: Tensor): Tensor {
    return this.body.call(x);
  }
}

export async function step(device?: GPUDevice): Promise<number> {
  const info: DeviceInfo = await ready(device ? { device } : undefined);
  const runtime: Runtime = await init();
  const net = new Block();
  const opt = new Adam(net.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
  const loss = tidy(() => {
    const y = net.call(randn([1, 3, 8, 8]));
    const l = conv2d(y, randn([1, 4, 1, 1])).mean();
    l.backward();
    opt.step();
    return l;
  });
  await saveCheckpoint('x.safetensors', { tensors: net.stateDict(), json: { adapter: info.name, pool: runtime.memory().pooledBytes } });
  return loss.item();
}

export const weightsFrom = (bytes: Uint8Array): Record<string, TensorEntry> => decodeStateDict(bytes, 'upload.safetensors');

export const networks = (): [ResnetGenerator, NLayerDiscriminator] => [
  new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 8, nBlocks: 2 }),
  new NLayerDiscriminator({ inputNc: 3, ndf: 8 }),
];
export type Model = CycleGAN;
export const run: (config: TrainConfig) => ReturnType<typeof train> = train;
