/**
 * The random draws of unaligned training data, in the order the CLI's data
 * set and loader make them: each epoch's item order, then per item B's index
 * and both images' transform parameters. Host-free, so the web page's
 * trainer draws the same sequence from the same generator state.
 */
import { Rng } from '@stripes/tensor';
import { getParams, type TransformParams } from './transforms.ts';

/**
 * The generator of a run's data order, crops and flips (the model's own
 * generators take seed .. seed + 3): a run's loader starts from its state.
 */
export function dataRng(seed: number): Rng {
  return new Rng(seed + 4);
}

/** Everything drawn at random for one item, drawn before any file is read. */
export interface ItemPlan {
  /** The item: A's index is `index % |A|`. */
  index: number;
  indexB: number;
  paramsA: TransformParams;
  paramsB: TransformParams;
}

/** An epoch's item order: 0..n-1 shuffled Fisher-Yates from `rng` (as the reference's shuffle), or in order. */
export function epochOrder(n: number, rng: Rng, shuffle: boolean): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return order;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/**
 * Item `index`'s random choices, as the reference's UnalignedDataset makes
 * them: a random B of `countB` (serial: B[index % countB]), then A's and
 * B's transform parameters.
 */
export function planItem(index: number, countB: number, rng: Rng, serial: boolean): ItemPlan {
  const indexB = serial ? index % countB : rng.int(countB);
  const paramsA = getParams(rng);
  const paramsB = getParams(rng);
  return { index, indexB, paramsA, paramsB };
}
