/** The CycleGAN objective's terms, as the reference code defines them. */
import type { Tensor } from '@stripes/tensor';

/** The GAN objectives implemented (the CLI's `--gan_mode` choices). */
export const GAN_MODES = ['lsgan', 'vanilla'] as const;
export type GanMode = (typeof GAN_MODES)[number];

/**
 * GAN loss of a discriminator's patch predictions against an all-real or
 * all-fake target. `lsgan`: mean squared error to 1 or 0 (MSELoss).
 * `vanilla`: binary cross-entropy on logits (BCEWithLogitsLoss), written as
 * relu(x) - x*t + log(1 + exp(-|x|)) so large |x| never overflows.
 */
export function ganLoss(prediction: Tensor, targetIsReal: boolean, mode: GanMode): Tensor {
  if (mode === 'lsgan') {
    return (targetIsReal ? prediction.sub(1) : prediction).pow(2).mean();
  }
  const softplusNegAbs = prediction.abs().neg().exp().add(1).log();
  const hinge = targetIsReal ? prediction.relu().sub(prediction) : prediction.relu();
  return hinge.add(softplusNegAbs).mean();
}

/** Mean absolute difference, the cycle and identity terms. */
export function l1(a: Tensor, b: Tensor): Tensor {
  return a.sub(b).abs().mean();
}
