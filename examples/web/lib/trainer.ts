/**
 * The bundled mini horse2zebra demo trained in memory: the CLI demo's data
 * (the same scenes `generateMiniZebra` writes, rendered on demand), its
 * model settings and its schedule, stepped one iteration at a time so a page
 * can draw progress between steps. Host-free: the page and Node run it alike.
 */
import {
  applyTransform, CycleGAN, dataRng, epochOrder, modelOptionsOf, planItem, readLosses, visualsGrid,
  type CycleGANLosses, type CycleGANVisuals, type ImageU8, type TransformOptions,
} from '@stripes/cyclegan';
import { DEFAULT_COUNTS, DEFAULT_SIZE, DEMO_OPTIONS, renderEntry, type Split } from '@stripes/cyclegan/demo';
import { tensor, throttle, tidy, type Rng } from '@stripes/tensor';

/** `npm run demo`'s settings: the data set's default size (DEFAULT_SIZE, 48 px) and training images (200 per domain), DEMO_OPTIONS' model and schedule. */
export const DEMO = {
  size: DEFAULT_SIZE,
  images: { A: DEFAULT_COUNTS.trainA, B: DEFAULT_COUNTS.trainB },
  model: modelOptionsOf(DEMO_OPTIONS),
} as const;

/** The demo trains on its images as they are, with random flips (`--preprocess none`). */
const TRANSFORM: TransformOptions = { preprocess: 'none', loadSize: DEMO.size, cropSize: DEMO.size, noFlip: false, channels: 3 };

/** What one step reports; losses and the grid only when asked for (each costs a readback). */
export interface DemoStep {
  /** Iterations done, including this one. */
  iteration: number;
  epoch: number;
  lr: number;
  losses: CycleGANLosses | null;
  /** realA | fakeB | recA | realB | fakeA | recB of this step. */
  grid: ImageU8 | null;
}

export class DemoTrainer {
  readonly model: CycleGAN;
  readonly totalIterations: number;
  readonly totalEpochs: number;
  /** Iterations per epoch: max(|A|, |B|), as the CLI's data set. */
  readonly epochSize = Math.max(DEMO.images.A, DEMO.images.B);
  /** Iterations done. */
  iteration = 0;
  private readonly rng: Rng;
  private readonly scenes = new Map<string, ImageU8>();
  private order: Uint32Array = new Uint32Array(0);

  constructor() {
    this.model = new CycleGAN(DEMO.model);
    this.totalEpochs = DEMO.model.nEpochs + DEMO.model.nEpochsDecay;
    this.totalIterations = this.totalEpochs * this.epochSize;
    this.rng = dataRng(DEMO.model.seed);
  }

  get epoch(): number {
    return DEMO.model.epochCount + Math.floor(this.iteration / this.epochSize);
  }

  get done(): boolean {
    return this.iteration >= this.totalIterations;
  }

  /**
   * One CycleGAN iteration on A[order[i] % |A|] and a random B, as the CLI's
   * data set and loader pair them (items shuffled each epoch); the learning
   * rate decays at the end of each epoch. Awaits `throttle()` so the CPU
   * stays near the GPU.
   */
  async step(want: { losses: boolean; grid: boolean }): Promise<DemoStep> {
    if (this.done) throw new Error(`DemoTrainer: all ${this.totalIterations} iterations are done`);
    const i = this.iteration % this.epochSize;
    if (i === 0) this.order = epochOrder(this.epochSize, this.rng, true);
    const plan = planItem(this.order[i], DEMO.images.B, this.rng, false);
    const a = applyTransform(this.scene('trainA', plan.index % DEMO.images.A), TRANSFORM, plan.paramsA);
    const b = applyTransform(this.scene('trainB', plan.indexB), TRANSFORM, plan.paramsB);
    const { losses, visuals } = tidy(() =>
      this.model.optimizeParameters(tensor(a.data, [1, 3, a.height, a.width]), tensor(b.data, [1, 3, b.height, b.width]), want.grid),
    );
    const epoch = this.epoch;
    const lr = this.model.optimizerG.paramGroups[0].lr;
    this.iteration++;
    await throttle();
    let read: CycleGANLosses | null = null;
    if (want.losses) read = await readLosses(losses);
    else for (const t of Object.values(losses)) t.dispose();
    const grid = visuals ? await sampleGrid(visuals) : null;
    if (this.iteration % this.epochSize === 0) this.model.updateLearningRate();
    return { iteration: this.iteration, epoch, lr, losses: read, grid };
  }

  dispose(): void {
    this.model.dispose();
  }

  /** A split's image `index`, rendered once. */
  private scene(split: Split, index: number): ImageU8 {
    const key = `${split}/${index}`;
    let img = this.scenes.get(key);
    if (!img) {
      img = renderEntry(DEMO.model.seed, DEMO.size, split, index).image;
      this.scenes.set(key, img);
    }
    return img;
  }
}

/** Reads one step's six images back as the CLI's sample grid (order and pixels); disposes them. */
async function sampleGrid(visuals: CycleGANVisuals): Promise<ImageU8> {
  try {
    return await visualsGrid(visuals);
  } finally {
    for (const t of Object.values(visuals)) t.dispose();
  }
}

/** How often the shared loop reads losses and samples back: the first step at once, so the page shows something soon. */
export const LOSS_EVERY = 5;
export const GRID_EVERY = 50;

export interface TrainLoopHooks {
  /** Checked before each step; true stops the loop (the trainer keeps its state and can go on). */
  shouldStop: () => boolean;
  onStep: (step: DemoStep, itPerSec: number) => void;
}

/** Steps until the schedule ends or `shouldStop`; reports it/s over the last 20 steps. */
export async function trainLoop(trainer: DemoTrainer, hooks: TrainLoopHooks): Promise<void> {
  const times: number[] = [performance.now()];
  while (!trainer.done && !hooks.shouldStop()) {
    const next = trainer.iteration + 1;
    const step = await trainer.step({ losses: next === 1 || next % LOSS_EVERY === 0, grid: next === 1 || next % GRID_EVERY === 0 });
    times.push(performance.now());
    if (times.length > 21) times.shift();
    hooks.onStep(step, ((times.length - 1) * 1000) / (times[times.length - 1] - times[0]));
  }
}
