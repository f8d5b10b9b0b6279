/**
 * What each image of the mini horse2zebra dataset is, in memory: the splits,
 * their default sizes, and the seed and rendering of image `index` of a
 * split. Host-free; `generateMiniZebra` (./dataset.ts) writes these to disk.
 */
import { Rng } from '@stripes/tensor';
import type { ModelCommandOptions } from '../model/cyclegan.ts';
import { drawScene, renderScene } from './scene.ts';
import type { Coat, RenderedScene } from './scene.ts';

export const SPLITS = ['trainA', 'trainB', 'testA', 'testB'] as const;
export type Split = (typeof SPLITS)[number];
export type SplitCounts = Record<Split, number>;

/**
 * 50 test images per domain rather than horse2zebra's proportion: the stripe
 * score varies from animal to animal (coefficient of variation ~0.23), and
 * the demo's stripe-movement figure divides by the testB - testA gap, so 20
 * images would leave it uncertain by about +-8 points, 50 by about +-5.
 */
export const DEFAULT_COUNTS: SplitCounts = { trainA: 200, trainB: 200, testA: 50, testB: 50 };
/**
 * 48 px: in a PyTorch study of the reference model on this data, 48 px images gave the
 * most consistent translations (stripe movement 31-40%, IoU 0.52-0.59 at 1200-2400
 * iterations, against 6-48% movement at 32 px across seeds).
 */
export const DEFAULT_SIZE = 48;

/**
 * The demo's model and schedule as the command line spells them (`npm run
 * demo`; the web page's model is `modelOptionsOf(DEMO_OPTIONS)`), chosen by
 * a PyTorch study on this data (see the README): at ~1200 iterations the
 * paper's lr 2e-4 and lambda 10 / identity 0.5 leave noisy outputs, while
 * lr 1e-3 with a stronger cycle term (20) and identity term (ratio 2:
 * weight 40) keeps the scenery and draws stripes. 200 images per epoch:
 * 3 epochs at the full rate, then 3 of linear decay (1200 iterations).
 */
export const DEMO_OPTIONS = {
  ngf: 8, ndf: 16, netG: 'resnet_6blocks', netD: 'basic', ganMode: 'lsgan', lambdaA: 20, lambdaB: 20, lambdaIdentity: 2,
  poolSize: 50, lr: 1e-3, beta1: 0.5, nEpochs: 3, nEpochsDecay: 3, epochCount: 1, seed: 0,
} as const satisfies Partial<ModelCommandOptions>;

/**
 * The reference implementation on the same data and settings (DEMO_OPTIONS,
 * DEFAULT_SIZE, DEFAULT_COUNTS, data seed 0): test/golden/reference_demo.py
 * trained PyTorch 1.13's CycleGAN once per seed, and stripes scored the saved
 * generators with its own metrics (`stripes-cyclegan import`, then `test`).
 * The demo prints its own run beside this range: GAN training varies this
 * much from seed to seed, so one run is judged against the range, not a bar.
 */
export const DEMO_REFERENCE = {
  implementation: 'junyanz/pytorch-CycleGAN-and-pix2pix (test/golden/reference_demo.py), PyTorch 1.13 CPU',
  imageSize: 48,
  iterations: 1200,
  seeds: [0, 1, 2],
  stripeMovement: [0.383, 0.168, 0.397],
  maskIoU: [0.571, 0.562, 0.521],
} as const;

export function coatOf(split: Split): Coat {
  return split.endsWith('A') ? 'plain' : 'zebra';
}

export function imageName(split: Split, index: number): string {
  return `${split}_${String(index).padStart(4, '0')}.png`;
}

/** murmur3's 32-bit finalizer: nearby inputs give unrelated seeds. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The seed of image `index` in `split`: independent streams per split, so trainA and trainB are unpaired. */
export function imageSeed(seed: number, split: Split, index: number): number {
  return fmix32(fmix32(fmix32(seed >>> 0) ^ (SPLITS.indexOf(split) + 1)) ^ index);
}

/** Renders one dataset entry in memory: what `generateMiniZebra` writes for (seed, split, index). */
export function renderEntry(seed: number, size: number, split: Split, index: number): RenderedScene {
  return renderScene(drawScene(new Rng(imageSeed(seed, split, index)), size), coatOf(split));
}
