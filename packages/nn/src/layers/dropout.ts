/** Dropout with a seeded mask drawn on the CPU, so a seed reproduces on every adapter. */
import { globalRng, mul, tensor, type Rng, type Tensor } from '@stripes/tensor';
import { Module } from '../module.ts';

export interface DropoutOptions {
  /** Generator for the masks; defaults to the global one (`manualSeed`). */
  rng?: Rng;
}

/**
 * In training, zeroes each element with probability p and scales the rest by
 * 1 / (1 - p) so the expected value is unchanged; in eval mode, returns its
 * input unchanged.
 */
export class Dropout extends Module {
  private readonly rng: Rng;

  constructor(
    readonly p = 0.5,
    options: DropoutOptions = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.rng = options.rng ?? globalRng;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    // p = 1 drops everything; 1 / (1 - p) would be infinite.
    const keptValue = this.p === 1 ? 0 : 1 / (1 - this.p);
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.random() < this.p ? 0 : keptValue;
    return mul(x, tensor(mask, x.shape));
  }
}
