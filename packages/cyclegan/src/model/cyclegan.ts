/**
 * The CycleGAN model and its training step, in the reference's order
 * (models/cycle_gan_model.py): forward both cycles; a generator step on
 * identity + GAN + cycle losses with the discriminators frozen; then both
 * discriminator steps on detached fakes drawn from the image pools.
 */
import { Adam, LinearDecayLR, type AnyModule, type OptimizerStateSource, type SchedulerState, type TensorEntry } from '@stripes/nn';
import { concat, fmt, keep, noGrad, pad, Rng, slice, stack, tidy, zeros, type Tensor } from '@stripes/tensor';
import { IMAGE_CHANNELS } from '../image/convert.ts';
import { TRAIN, TRAIN_IMPORT, TRAIN_TEST, withDefaults, type OptionInput, type OptionSpec, type OptionValues } from '../optionSpec.ts';
import { GAN_MODES, ganLoss, l1, type GanMode } from './losses.ts';
import { ImagePool, type ImagePoolJson } from './imagePool.ts';
import { initWeights, minimumImageSize, NLayerDiscriminator, ResnetGenerator } from './networks.ts';

/** Which domain a generator takes (`--direction`): G_A maps A to B, G_B maps B to A. */
export const DIRECTIONS = ['AtoB', 'BtoA'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface CycleGANOptions {
  inputNc?: number;
  outputNc?: number;
  ngf?: number;
  ndf?: number;
  /** Residual blocks in each generator (`--netG resnet_9blocks` = 9, `resnet_6blocks` = 6). */
  nBlocks?: number;
  /** Discriminator conv layers (`--n_layers_D`). */
  nLayersD?: number;
  dropout?: boolean;
  ganMode?: GanMode;
  lambdaA?: number;
  lambdaB?: number;
  lambdaIdentity?: number;
  poolSize?: number;
  lr?: number;
  beta1?: number;
  /** Epochs at the initial lr, then epochs of linear decay to zero. */
  nEpochs?: number;
  nEpochsDecay?: number;
  epochCount?: number;
  initGain?: number;
  /** Seeds weight init, dropout and the image pools. */
  seed?: number;
}

export type ResolvedCycleGANOptions = Required<CycleGANOptions>;

export const CYCLEGAN_DEFAULTS: ResolvedCycleGANOptions = {
  inputNc: 3, outputNc: 3, ngf: 64, ndf: 64, nBlocks: 9, nLayersD: 3, dropout: false, ganMode: 'lsgan',
  lambdaA: 10, lambdaB: 10, lambdaIdentity: 0.5, poolSize: 50, lr: 2e-4, beta1: 0.5,
  nEpochs: 100, nEpochsDecay: 100, epochCount: 1, initGain: 0.02, seed: 0,
};

/**
 * The model's command-line options (the reference's base_options.py model
 * part, train_options.py's optimizer and schedule, cycle_gan_model.py's
 * overrides); defaults are CYCLEGAN_DEFAULTS. `modelOptionsOf` maps netG,
 * netD and no_dropout to nBlocks, nLayersD and dropout.
 */
export const MODEL_OPTIONS = {
  input_nc: { type: 'int', commands: TRAIN_TEST, default: CYCLEGAN_DEFAULTS.inputNc, oneOf: IMAGE_CHANNELS, help: 'input image channels: 3 for RGB, 1 for grayscale' },
  output_nc: { type: 'int', commands: TRAIN_TEST, default: CYCLEGAN_DEFAULTS.outputNc, oneOf: IMAGE_CHANNELS, help: 'output image channels: 3 for RGB, 1 for grayscale' },
  ngf: { type: 'int', commands: TRAIN_TEST, default: CYCLEGAN_DEFAULTS.ngf, min: 1, help: 'generator filters in the last conv layer' },
  ndf: { type: 'int', commands: TRAIN, default: CYCLEGAN_DEFAULTS.ndf, min: 1, help: 'discriminator filters in the first conv layer' },
  netG: { type: 'choice', commands: TRAIN_TEST, default: 'resnet_9blocks', choices: ['resnet_9blocks', 'resnet_6blocks'], help: 'generator architecture' },
  netD: { type: 'choice', commands: TRAIN, default: 'basic', choices: ['basic', 'n_layers'], help: 'discriminator: basic = 70x70 PatchGAN, n_layers = PatchGAN with --n_layers_D layers' },
  n_layers_D: { type: 'int', commands: TRAIN, default: CYCLEGAN_DEFAULTS.nLayersD, min: 1, help: 'discriminator layers, used when --netD n_layers' },
  norm: { type: 'choice', commands: TRAIN_TEST, default: 'instance', choices: ['instance'], help: 'normalization layer (instance norm, no affine, no running stats)' },
  init_type: { type: 'choice', commands: TRAIN, default: 'normal', choices: ['normal'], help: 'weight initialization' },
  init_gain: { type: 'float', commands: TRAIN, default: CYCLEGAN_DEFAULTS.initGain, above: 0, help: 'standard deviation of the normal initialization' },
  no_dropout: { type: 'flag', commands: TRAIN_TEST, default: !CYCLEGAN_DEFAULTS.dropout, help: 'no dropout in the generator (on for CycleGAN; --no_dropout=false turns dropout on)' },
  seed: { type: 'int', commands: ['train', 'test', 'import'], default: CYCLEGAN_DEFAULTS.seed, min: 0, max: 0xffffffff, help: 'seed of weight init, data order, crops, flips and the image pools' },
  gan_mode: { type: 'choice', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.ganMode, choices: GAN_MODES, help: 'GAN objective: lsgan = least squares, vanilla = cross-entropy' },
  lambda_A: { type: 'float', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.lambdaA, min: 0, help: 'weight of the cycle loss A -> B -> A' },
  lambda_B: { type: 'float', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.lambdaB, min: 0, help: 'weight of the cycle loss B -> A -> B' },
  lambda_identity: { type: 'float', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.lambdaIdentity, min: 0, help: 'identity loss weight, as a fraction of lambda_A / lambda_B' },
  pool_size: { type: 'int', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.poolSize, min: 0, help: 'generated images kept for discriminator updates (0: no pool)' },
  lr: { type: 'float', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.lr, above: 0, help: 'initial Adam learning rate' },
  beta1: { type: 'float', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.beta1, min: 0, max: 0.999999, help: 'Adam momentum term' },
  lr_policy: { type: 'choice', commands: TRAIN, default: 'linear', choices: ['linear'], help: 'learning-rate schedule: constant for n_epochs, then linear decay to 0' },
  n_epochs: { type: 'int', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.nEpochs, min: 0, help: 'epochs at the initial learning rate' },
  n_epochs_decay: { type: 'int', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.nEpochsDecay, min: 0, help: 'epochs of linear decay to zero' },
  epoch_count: {
    type: 'int', commands: TRAIN_IMPORT, default: CYCLEGAN_DEFAULTS.epochCount, commandDefault: { import: null }, min: 1,
    help: 'number of the first epoch (with --continue_train: the epoch to start, from its beginning; default: where the checkpoint stopped)',
    commandHelp: { import: 'the epoch the imported run starts at [default: the one after --epoch; 1 for latest, whose epoch the reference does not record]' },
  },
} as const satisfies Record<string, OptionSpec>;

/** The model's options as `stripes-cyclegan train` parses them (`--netG resnet_6blocks`, `--no_dropout`). */
export type ModelCommandOptions = OptionValues<typeof MODEL_OPTIONS, 'train'>;

/** The model options of command-line values; options left out take the command line's defaults. */
export function modelOptionsOf(input: OptionInput<typeof MODEL_OPTIONS, 'train'>): ResolvedCycleGANOptions {
  const o = withDefaults(MODEL_OPTIONS, 'train', input);
  return {
    inputNc: o.inputNc, outputNc: o.outputNc, ngf: o.ngf, ndf: o.ndf,
    nBlocks: o.netG === 'resnet_6blocks' ? 6 : 9,
    nLayersD: o.netD === 'basic' ? 3 : o.nLayersD,
    dropout: !o.noDropout,
    ganMode: o.ganMode, lambdaA: o.lambdaA, lambdaB: o.lambdaB, lambdaIdentity: o.lambdaIdentity, poolSize: o.poolSize,
    lr: o.lr, beta1: o.beta1, nEpochs: o.nEpochs, nEpochsDecay: o.nEpochsDecay, epochCount: o.epochCount, initGain: o.initGain, seed: o.seed,
  };
}

/** Model options the command line spells otherwise (--netG, --netD with --n_layers_D, --no_dropout). */
const RESPELLED = new Set<string>(['nBlocks', 'nLayersD', 'dropout']);

/** The model options (keys of CycleGANOptions) that the command-line options `given` (camelCase names) set. */
export function givenModelOptions(o: Pick<ModelCommandOptions, 'netD'>, given: ReadonlySet<string>): Set<keyof CycleGANOptions> {
  const out = new Set((Object.keys(CYCLEGAN_DEFAULTS) as (keyof CycleGANOptions)[]).filter((k) => !RESPELLED.has(k) && given.has(k)));
  if (given.has('netG')) out.add('nBlocks');
  if (given.has('netD') || (given.has('nLayersD') && o.netD === 'n_layers')) out.add('nLayersD');
  if (given.has('noDropout')) out.add('dropout');
  return out;
}

/**
 * Model options that cannot work together, as the reference asserts at
 * startup; each message names the command-line options to change.
 */
export function modelOptionProblems(o: ResolvedCycleGANOptions): string[] {
  const problems: string[] = [];
  if (o.lambdaIdentity > 0 && o.inputNc !== o.outputNc) {
    problems.push(`--lambda_identity ${o.lambdaIdentity} needs --input_nc == --output_nc (got ${o.inputNc} and ${o.outputNc}); set --lambda_identity 0`);
  }
  const last = o.nEpochs + o.nEpochsDecay;
  if (o.epochCount > last) problems.push(`--epoch_count ${o.epochCount} is past the last epoch (n_epochs + n_epochs_decay = ${last})`);
  return problems;
}

/** Loss values of one step, as the reference names them. */
export type CycleGANLosses = {
  D_A: number; G_A: number; cycle_A: number; idt_A: number;
  D_B: number; G_B: number; cycle_B: number; idt_B: number;
};
export const LOSS_NAMES: ReadonlyArray<keyof CycleGANLosses> = ['D_A', 'G_A', 'cycle_A', 'idt_A', 'D_B', 'G_B', 'cycle_B', 'idt_B'];

/** Images of one step, for sample grids. */
export interface CycleGANVisuals {
  realA: Tensor; fakeB: Tensor; recA: Tensor;
  realB: Tensor; fakeA: Tensor; recB: Tensor;
}

/** The JSON half of the training state; weights, Adam moments and pooled images are tensors (`stateTensors`). */
export interface CycleGANTrainingState {
  optimizerG: OptimizerStateSource['json'];
  optimizerD: OptimizerStateSource['json'];
  schedulerG: SchedulerState;
  schedulerD: SchedulerState;
  poolA: ImagePoolJson;
  poolB: ImagePoolJson;
  dropoutRng: ReturnType<Rng['getState']>;
}

export class CycleGAN {
  readonly options: ResolvedCycleGANOptions;
  readonly netG_A: ResnetGenerator;
  readonly netG_B: ResnetGenerator;
  readonly netD_A: NLayerDiscriminator;
  readonly netD_B: NLayerDiscriminator;
  readonly optimizerG: Adam;
  readonly optimizerD: Adam;
  readonly schedulerG: LinearDecayLR;
  readonly schedulerD: LinearDecayLR;
  /** History of generated A images (for D_B) and B images (for D_A). */
  readonly fakeAPool: ImagePool;
  readonly fakeBPool: ImagePool;
  private readonly dropoutRng: Rng;

  constructor(options: CycleGANOptions = {}) {
    const o = (this.options = { ...CYCLEGAN_DEFAULTS, ...definedOnly(options) });
    const initRng = new Rng(o.seed);
    this.dropoutRng = new Rng(o.seed + 1);
    const gen = (inputNc: number, outputNc: number) =>
      new ResnetGenerator({ inputNc, outputNc, ngf: o.ngf, nBlocks: o.nBlocks, dropout: o.dropout, rng: this.dropoutRng });
    this.netG_A = gen(o.inputNc, o.outputNc);
    this.netG_B = gen(o.outputNc, o.inputNc);
    this.netD_A = new NLayerDiscriminator({ inputNc: o.outputNc, ndf: o.ndf, nLayers: o.nLayersD });
    this.netD_B = new NLayerDiscriminator({ inputNc: o.inputNc, ndf: o.ndf, nLayers: o.nLayersD });
    for (const net of this.networks()) initWeights(net, { gain: o.initGain, rng: initRng });
    const adam = (nets: AnyModule[]) => new Adam(nets.flatMap((n) => n.parameters()), { lr: o.lr, betas: [o.beta1, 0.999] });
    this.optimizerG = adam([this.netG_A, this.netG_B]);
    this.optimizerD = adam([this.netD_A, this.netD_B]);
    const decay = { nEpochs: o.nEpochs, nEpochsDecay: o.nEpochsDecay, epochCount: o.epochCount };
    this.schedulerG = new LinearDecayLR(this.optimizerG, decay);
    this.schedulerD = new LinearDecayLR(this.optimizerD, decay);
    this.fakeAPool = new ImagePool(o.poolSize, new Rng(o.seed + 2));
    this.fakeBPool = new ImagePool(o.poolSize, new Rng(o.seed + 3));
  }

  networks(): [ResnetGenerator, ResnetGenerator, NLayerDiscriminator, NLayerDiscriminator] {
    return [this.netG_A, this.netG_B, this.netD_A, this.netD_B];
  }

  /** The networks under the reference's checkpoint names. */
  namedNetworks(): Record<'G_A' | 'G_B' | 'D_A' | 'D_B', AnyModule> {
    return { G_A: this.netG_A, G_B: this.netG_B, D_A: this.netD_A, D_B: this.netD_B };
  }

  /**
   * One training iteration on a batch of A and B images [N, C, H, W].
   * Returns the loss tensors (scalars, kept: dispose them or read with
   * `readLosses`) and, when `withVisuals`, the six images (kept too).
   */
  optimizeParameters(realA: Tensor, realB: Tensor, withVisuals = false): { losses: Record<keyof CycleGANLosses, Tensor>; visuals: CycleGANVisuals | null } {
    const o = this.options;
    const min = minimumImageSize(o.nLayersD);
    for (const t of [realA, realB]) {
      if (t.rank !== 4 || t.shape[2] < min || t.shape[3] < min) {
        throw new Error(`CycleGAN.optimizeParameters: images must be [N, C, H, W] with H, W >= ${min} for a ${o.nLayersD}-layer PatchGAN, got ${fmt(t.shape)}`);
      }
    }
    return tidy(() => {
      // Generators, with the discriminators frozen: gradients pass through them but do not accumulate.
      this.netD_A.requireGrad(false);
      this.netD_B.requireGrad(false);
      this.optimizerG.zeroGrad();
      // Every layer is per-sample (conv, instance norm), so what one network
      // reads rides in one batch: G_A(realA) with the identity G_A(realB); G_B(realB)
      // with the identity G_B(realA) and the cycle G_B(fakeB). The values are the
      // reference's, with three generator passes instead of six; only G_A(fakeA) waits for G_B.
      const identity = o.lambdaIdentity > 0;
      const [fakeB, idtA = null] = this.batched(this.netG_A, identity ? [realA, realB] : [realA]);
      const [fakeA, recA, idtB = null] = this.batched(this.netG_B, identity ? [realB, fakeB, realA] : [realB, fakeB]);
      const recB = this.netG_A.call(fakeA);
      const idt_A = idtA ? l1(idtA, realB).mul(o.lambdaB * o.lambdaIdentity) : zeros([]);
      const idt_B = idtB ? l1(idtB, realA).mul(o.lambdaA * o.lambdaIdentity) : zeros([]);
      const G_A = ganLoss(this.netD_A.call(fakeB), true, o.ganMode);
      const G_B = ganLoss(this.netD_B.call(fakeA), true, o.ganMode);
      const cycle_A = l1(recA, realA).mul(o.lambdaA);
      const cycle_B = l1(recB, realB).mul(o.lambdaB);
      const lossG = G_A.add(G_B).add(cycle_A).add(cycle_B).add(idt_A).add(idt_B);
      lossG.backward();
      this.optimizerG.step();

      // Discriminators, on detached fakes from the pools.
      this.netD_A.requireGrad(true);
      this.netD_B.requireGrad(true);
      this.optimizerD.zeroGrad();
      const D_A = this.discriminatorLoss(this.netD_A, realB, this.fakeBPool.query(fakeB));
      D_A.backward();
      const D_B = this.discriminatorLoss(this.netD_B, realA, this.fakeAPool.query(fakeA));
      D_B.backward();
      this.optimizerD.step();

      const detach = (t: Tensor) => keep(t.detach());
      const losses = { D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B };
      return {
        losses: Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, detach(v)])) as Record<keyof CycleGANLosses, Tensor>,
        visuals: withVisuals ? { realA: detach(realA), fakeB: detach(fakeB), recA: detach(recA), realB: detach(realB), fakeA: detach(fakeA), recB: detach(recB) } : null,
      };
    });
  }

  /** net applied to each of `inputs`, computed as one batch along dim 0. */
  private batched(net: ResnetGenerator | NLayerDiscriminator, inputs: Tensor[]): Tensor[] {
    if (inputs.length === 1) return [net.call(inputs[0])];
    const all = net.call(concat(inputs, 0));
    let start = 0;
    return inputs.map((t) => slice(all, 0, start, (start += t.shape[0])));
  }

  /**
   * 0.5 * (loss(D(real), real) + loss(D(fake), fake)), as the reference's
   * backward_D_basic, with real and fake in one batch.
   */
  private discriminatorLoss(netD: NLayerDiscriminator, real: Tensor, fake: Tensor): Tensor {
    const [predReal, predFake] = this.batched(netD, [real, fake.detach()]);
    return ganLoss(predReal, true, this.options.ganMode).add(ganLoss(predFake, false, this.options.ganMode)).mul(0.5);
  }

  /** Advances both learning-rate schedules by one epoch (the reference's update_learning_rate). */
  updateLearningRate(): number {
    this.schedulerG.step();
    this.schedulerD.step();
    return this.optimizerG.paramGroups[0].lr;
  }

  /** The generator for a direction: G_A maps A to B, G_B maps B to A. */
  generator(direction: Direction): ResnetGenerator {
    return direction === 'AtoB' ? this.netG_A : this.netG_B;
  }

  /** Translates A to B (or B to A) without recording a graph. */
  translate(images: Tensor, direction: Direction): Tensor {
    return noGrad(() => this.generator(direction).call(images));
  }

  /** Tensors of the full training state, by checkpoint name. Live tensors: read before the next step. */
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [net, module] of Object.entries(this.namedNetworks())) {
      for (const [name, t] of Object.entries(module.stateDict())) out[`net_${net}.${name}`] = t;
    }
    for (const [opt, optimizer] of [['optimizer_G', this.optimizerG], ['optimizer_D', this.optimizerD]] as const) {
      for (const [name, t] of Object.entries(optimizer.stateDict().tensors)) out[`${opt}.${name}`] = t;
    }
    this.fakeAPool.stateTensors().forEach((t, i) => (out[`pool_fakeA.${i}`] = t));
    this.fakeBPool.stateTensors().forEach((t, i) => (out[`pool_fakeB.${i}`] = t));
    return out;
  }

  trainingState(): CycleGANTrainingState {
    return {
      optimizerG: this.optimizerG.stateDict().json,
      optimizerD: this.optimizerD.stateDict().json,
      schedulerG: this.schedulerG.stateDict(),
      schedulerD: this.schedulerD.stateDict(),
      poolA: this.fakeAPool.stateJson(),
      poolB: this.fakeBPool.stateJson(),
      dropoutRng: this.dropoutRng.getState(),
    };
  }

  /** Restores weights (and, given `training`, optimizers, schedules, pools and RNG) from checkpoint tensors. */
  loadState(tensors: Record<string, TensorEntry>, training?: CycleGANTrainingState): void {
    const pick = (prefix: string) =>
      Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    for (const [net, module] of Object.entries(this.namedNetworks())) module.loadStateDict(pick(`net_${net}.`));
    if (!training) return;
    this.optimizerG.loadStateDict({ tensors: pick('optimizer_G.'), json: training.optimizerG });
    this.optimizerD.loadStateDict({ tensors: pick('optimizer_D.'), json: training.optimizerD });
    this.schedulerG.loadStateDict(training.schedulerG);
    this.schedulerD.loadStateDict(training.schedulerD);
    const pool = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => tensors[`${prefix}${i}`]);
    this.fakeAPool.loadState(pool('pool_fakeA.', training.poolA.size), training.poolA);
    this.fakeBPool.loadState(pool('pool_fakeB.', training.poolB.size), training.poolB);
    this.dropoutRng.setState(training.dropoutRng);
  }

  /** Frees everything the model allocated: the networks, both optimizers' state and the pooled images. */
  dispose(): void {
    for (const n of this.networks()) n.dispose();
    this.optimizerG.dispose();
    this.optimizerD.dispose();
    this.fakeAPool.dispose();
    this.fakeBPool.dispose();
  }
}

