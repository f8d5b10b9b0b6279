/**
 * Learning-rate schedules, stepped once per epoch as torch.optim.lr_scheduler:
 * construction sets each group's lr for epoch 0, and each `step()` advances
 * `lastEpoch` and sets lr = lrAt(baseLr, lastEpoch) from the closed form, so
 * a restored schedule continues exactly.
 */

/** What a schedule drives: any optimizer (its groups' mutable `lr`). */
export interface HasParamGroups {
  readonly paramGroups: ReadonlyArray<{ lr: number }>;
}

/** A schedule's state, JSON as it is. */
export type SchedulerState = { lastEpoch: number; baseLrs: number[] };

/** The lr of a group that started at `baseLr`, after `epoch` steps. */
export type LRRule = (baseLr: number, epoch: number) => number;

export class LRScheduler {
  /** Epochs stepped so far (PyTorch's `last_epoch`). */
  lastEpoch = 0;
  /** Each group's lr when the schedule was created (or as restored). */
  baseLrs: number[];

  constructor(
    readonly optimizer: HasParamGroups,
    readonly lrAt: LRRule,
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  /** Advances one epoch and updates the optimizer's lr. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  /** The lr of each group as last set. */
  get lastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  private apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.lrAt(this.baseLrs[i], this.lastEpoch)));
  }

  stateDict(): SchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Restores the epoch and base rates, and sets the optimizer's lr to match. */
  loadStateDict(state: SchedulerState): void {
    const { lastEpoch, baseLrs } = state;
    if (!Number.isInteger(lastEpoch) || lastEpoch < 0) throw new Error(`${this.constructor.name}.loadStateDict: invalid lastEpoch ${JSON.stringify(lastEpoch)}`);
    if (!Array.isArray(baseLrs) || baseLrs.length !== this.optimizer.paramGroups.length || !baseLrs.every((lr) => typeof lr === 'number')) {
      throw new Error(`${this.constructor.name}.loadStateDict: baseLrs ${JSON.stringify(baseLrs)} does not hold one number per parameter group (${this.optimizer.paramGroups.length})`);
    }
    this.lastEpoch = lastEpoch;
    this.baseLrs = [...baseLrs];
    this.apply();
  }
}

function checkCount(schedule: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${schedule}: ${name} must be an integer >= ${min}, got ${v}`);
}

/** lr = baseLr * factor(epoch), as torch's LambdaLR. */
export class LambdaLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, factor: (epoch: number) => number) {
    super(optimizer, (baseLr, epoch) => baseLr * factor(epoch));
  }
}

export interface LinearDecayOptions {
  /** Epochs at the initial rate (CycleGAN's --n_epochs, 100). */
  nEpochs: number;
  /** Epochs of linear decay towards zero that follow (--n_epochs_decay, 100). */
  nEpochsDecay: number;
  /** The first epoch's number (--epoch_count, default 1). */
  epochCount?: number;
}

/**
 * CycleGAN's rule (networks.get_scheduler, policy 'linear', a LambdaLR):
 *   lr = baseLr * (1 - max(0, epoch + epochCount - nEpochs) / (nEpochsDecay + 1)),
 * stepped once per epoch.
 */
export class LinearDecayLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, { nEpochs, nEpochsDecay, epochCount = 1 }: LinearDecayOptions) {
    checkCount('LinearDecayLR', 'nEpochs', nEpochs, 0);
    checkCount('LinearDecayLR', 'nEpochsDecay', nEpochsDecay, 0);
    checkCount('LinearDecayLR', 'epochCount', epochCount, 0);
    super(optimizer, (baseLr, epoch) => baseLr * (1 - Math.max(0, epoch + epochCount - nEpochs) / (nEpochsDecay + 1)));
  }
}

export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Factor per decay; default 0.1. */
  gamma?: number;
}

/** lr = baseLr * gamma^floor(epoch / stepSize), as torch's StepLR. */
export class StepLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, { stepSize, gamma = 0.1 }: StepLROptions) {
    checkCount('StepLR', 'stepSize', stepSize, 1);
    super(optimizer, (baseLr, epoch) => baseLr * gamma ** Math.floor(epoch / stepSize));
  }
}

export interface CosineAnnealingOptions {
  /** Epochs from baseLr down to etaMin (half a cosine period). */
  tMax: number;
  /** The lowest lr; default 0. */
  etaMin?: number;
}

/** lr = etaMin + (baseLr - etaMin) * (1 + cos(pi * epoch / tMax)) / 2, torch's CosineAnnealingLR in closed form. */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, { tMax, etaMin = 0 }: CosineAnnealingOptions) {
    checkCount('CosineAnnealingLR', 'tMax', tMax, 1);
    super(optimizer, (baseLr, epoch) => etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2);
  }
}
