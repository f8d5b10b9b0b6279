/**
 * What each image of the mini horse2zebra dataset is, in memory: the splits,
 * their default sizes, and the seed and rendering of image `index` of a
 * split. Host-free; `generateMiniZebra` (./dataset.ts) writes these to disk.
 */
import { Rng } from '@stripes/tensor';
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
export const DEFAULT_SIZE = 32;

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
