/**
 * The reference CycleGAN networks (junyanz/pytorch-CycleGAN-and-pix2pix,
 * models/networks.py), built from @stripes/nn layers in the same order, so
 * state-dict names match the reference's (`model.1.weight`,
 * `model.10.conv_block.1.weight`) and weights move between the two. The
 * generator's ReflectionPad2d + Conv2d pairs stay two layers; Sequential runs
 * each pair as one reflect-padded convolution (no padded copy, same values).
 */
import {
  Conv2d, ConvTranspose2d, Dropout, init, InstanceNorm2d, LeakyReLU, Module, ReLU, ReflectionPad2d, Sequential, Tanh,
  type AnyModule,
} from '@stripes/nn';
import type { Rng, Tensor } from '@stripes/tensor';

/** [ReflectionPad(1), Conv3, IN, ReLU, (Dropout 0.5), ReflectionPad(1), Conv3, IN] with x + block(x). */
export class ResnetBlock extends Module {
  readonly convBlock: Sequential;

  constructor(dim: number, useDropout: boolean, rng?: Rng) {
    super();
    const layers: Module[] = [
      new ReflectionPad2d(1), new Conv2d(dim, dim, 3, { bias: true }), new InstanceNorm2d(dim), new ReLU(),
      ...(useDropout ? [new Dropout(0.5, { rng })] : []),
      new ReflectionPad2d(1), new Conv2d(dim, dim, 3, { bias: true }), new InstanceNorm2d(dim),
    ];
    this.convBlock = this.registerModule('conv_block', new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    // x + conv_block(x), the sum added by the block's last instance norm.
    return this.convBlock.forwardWithResidual(x, x);
  }
}

export interface ResnetGeneratorOptions {
  inputNc: number;
  outputNc: number;
  /** Filters in the first conv layer (64 in the paper). */
  ngf?: number;
  /** Residual blocks: 9 for 256 px images, 6 for 128 px. */
  nBlocks?: number;
  /** Dropout(0.5) inside the residual blocks; off for CycleGAN (`--no_dropout`). */
  dropout?: boolean;
  /** Dropout's generator (default: the global one). */
  rng?: Rng;
}

/**
 * ResNet generator: c7s1-ngf, two stride-2 downsampling convs, nBlocks
 * residual blocks, two fractionally strided convs, c7s1-outputNc, tanh.
 */
export class ResnetGenerator extends Module {
  readonly model: Sequential;

  constructor({ inputNc, outputNc, ngf = 64, nBlocks = 9, dropout = false, rng }: ResnetGeneratorOptions) {
    super();
    if (!Number.isInteger(nBlocks) || nBlocks < 0) throw new Error(`ResnetGenerator: nBlocks must be a non-negative integer, got ${nBlocks}`);
    const layers: Module[] = [new ReflectionPad2d(3), new Conv2d(inputNc, ngf, 7, { bias: true }), new InstanceNorm2d(ngf), new ReLU()];
    for (let i = 0; i < 2; i++) {
      const mult = 2 ** i;
      layers.push(new Conv2d(ngf * mult, ngf * mult * 2, 3, { stride: 2, padding: 1, bias: true }), new InstanceNorm2d(ngf * mult * 2), new ReLU());
    }
    for (let i = 0; i < nBlocks; i++) layers.push(new ResnetBlock(ngf * 4, dropout, rng));
    for (let i = 0; i < 2; i++) {
      const mult = 2 ** (2 - i);
      layers.push(
        new ConvTranspose2d(ngf * mult, (ngf * mult) / 2, 3, { stride: 2, padding: 1, outputPadding: 1, bias: true }),
        new InstanceNorm2d((ngf * mult) / 2),
        new ReLU(),
      );
    }
    layers.push(new ReflectionPad2d(3), new Conv2d(ngf, outputNc, 7), new Tanh());
    this.model = this.registerModule('model', new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    return this.model.call(x);
  }
}

export interface NLayerDiscriminatorOptions {
  inputNc: number;
  /** Filters in the first conv layer (64 in the paper). */
  ndf?: number;
  /** Stride-2 conv layers; 3 gives the 70x70 PatchGAN. */
  nLayers?: number;
}

/** PatchGAN: classifies overlapping patches (70x70 at nLayers 3) as real or fake; outputs one logit per patch. */
export class NLayerDiscriminator extends Module {
  readonly model: Sequential;

  constructor({ inputNc, ndf = 64, nLayers = 3 }: NLayerDiscriminatorOptions) {
    super();
    if (!Number.isInteger(nLayers) || nLayers < 1) throw new Error(`NLayerDiscriminator: nLayers must be a positive integer, got ${nLayers}`);
    const kw = 4;
    const padw = 1;
    const layers: Module[] = [new Conv2d(inputNc, ndf, kw, { stride: 2, padding: padw }), new LeakyReLU(0.2)];
    let mult = 1;
    for (let n = 1; n < nLayers; n++) {
      const prev = mult;
      mult = Math.min(2 ** n, 8);
      layers.push(new Conv2d(ndf * prev, ndf * mult, kw, { stride: 2, padding: padw, bias: true }), new InstanceNorm2d(ndf * mult), new LeakyReLU(0.2));
    }
    const prev = mult;
    mult = Math.min(2 ** nLayers, 8);
    layers.push(new Conv2d(ndf * prev, ndf * mult, kw, { stride: 1, padding: padw, bias: true }), new InstanceNorm2d(ndf * mult), new LeakyReLU(0.2));
    layers.push(new Conv2d(ndf * mult, 1, kw, { stride: 1, padding: padw }));
    this.model = this.registerModule('model', new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    return this.model.call(x);
  }
}

/**
 * The reference's `init_weights(net, 'normal', gain)`: conv weights
 * N(0, gain), biases 0 (InstanceNorm has no affine parameters here).
 */
export function initWeights(net: AnyModule, { gain = 0.02, rng }: { gain?: number; rng?: Rng } = {}): void {
  for (const [name, p] of net.namedParameters()) {
    if (name.endsWith('.weight')) init.normal(p, 0, gain, { rng });
    else if (name.endsWith('.bias')) init.zeros(p);
  }
}

/**
 * The smallest square image both networks accept: the generator's reflection
 * pads need its 1/4-size features to be at least 2 px, and every PatchGAN
 * InstanceNorm needs planes of more than one pixel (k4 p1: stride 2 maps s to
 * floor(s / 2), stride 1 to s - 1).
 */
export function minimumImageSize(nLayersD: number): number {
  const fits = (size: number): boolean => {
    if (Math.floor(size / 4) < 2) return false;
    let s = Math.floor(size / 2);
    for (let n = 1; n < nLayersD; n++) {
      s = Math.floor(s / 2);
      if (s < 2) return false;
    }
    return s - 1 >= 2 && s - 2 >= 1;
  };
  let size = 8;
  while (!fits(size)) size += 4;
  return size;
}
