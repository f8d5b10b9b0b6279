/** Stochastic gradient descent with momentum, as torch.optim.SGD. */
import { sgd_ } from '@stripes/tensor';
import { Optimizer, type OptimizerParams, type ParamUpdate } from './optimizer.ts';

export type SgdOptions = {
  lr: number;
  /** Default 0 (plain SGD, no state). */
  momentum: number;
  /** Scales the gradient's share of the velocity by (1 - dampening) after the first step; default 0. */
  dampening: number;
  /** L2 penalty: weightDecay * param is added to the gradient; default 0. */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0); default false. */
  nesterov: boolean;
};

/**
 * Per step, with d = g + weightDecay * param:
 *   buf = d on the first step, then momentum * buf + (1 - dampening) * d;
 *   param -= lr * (nesterov ? d + momentum * buf : buf)   (with momentum 0: lr * d).
 * State per parameter when momentum > 0: `momentum_buffer`.
 */
export class SGD extends Optimizer<SgdOptions> {
  constructor(params: OptimizerParams<SgdOptions>, options: Partial<SgdOptions> & { lr: number }) {
    super(params, { lr: options.lr, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, options);
  }

  protected checkHyperparameters({ lr, momentum, dampening, weightDecay, nesterov }: SgdOptions): void {
    if (!(lr >= 0)) throw new Error(`SGD: invalid lr ${lr} (must be >= 0)`);
    if (!(momentum >= 0)) throw new Error(`SGD: invalid momentum ${momentum} (must be >= 0)`);
    if (!(weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay ${weightDecay} (must be >= 0)`);
    if (!Number.isFinite(dampening)) throw new Error(`SGD: invalid dampening ${dampening}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('SGD: nesterov momentum needs momentum > 0 and dampening 0');
  }

  protected stateBufferNames(h: SgdOptions): readonly string[] {
    return h.momentum === 0 ? [] : ['momentum_buffer'];
  }

  /** One `sgd_` per parameter: its first step (`fresh`) differs from the others'. */
  protected updateGroup(updates: readonly ParamUpdate[], h: SgdOptions): void {
    const scalars = { lr: h.lr, momentum: h.momentum, dampening: h.dampening, weightDecay: h.weightDecay, nesterov: h.nesterov };
    for (const { param, grad, state } of updates) {
      if (h.momentum === 0) {
        sgd_(param, grad, null, { ...scalars, fresh: true });
        continue;
      }
      // Read before stateBuffer creates it: the first step starts the velocity at the gradient.
      const fresh = !state.buffers.has('momentum_buffer');
      sgd_(param, grad, this.stateBuffer(state, 'momentum_buffer', param), { ...scalars, fresh });
    }
  }
}
