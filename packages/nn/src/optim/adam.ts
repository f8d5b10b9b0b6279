/** Adam, with PyTorch's exact update and L2 weight decay (added to the gradient, not decoupled as AdamW). */
import { adam_ } from '@stripes/tensor';
import { Optimizer, type OptimizerParams, type ParamUpdate } from './optimizer.ts';

export type AdamOptions = {
  /** Default 1e-3 (CycleGAN: 2e-4). */
  lr: number;
  /** Decay rates of the first and second moment estimates; default [0.9, 0.999] (CycleGAN: [0.5, 0.999]). */
  betas: readonly [number, number];
  /** Added to the denominator; default 1e-8. */
  eps: number;
  /** L2 penalty: weightDecay * param is added to the gradient; default 0. */
  weightDecay: number;
};

/**
 * Adam (Kingma & Ba), as torch.optim.Adam without amsgrad: per step t,
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   param -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * State per parameter: `exp_avg` (m), `exp_avg_sq` (v) and the step count.
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: OptimizerParams<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }, options);
  }

  protected checkHyperparameters({ lr, betas, eps, weightDecay }: AdamOptions): void {
    if (!(lr >= 0)) throw new Error(`Adam: invalid lr ${lr} (must be >= 0)`);
    if (!(eps >= 0)) throw new Error(`Adam: invalid eps ${eps} (must be >= 0)`);
    if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => b >= 0 && b < 1)) {
      throw new Error(`Adam: invalid betas ${JSON.stringify(betas)} (two numbers in [0, 1))`);
    }
    if (!(weightDecay >= 0)) throw new Error(`Adam: invalid weightDecay ${weightDecay} (must be >= 0)`);
  }

  protected stateBufferNames(): readonly string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  /**
   * One `adam_` per distinct step count in the group (the bias corrections
   * depend on it; parameters skipped on some steps, or restored from a
   * state dict, can lag): usually a single call for the whole group.
   */
  protected updateGroup(updates: readonly ParamUpdate[], h: AdamOptions): void {
    const [beta1, beta2] = h.betas;
    const bySteps = new Map<number, ParamUpdate[]>();
    for (const u of updates) {
      const same = bySteps.get(u.state.step);
      if (same) same.push(u);
      else bySteps.set(u.state.step, [u]);
    }
    for (const [step, same] of bySteps) {
      adam_(
        same.map((u) => u.param),
        same.map((u) => u.grad),
        same.map((u) => this.stateBuffer(u.state, 'exp_avg', u.param)),
        same.map((u) => this.stateBuffer(u.state, 'exp_avg_sq', u.param)),
        {
          beta1,
          beta2,
          eps: h.eps,
          weightDecay: h.weightDecay,
          stepSize: h.lr / (1 - beta1 ** step),
          biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** step),
        },
      );
    }
  }
}
