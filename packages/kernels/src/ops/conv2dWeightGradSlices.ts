import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/**
 * The second pass of a weight gradient split into row slices: gw[i] = the
 * sum over slices s of partial[s][i], and in the same dispatch gb[j] = the
 * sum of biasPartial[s][j] (its bias gradient's slices), each added to what
 * the output holds with its `accumulate` flag. Slices are summed in order
 * from zero, as the short reduction sums them: one dispatch where two
 * reductions cost two (on lavapipe a dispatch costs ~60 us however small).
 */
export const conv2dWeightGradSlicesKernel = defineKernel({
  name: 'conv2dWeightGradSlices',
  params: { splits: 'u32', weights: 'u32', biases: 'u32', accumulateWeights: 'u32', accumulateBias: 'u32' },
  bindings: { partial: 'read', biasPartial: 'read', gw: 'read_write', gb: 'read_write' },
  source: () => wgslElementwiseMain(`
  let weights = p.weights;
  if (i < weights) {
    var acc = 0.0;
    for (var s = 0u; s < p.splits; s++) { acc = acc + partial[s * weights + i]; }
    gw[i] = select(acc, gw[i] + acc, p.accumulateWeights != 0u);
  } else {
    let j = i - weights;
    var acc = 0.0;
    for (var s = 0u; s < p.splits; s++) { acc = acc + biasPartial[s * p.biases + j]; }
    gb[j] = select(acc, gb[j] + acc, p.accumulateBias != 0u);
  }`, 'p.weights + p.biases'),
});

/** One sum's slices: `partial` holds `splits` slices of `count` values, summed into (or, with `accumulate`, onto) `out`. */
export interface SlicedSum {
  partial: DeviceBuffer;
  out: DeviceBuffer;
  count: number;
  accumulate: boolean;
}

/** Encodes the weight's and the bias's slice sums of a split weight gradient in one dispatch. */
export function conv2dWeightGradSlices(rt: Runtime, splits: number, weight: SlicedSum, bias: SlicedSum): void {
  const params = {
    splits, weights: weight.count, biases: bias.count, accumulateWeights: weight.accumulate ? 1 : 0, accumulateBias: bias.accumulate ? 1 : 0,
  };
  const bindings = { partial: weight.partial, biasPartial: bias.partial, gw: weight.out, gb: bias.out };
  rt.dispatch(conv2dWeightGradSlicesKernel, {}, bindings, params, gridFor(weight.count + bias.count, 256));
}