/** Reads every loss of a step back in one readback (not one per loss) and disposes the tensors. */
export async function readLosses(losses: Record<keyof CycleGANLosses, Tensor>): Promise<CycleGANLosses> {
  const all = noGrad(() => stack(LOSS_NAMES.map((k) => losses[k])));
  for (const k of LOSS_NAMES) losses[k].dispose();
  const values = await all.data();
  all.dispose();
  return Object.fromEntries(LOSS_NAMES.map((k, i) => [k, values[i]])) as unknown as CycleGANLosses;
}

/**
 * The smallest side the generator takes: its two stride-2 stages leave
 * features of 1/4 the size, which the residual blocks' reflection pads (1 px)
 * need to be at least 2 px.
 */
export const GENERATOR_MIN_SIZE = 8;

/**
 * Runs a generator (`model.generator(direction)`, or one loaded alone) on an
 * image of any size, without recording a graph: sides that are not multiples
 * of 4 (the generator's two stride-2 stages), or below GENERATOR_MIN_SIZE,
 * are padded by edge replication and the result cropped back.
 */
export function translateTensor(generator: ResnetGenerator, x: Tensor): Tensor {
  return tidy(() => {
    const [, , h, w] = x.shape;
    const target = (side: number) => Math.max(GENERATOR_MIN_SIZE, Math.ceil(side / 4) * 4);
    const padH = target(h) - h;
    const padW = target(w) - w;
    const input = padH || padW ? pad(x, [0, padW, 0, padH], 'replicate') : x;
    const y = noGrad(() => generator.call(input));
    return padH || padW ? slice(slice(y, 2, 0, h), 3, 0, w) : y;
  });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
