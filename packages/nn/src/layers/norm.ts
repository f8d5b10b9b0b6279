/** InstanceNorm2d, as CycleGAN uses it: per-sample, per-channel statistics, no running averages. */
import { fmt, instanceNorm2d, ones, zeros, type InstanceNormOptions, type Tensor } from '@stripes/tensor';
import { Module } from '../module.ts';

export interface InstanceNorm2dOptions {
  /** Added to the (biased) variance; default 1e-5. */
  eps?: number;
  /** Learn a per-channel scale `weight` (init 1) and shift `bias` (init 0); default false, as PyTorch and CycleGAN. */
  affine?: boolean;
  /** Not supported: normalization always uses the current input's statistics. */
  trackRunningStats?: boolean;
}

/** Normalizes each (sample, channel) plane of NCHW input to zero mean and unit variance. */
export class InstanceNorm2d extends Module {
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(
    readonly numFeatures: number,
    options: InstanceNorm2dOptions = {},
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`InstanceNorm2d: numFeatures must be a positive integer, got ${numFeatures}`);
    if (options.trackRunningStats) {
      throw new Error('InstanceNorm2d: trackRunningStats is not supported; instance statistics are always computed from the input (CycleGAN does not track them)');
    }
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? false;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : null;
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithActivation(x, {});
  }

  /** Normalizes and applies an activation (and adds a residual) in the same kernel (what `Sequential` uses for IN + ReLU, and for a ResNet block's sum). */
  forwardWithActivation(x: Tensor, act: Pick<InstanceNormOptions, 'activation' | 'slope' | 'residual'>): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) {
      throw new Error(`InstanceNorm2d: expected input [N, ${this.numFeatures}, H, W], got ${fmt(x.shape)}`);
    }
    return instanceNorm2d(x, { eps: this.eps, weight: this.weight ?? undefined, bias: this.bias ?? undefined, ...act });
  }
}
