/** Padding of the last two dims (constant, reflect, replicate), as torch.nn.functional.pad with 4 pads. */
import { pad as encodePad, padBackward, padOutputSize, rt, type Pad2d, type PadArgs, type PadMode } from '@stripes/kernels';
import { record } from '../autograd.ts';
import { fmt } from '../shape.ts';
import { Tensor } from '../tensor.ts';

export type { PadMode };

function padOp(op: string, x: Tensor, padding: readonly number[], mode: PadMode, value: number): Tensor {
  x.assertAlive(op);
  if (x.rank < 2) throw new Error(`${op}: expected an input of rank >= 2 (padding its last two dims), got shape ${fmt(x.shape)}`);
  if (padding.length !== 4 || !padding.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new Error(`${op}: padding must be 4 non-negative integers [left, right, top, bottom], got [${padding.join(', ')}] for input ${fmt(x.shape)}`);
  }
  if (!['constant', 'reflect', 'replicate'].includes(mode)) throw new Error(`${op}: unknown mode '${mode}'`);
  const pad: Pad2d = [padding[0], padding[1], padding[2], padding[3]];
  const h = x.shape[x.rank - 2];
  const w = x.shape[x.rank - 1];
  if (mode === 'reflect' && (pad[0] >= w || pad[1] >= w || pad[2] >= h || pad[3] >= h)) {
    throw new Error(
      `${op}: reflection padding [${pad.join(', ')}] must be smaller than the padded dims (H ${h}, W ${w}) of input ${fmt(x.shape)}`,
    );
  }
  if (mode === 'replicate' && h * w === 0) throw new Error(`${op}: cannot replicate the edges of an empty input ${fmt(x.shape)}`);
  const args: PadArgs = { planes: x.shape.slice(0, -2).reduce((a, b) => a * b, 1), h, w, pad };
  const y = Tensor.empty([...x.shape.slice(0, -2), ...padOutputSize(args)]);
  // The kernels index by row length: skip them when there is nothing to write.
  if (y.size > 0) encodePad(rt(), mode, x.buffer, y.buffer, args, value);
  record(op, y, [x], [], (g) => {
    const gx = Tensor.empty(x.shape);
    if (x.size > 0) padBackward(rt(), mode, g.buffer, gx.buffer, args);
    return [gx];
  });
  return y;
}

/**
 * Pads the last two dims by [left, right, top, bottom]. 'reflect' mirrors
 * without repeating the edge and needs each pad smaller than its dim (PyTorch's
 * rule); 'replicate' repeats the edge; 'constant' fills with `value`.
 */
export function pad(x: Tensor, padding: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  return padOp('pad', x, padding, mode, value);
}

/** torch.nn.ReflectionPad2d on a CHW or NCHW input; `padding` is one size for all sides or [left, right, top, bottom]. */
export function reflectionPad2d(x: Tensor, padding: number | readonly number[]): Tensor {
  x.assertAlive('reflectionPad2d');
  if (x.rank !== 3 && x.rank !== 4) throw new Error(`reflectionPad2d: expected a CHW or NCHW input (rank 3 or 4), got shape ${fmt(x.shape)}`);
  const p = typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
  return padOp('reflectionPad2d', x, p, 'reflect', 0);
}
