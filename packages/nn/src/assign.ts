/**
 * Overwriting an existing tensor's values in place: how parameters get their
 * initial or loaded values and optimizer state gets restored, without new
 * tensors (so references held by layers and optimizers stay valid).
 */
import { rt } from '@stripes/kernels';
import { fmt, sameShape, Tensor } from '@stripes/tensor';
import type { TensorEntry } from './safetensors.ts';

/**
 * Copies `source` (a tensor, or host values with a shape) into `target`,
 * whose shape it must have. GPU sources copy on the device, in order with
 * queued work.
 */
export function assign(target: Tensor, source: Tensor | TensorEntry): void {
  if (!sameShape(target.shape, source.shape)) {
    throw new Error(`assign: source of shape ${fmt(source.shape)} does not match the target's shape ${fmt(target.shape)}`);
  }
  if (target.size === 0) return;
  const runtime = rt();
  if (source instanceof Tensor) {
    // A tensor (or view) onto the target's own storage already holds the values.
    if (source.buffer === target.buffer) return;
    runtime.copy(source.buffer, 0, target.buffer, 0, target.size * 4);
  } else {
    if (source.data.length !== target.size) {
      throw new Error(`assign: host data holds ${source.data.length} values for shape ${fmt(source.shape)}`);
    }
    // queue.writeBuffer runs ahead of commands encoded but not yet submitted,
    // which may still read (or, for an optimizer step, write) the old values.
    runtime.flush();
    runtime.write(target.buffer, source.data);
  }
}
