/**
 * Overwriting an existing tensor's values in place: how parameters get their
 * initial or loaded values and optimizer state gets restored, without new
 * tensors (so references held by layers and optimizers stay valid).
 */
import { fmt, sameShape, Tensor } from '@stripes/tensor';
import type { TensorEntry } from './safetensors.ts';

/**
 * Copies `source` (a tensor, or host values with a shape) into `target`,
 * whose shape it must have, with tensor's `copy_`: in order with queued work.
 */
export function assign(target: Tensor, source: Tensor | TensorEntry): void {
  if (!sameShape(target.shape, source.shape)) {
    throw new Error(`assign: source of shape ${fmt(source.shape)} does not match the target's shape ${fmt(target.shape)}`);
  }
  if (source instanceof Tensor) {
    target.copy_(source);
    return;
  }
  if (source.data.length !== target.size) {
    throw new Error(`assign: host data holds ${source.data.length} values for shape ${fmt(source.shape)}`);
  }
  target.copy_(source.data);
}
