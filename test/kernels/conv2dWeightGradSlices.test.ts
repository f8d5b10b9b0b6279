// conv2dWeightGradSlices: a split weight gradient's slices of gw and of the bias gradient summed in one dispatch.
import { describe, expect, it } from 'vitest';
import { conv2dWeightGradSlices, rt } from '@stripes/kernels';
import { Rng } from '@stripes/tensor';
import { download, upload } from '../helpers/buffers.ts';

/** The sum over slices of [splits, count], in slice order from zero, in f32 (plus `held` when accumulating). */
function sliceSums(partial: Float32Array, splits: number, count: number, held: Float32Array | null): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => {
    let acc = 0;
    for (let s = 0; s < splits; s++) acc = Math.fround(acc + partial[s * count + i]);
    return held ? Math.fround(held[i] + acc) : acc;
  });
}

describe('conv2dWeightGradSlices', () => {
  it.each([
    ['overwriting both', 3, 600, 17, false, false],
    ['accumulating the weights only', 2, 300, 5, true, false],
    ['accumulating both', 5, 1000, 64, true, true],
  ])('sums the slices of gw and gb (%s)', async (_, splits, weights, biases, accumulateWeights, accumulateBias) => {
    const rng = new Rng(splits * 1000 + weights);
    const [partial, biasPartial] = [weights, biases].map((n) => rng.fillNormal(new Float32Array(splits * n)));
    const [heldW, heldB] = [weights, biases].map((n) => rng.fillNormal(new Float32Array(n)));
    const buffers = [partial, biasPartial, heldW, heldB].map(upload);
    const [pb, bpb, gw, gb] = buffers;
    conv2dWeightGradSlices(
      rt(), splits, { partial: pb, out: gw, count: weights, accumulate: accumulateWeights }, { partial: bpb, out: gb, count: biases, accumulate: accumulateBias },
    );
    expect(await download(gw, weights)).toEqual(sliceSums(partial, splits, weights, accumulateWeights ? heldW : null));
    expect(await download(gb, biases)).toEqual(sliceSums(biasPartial, splits, biases, accumulateBias ? heldB : null));
    for (const b of buffers) rt().release(b);
  });
});
