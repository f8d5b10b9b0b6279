/** Instance normalization over each (n, c) plane of NCHW, with optional affine and a fused activation. */
import { instanceNorm2d as instanceNorm2dForward, instanceNorm2dBackward, rt, type InstanceNorm2dArgs } from '@stripes/kernels';
import { gradIfNeeded, record } from '../autograd.ts';
import { fmt, sameShape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { reshape } from './reshape.ts';
import { sum } from './reduce.ts';
import { slice } from './slice.ts';

export type NormActivation = 'none' | 'relu' | 'leakyRelu';

export interface InstanceNormOptions {
  /** Added to the biased variance (default 1e-5, as PyTorch). */
  eps?: number;
  /** Per-channel scale, shape [C]. */
  weight?: Tensor;
  /** Per-channel shift, shape [C]. */
  bias?: Tensor;
  /** Applied inside the kernel, after the affine map; its derivative inside the backward kernel. */
  activation?: NormActivation;
  /** Negative slope for 'leakyRelu' (PyTorch's default 0.01). */
  slope?: number;
  /** Added to the output (after the activation), same shape as x: a ResNet block's `x + norm(...)` in the same kernel. */
  residual?: Tensor;
}

/**
 * y = act((x - mean) / sqrt(var + eps) * weight + bias) (+ residual) with
 * mean and biased variance over H, W of each sample and channel
 * (torch.nn.functional.instance_norm, no running stats). The backward is
 * exact through mean and variance.
 */
export function instanceNorm2d(x: Tensor, options: InstanceNormOptions = {}): Tensor {
  const { eps = 1e-5, weight, bias, activation = 'none', slope = 0.01, residual } = options;
  const op = `instanceNorm2d${activation === 'none' ? '' : `+${activation}`}${residual ? '+residual' : ''}`;
  x.assertAlive(op);
  residual?.assertAlive(op);
  if (x.rank !== 4) throw new Error(`instanceNorm2d: expected an NCHW input of rank 4, got shape ${fmt(x.shape)}`);
  if (residual && !sameShape(residual.shape, x.shape)) {
    throw new Error(`instanceNorm2d: residual of shape ${fmt(residual.shape)} does not match input ${fmt(x.shape)}`);
  }
  const [n, c, h, w] = x.shape;
  if (h * w < 2) throw new Error(`instanceNorm2d: expected more than 1 spatial element per plane, got input of shape ${fmt(x.shape)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (!t) continue;
    t.assertAlive(op);
    if (t.rank !== 1 || t.shape[0] !== c) {
      throw new Error(`instanceNorm2d: ${name} of shape ${fmt(t.shape)} does not match the ${c} channels of input ${fmt(x.shape)} (expected [${c}])`);
    }
  }
  if (!(eps > 0)) throw new Error(`instanceNorm2d: eps must be positive, got ${eps}`);
  if (!['none', 'relu', 'leakyRelu'].includes(activation)) throw new Error(`instanceNorm2d: unknown activation '${activation}'`);
  const args: InstanceNorm2dArgs = {
    planes: n * c,
    channels: c,
    size: h * w,
    eps,
    slope: activation === 'none' ? 1 : activation === 'relu' ? 0 : slope,
  };

  const y = Tensor.empty(x.shape);
  // Per-plane (mean, 1/std): the only thing the backward needs besides its inputs.
  const stats = Tensor.empty([n, c, 2]);
  instanceNorm2dForward(rt(), x.buffer, weight?.buffer ?? null, bias?.buffer ?? null, y.buffer, stats.buffer, args, residual?.buffer ?? null);

  const normInputs = [x, weight, bias].filter((t): t is Tensor => t !== undefined);
  const inputs = residual ? [...normInputs, residual] : normInputs;
  record(op, y, inputs, [stats, ...normInputs], (g, [ss, xs, ...affine]) => {
    const ws = weight ? affine[0] : undefined;
    const bs = bias ? affine[affine.length - 1] : undefined;
    const gx = Tensor.empty(x.shape);
    // Rows: Σ g·x̂ then Σ g per plane (g taken after the activation's derivative).
    const sums = Tensor.empty([2, n, c]);
    instanceNorm2dBackward(rt(), xs.buffer, g.buffer, ss.buffer, ws?.buffer ?? null, bs?.buffer ?? null, gx.buffer, sums.buffer, args);
    const grads: Array<Tensor | null> = [gradIfNeeded(x, () => gx)];
    if (weight || bias) {
      const perChannel = sum(sums, 1);
      if (weight) grads.push(gradIfNeeded(weight, () => reshape(slice(perChannel, 0, 0, 1), [c])));
      if (bias) grads.push(gradIfNeeded(bias, () => reshape(slice(perChannel, 0, 1, 2), [c])));
    }
    // The residual's gradient is the output's, as through an add.
    if (residual) grads.push(gradIfNeeded(residual, () => g));
    return grads;
  });
  stats.dispose();
  return y;
}
