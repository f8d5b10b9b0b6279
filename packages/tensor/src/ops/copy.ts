/**
 * In-place copies into an existing tensor, as PyTorch's `Tensor.copy_`: how a
 * parameter gets initial or loaded values and optimizer state is restored
 * without a new tensor, so every reference to it stays valid.
 */
import { rt } from '@stripes/kernels';
import { fmt, sameShape } from '../shape.ts';
import { addMethods, type Tensor } from '../tensor.ts';

/**
 * Overwrites `target`'s values with `source`'s and returns `target`: a tensor
 * of the same shape (copied on the device), or host values (row-major, one
 * per element). Both take effect in order with queued work: ops encoded
 * before still read the old values, later ones the new. Not recorded by
 * autograd, as under torch.no_grad(): do not overwrite a tensor that a graph
 * still has to backpropagate through.
 */
export function copy_(target: Tensor, source: Tensor | Float32Array): Tensor {
  target.assertAlive('copy_');
  if (source instanceof Float32Array) {
    if (source.length !== target.size) {
      throw new Error(`copy_: host data holds ${source.length} values for a target of shape ${fmt(target.shape)} (${target.size} elements)`);
    }
    // The runtime submits encoded work that uses the target before the upload (which would otherwise run ahead of it).
    if (target.size) rt().write(target.buffer, source);
    return target;
  }
  source.assertAlive('copy_');
  if (!sameShape(source.shape, target.shape)) {
    throw new Error(`copy_: source of shape ${fmt(source.shape)} does not match the target's shape ${fmt(target.shape)}`);
  }
  // A tensor (or view) onto the target's own storage already holds the values.
  if (target.size && source.buffer !== target.buffer) rt().copy(source.buffer, 0, target.buffer, 0, target.size * 4);
  return target;
}

declare module '../tensor.ts' {
  interface Tensor {
    /** Overwrites this tensor's values with `source`'s (a tensor of the same shape, or host values) in place; returns this tensor. See `copy_`. */
    copy_(source: Tensor | Float32Array): Tensor;
  }
}

addMethods({
  copy_(source) { return copy_(this, source); },
});
