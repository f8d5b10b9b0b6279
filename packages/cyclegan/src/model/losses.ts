/** The CycleGAN objective's terms, as the reference code defines them. */
import { l1Loss, mseLoss, type Tensor } from '@stripes/tensor';

/** The GAN objectives implemented (the CLI's `--gan_mode` choices). */
export const GAN_MODES = ['lsgan', 'vanilla'] as const;
export type GanMode = (typeof GAN_MODES)[number];

/**
 * GAN loss of a discriminator's patch predictions against an all-real or
 * all-fake target. `lsgan`: mean squared error to the label 1 or 0
 * (MSELoss), a number target, so no label tensor is filled.
 * `vanilla`: binary cross-entropy on logits (BCEWithLogitsLoss), written as
 * relu(x) - x*t + log(1 + exp(-|x|)) so large |x| never overflows.
 */
export function ganLoss(prediction: Tensor, targetIsReal: boolean, mode: GanMode): Tensor {
  if (mode === 'lsgan') {
    return mseLoss(prediction, targetIsReal ? 1 : 0);
  }
  const softplusNegAbs = prediction.abs().neg().exp().add(1).log();
  const hinge = targetIsReal ? prediction.relu().sub(prediction) : prediction.relu();
  return hinge.add(softplusNegAbs).mean();
}

/** Mean absolute difference (L1Loss), the cycle and identity terms. */
export function l1(a: Tensor, b: Tensor): Tensor {
  return l1Loss(a, b);
}
