/**
 * The training loop (the reference's train.py): epochs epochCount ..
 * nEpochs + nEpochsDecay, the learning rate updated at the end of each epoch
 * (so epochs 1..nEpochs run at the initial rate), checkpoints of everything
 * an exact resume needs, written atomically.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCheckpoint, NonFiniteTensorError, type Json, type TensorEntry } from '@stripes/nn';
import { loadCheckpoint, removeStaleTempFiles } from '@stripes/nn/node';
import { rt, tensor, throttle, tidy, type Tensor } from '@stripes/tensor';
import { DataLoader, type DataLoaderState } from './data/loader.ts';
import { DATA_OPTIONS, dataOptionProblems, UnalignedDataset } from './data/dataset.ts';
import { dataRng } from './data/pairing.ts';
import { MAX_MEGAPIXELS } from './image/codec.ts';
import { IMAGE_CHANNELS, isImageChannels, type ImageChannels } from './image/convert.ts';
import { minimumImageSize } from './model/networks.ts';
import { CHECKPOINT_FORMAT, validateCheckpoint } from './model/checkpointFormat.ts';
import {
  CycleGAN, CYCLEGAN_DEFAULTS, givenModelOptions, LOSS_NAMES, MODEL_OPTIONS, modelOptionProblems, modelOptionsOf, readLosses,
  type CycleGANLosses, type CycleGANOptions, type CycleGANTrainingState, type CycleGANVisuals, type ResolvedCycleGANOptions,
} from './model/cyclegan.ts';
import { LOSS_LOG_FILE, LOSS_PLOT_FILE } from './report/lossLog.ts';
import { writeFileAtomic } from './report/atomicWrite.ts';
import { camel, describeProblems, TRAIN, withDefaults, type OptionInput, type OptionSpec, type OptionValues } from './optionSpec.ts';

/** Where an experiment's checkpoints go (train, test, import, export). */
export const EXPERIMENT_OPTIONS = {
  name: {
    type: 'string', commands: ['train', 'test', 'import', 'export'], default: 'experiment_name', commandDefault: { import: null },
    help: 'experiment name: checkpoints and samples go under <checkpoints_dir>/<name>',
    commandHelp: { import: "experiment name: the checkpoint goes under <checkpoints_dir>/<name> [default: the reference_dir's name]" },
  },
  checkpoints_dir: { type: 'string', commands: ['train', 'test', 'import', 'export'], default: './checkpoints', metavar: 'dir', help: 'where experiments are saved' },
} as const satisfies Record<string, OptionSpec>;

/** Which checkpoint of the experiment to load, and whether one may be replaced. */
export const CHECKPOINT_OPTIONS = {
  epoch: {
    type: 'string', commands: ['train', 'test', 'import', 'export'], default: 'latest', help: "checkpoint to load: 'latest' or an epoch number",
    commandHelp: { import: "which of the reference's files: <epoch>_net_G_A.pth...; the checkpoint is written as <epoch>.ckpt.safetensors" },
  },
  overwrite: {
    type: 'flag', commands: ['train', 'import', 'export'], default: false,
    help: "start a new run in an experiment folder that holds a previous run's checkpoints or loss log, replacing them",
    commandHelp: { import: 'replace the checkpoint if it exists', export: 'replace .pth files of that epoch already in the output folder' },
  },
} as const satisfies Record<string, OptionSpec>;

/** The training loop's own options (the reference's train_options.py, less the model's). */
export const TRAIN_OPTIONS = {
  save_epoch_freq: { type: 'int', commands: TRAIN, default: 5, min: 1, help: 'save a checkpoint every this many epochs' },
  save_latest_freq: { type: 'int', commands: TRAIN, default: 5000, min: 1, help: 'save the latest checkpoint every this many iterations' },
  display_freq: { type: 'int', commands: TRAIN, default: 400, min: 1, help: 'write a sample grid every this many iterations' },
  print_freq: { type: 'int', commands: TRAIN, default: 100, min: 1, help: 'log losses every this many iterations' },
  continue_train: { type: 'flag', commands: TRAIN, default: false, help: 'resume from the checkpoint named by --epoch (see "Resuming" below)' },
} as const satisfies Record<string, OptionSpec>;

/** The option groups train reads: its part of the command line. */
const TRAIN_COMMAND_OPTIONS = { ...DATA_OPTIONS, ...EXPERIMENT_OPTIONS, ...MODEL_OPTIONS, ...TRAIN_OPTIONS, ...CHECKPOINT_OPTIONS } as const satisfies Record<string, OptionSpec>;

/**
 * `stripes-cyclegan train`'s options as parsed, camelCase-keyed, with their
 * defaults (`--netG resnet_6blocks` is `netG: 'resnet_6blocks'`).
 * With `continueTrain`, architecture options must match the checkpoint's,
 * nEpochs / nEpochsDecay / epochCount given replace its schedule, and the
 * other model options follow the checkpoint.
 */
export type TrainCommandOptions = OptionValues<typeof TRAIN_COMMAND_OPTIONS, 'train'>;

/** What code gives train beyond the command line's options. */
export interface TrainProgramOptions {
  /**
   * Which options the caller set on purpose (camelCase option names, as
   * `parseCommandLine` returns them), for a resumed run. Default: the
   * options defined in the config.
   */
  given?: Iterable<string>;
  /** Image-decoding threads (0: decode on the main thread). */
  workers?: number;
  /** Stop after this many iterations in total (for tests and the demo); saves `latest` when it stops. */
  maxIterations?: number;
}

/**
 * What `train` takes: the command line's options (only `dataroot` is
 * required; the others default as on the command line) and `TrainProgramOptions`.
 * The CLI passes its parsed options as they are.
 */
export type TrainConfig = OptionInput<typeof TRAIN_COMMAND_OPTIONS, 'train'> & TrainProgramOptions;

/** What a checkpoint's JSON holds besides the tensors. */
export interface TrainCheckpointJson {
  format: 'stripes-cyclegan/1';
  model: Required<CycleGANOptions>;
  /** The epoch in progress and images already seen in it, and in total. */
  epoch: number;
  epochIter: number;
  totalIters: number;
  loader: DataLoaderState;
  training: CycleGANTrainingState;
}

export interface IterationInfo {
  epoch: number;
  epochIter: number;
  totalIters: number;
  /** Images per epoch. */
  epochSize: number;
  lastEpoch: number;
  lr: number;
  /** Present every printFreq iterations. */
  losses?: CycleGANLosses;
}

export interface TrainHooks {
  log?: (line: string) => void;
  /** Warnings (ignored options, replaced files); default: `log`. */
  warn?: (line: string) => void;
  /** Once, before the first iteration: where training starts (a resumed run starts where its checkpoint left off). */
  onStart?: (info: IterationInfo, resumed: boolean) => void;
  onIteration?: (info: IterationInfo) => void;
  /** Sample images every displayFreq iterations; the tensors are disposed after the call resolves. */
  onVisuals?: (info: IterationInfo, visuals: CycleGANVisuals) => Promise<void> | void;
  onCheckpoint?: (path: string, info: IterationInfo) => void;
}

export interface TrainResult {
  model: CycleGAN;
  totalIters: number;
  epoch: number;
  /** True when stopped by SIGINT (after saving `latest`). */
  interrupted: boolean;
  experimentDir: string;
}

export const CHECKPOINT_SUFFIX = '.ckpt.safetensors';
/** The resolved options of the latest run in an experiment folder (the reference's train_opt.txt). */
export const TRAIN_OPTIONS_FILE = 'train_opt.txt';

/**
 * Losses or weights turned NaN or infinite. Thrown by `train` at the first
 * print or save point that sees it; no checkpoint is written with those values.
 */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
    readonly totalIters: number,
    /** The checkpoint left in place (the last finite one), if any. */
    readonly keptCheckpoint: string | null,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** Model options that fix the architecture: a resumed run cannot change them. */
export const ARCHITECTURE_OPTIONS = ['inputNc', 'outputNc', 'ngf', 'ndf', 'nBlocks', 'nLayersD', 'dropout'] as const;
/** Model options that set the schedule: given on a resumed run, they replace the checkpoint's. */
export const SCHEDULE_OPTIONS = ['nEpochs', 'nEpochsDecay', 'epochCount'] as const;

/** How the command line spells a model option, for messages. */
const CLI_NAMES: Record<keyof ResolvedCycleGANOptions, string> = {
  inputNc: 'input_nc', outputNc: 'output_nc', ngf: 'ngf', ndf: 'ndf', nBlocks: 'netG', nLayersD: 'n_layers_D', dropout: 'no_dropout',
  ganMode: 'gan_mode', lambdaA: 'lambda_A', lambdaB: 'lambda_B', lambdaIdentity: 'lambda_identity', poolSize: 'pool_size', lr: 'lr',
  beta1: 'beta1', nEpochs: 'n_epochs', nEpochsDecay: 'n_epochs_decay', epochCount: 'epoch_count', initGain: 'init_gain', seed: 'seed',
};

/** An option's value as the command line writes it. */
function cliValue(key: keyof ResolvedCycleGANOptions, v: unknown): string {
  if (key === 'nBlocks') return `resnet_${String(v)}blocks`;
  if (key === 'dropout') return String(!v);
  return String(v);
}

export interface ResolvedRun {
  options: ResolvedCycleGANOptions;
  /** Where each model option came from. */
  sources: Record<keyof ResolvedCycleGANOptions, 'checkpoint' | 'given' | 'default'>;
  /** Given options that differ from the checkpoint and were not used. */
  ignored: string[];
  /** A resumed run given another --epoch_count starts that epoch from its beginning with a fresh schedule position. */
  restartEpoch: boolean;
}

/**
 * The model options of a run: a new run takes `config`'s (defaults for the
 * rest); a resumed run takes the checkpoint's, except the schedule options
 * `given`, and refuses architecture options that differ from it.
 * `position` is the epoch the checkpoint stopped in.
 */
export function resolveRunOptions(config: CycleGANOptions, given: ReadonlySet<string>, saved: ResolvedCycleGANOptions | null, position = 1): ResolvedRun {
  const keys = Object.keys(CYCLEGAN_DEFAULTS) as (keyof ResolvedCycleGANOptions)[];
  const sources = {} as ResolvedRun['sources'];
  const options = { ...CYCLEGAN_DEFAULTS } as Record<string, unknown>;
  const ignored: string[] = [];
  const conflicts: string[] = [];
  let restartEpoch = false;
  for (const key of keys) {
    const value = config[key];
    const isGiven = given.has(key) && value !== undefined;
    if (!saved) {
      options[key] = value ?? CYCLEGAN_DEFAULTS[key];
      sources[key] = isGiven ? 'given' : 'default';
      continue;
    }
    const old = saved[key];
    options[key] = old;
    sources[key] = 'checkpoint';
    if (!isGiven || value === old) continue;
    const flag = `--${CLI_NAMES[key]} ${cliValue(key, value)}`;
    if ((ARCHITECTURE_OPTIONS as readonly string[]).includes(key)) {
      conflicts.push(`${flag}: the checkpoint was trained with --${CLI_NAMES[key]} ${cliValue(key, old)}`);
    } else if (key === 'epochCount') {
      // Naming the epoch the checkpoint stopped in changes nothing; another one starts that epoch afresh.
      if (value !== position) {
        options[key] = value;
        sources[key] = 'given';
        restartEpoch = true;
      }
    } else if ((SCHEDULE_OPTIONS as readonly string[]).includes(key)) {
      options[key] = value;
      sources[key] = 'given';
    } else {
      ignored.push(`${flag} (the checkpoint's ${cliValue(key, old)} is used)`);
    }
  }
  if (conflicts.length) {
    throw new Error(`--continue_train: architecture options must match the checkpoint (or be left out):\n  ${conflicts.join('\n  ')}`);
  }
  return { options: options as unknown as ResolvedCycleGANOptions, sources, ignored, restartEpoch };
}

/** One `key: value [source]` line per option, as the reference's train_opt.txt. */
function optionsText(config: TrainCommandOptions, run: ResolvedRun, resumedFrom: string | null): string {
  const rows: [string, string, string][] = [];
  const modelKeys = new Set(Object.keys(CYCLEGAN_DEFAULTS));
  for (const [key, value] of Object.entries(run.options) as [keyof ResolvedCycleGANOptions, unknown][]) {
    const source = run.sources[key];
    const note = source === 'checkpoint' ? '[from the checkpoint]' : source === 'default' ? '[default]' : '';
    rows.push([CLI_NAMES[key], cliValue(key, value), note]);
  }
  // The model's options are the rows above (netG, netD and no_dropout as netG, n_layers_D and no_dropout).
  const skip = new Set([...modelKeys, 'netG', 'netD', 'noDropout']);
  for (const [name, spec] of Object.entries(TRAIN_COMMAND_OPTIONS) as [string, OptionSpec][]) {
    if (!spec.commands.includes('train') || skip.has(camel(name))) continue;
    rows.push([name, String((config as Record<string, unknown>)[camel(name)]), '']);
  }
  rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = rows.map(([k, v, note]) => `${k.padStart(25)}: ${v.padEnd(30)}${note}`.trimEnd());
  const head = resumedFrom ? [`resumed from ${resumedFrom}`] : [];
  return ['----------------- Options ---------------', ...head, ...lines, '----------------- End -------------------', ''].join('\n');
}

/** Files a run leaves in its experiment folder (besides `web/`). */
function previousRunFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith(CHECKPOINT_SUFFIX) || n === LOSS_LOG_FILE || n === LOSS_PLOT_FILE || n === TRAIN_OPTIONS_FILE).sort();
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Refuses a `--load_size` / `--crop_size` whose resized images would pass
 * the decoders' megapixel limit (a 100000 px resize would otherwise fail deep
 * inside with "Invalid typed array length", or exhaust memory).
 */
export function checkImageSizes(config: Pick<TrainCommandOptions, 'loadSize' | 'cropSize' | 'preprocess'>): void {
  const { loadSize, cropSize, preprocess } = config;
  const limit = MAX_MEGAPIXELS * 1e6;
  if (preprocess !== 'none' && preprocess !== 'crop' && loadSize * loadSize > limit) {
    throw new Error(`--load_size ${loadSize}: images scaled to ${loadSize}x${loadSize} would exceed the ${MAX_MEGAPIXELS}-megapixel limit for decoded images`);
  }
  if (preprocess !== 'none' && preprocess !== 'scale_width' && cropSize * cropSize > limit) {
    throw new Error(`--crop_size ${cropSize} exceeds the ${MAX_MEGAPIXELS}-megapixel limit for decoded images`);
  }
}

/**
 * Refuses, before any work, sizes that cannot work: `checkImageSizes`, and
 * a network input whose largest tensor (the generator's full-resolution
 * features, with the identity and cycle images in the same batch, or the
 * discriminator's first features of real and fake images) is larger than one
 * storage binding of this device (training binds whole tensors).
 */
export function checkTrainingSizes(config: Pick<TrainCommandOptions, 'loadSize' | 'cropSize' | 'preprocess' | 'batchSize'>, o: ResolvedCycleGANOptions): void {
  checkImageSizes(config);
  const { loadSize, cropSize, preprocess } = config;
  const side = preprocess === 'none' ? null : preprocess === 'scale_width' ? loadSize : cropSize;
  if (side === null) return;
  // The batches CycleGAN.optimizeParameters runs: G_B on realB, fakeB (and realA for the identity loss); D on real and fake.
  const generatorBatch = config.batchSize * (o.lambdaIdentity > 0 ? 3 : 2);
  const discriminatorBatch = config.batchSize * 2;
  const bytes = 4 * Math.max(
    generatorBatch * Math.max(o.ngf * (side + 6) ** 2, 4 * o.ngf * (side / 4 + 2) ** 2),
    discriminatorBatch * o.ndf * (side / 2 + 1) ** 2,
  );
  const max = rt().limits.maxStorageBufferBindingSize;
  if (bytes > max) {
    const which = preprocess === 'scale_width' ? `--load_size ${loadSize}` : `--crop_size ${cropSize}`;
    throw new Error(
      `${which} with --ngf ${o.ngf} and --batch_size ${config.batchSize}: the generator's largest tensor would take ${formatBytes(bytes)}, ` +
        `and this device binds at most ${formatBytes(max)} per buffer (training needs each tensor whole); use a smaller ${which.split(' ')[0]}, --ngf or --batch_size ` +
        '(test and translate work on larger images in chunks)',
    );
  }
}

/**
 * Options of a training run that cannot work together, as the reference
 * asserts at startup; each message names the command-line options to
 * change. `model`: the run's model options (a resumed run's come from its
 * checkpoint, so the command line leaves those checks to `train`).
 * The command line reports these with its other problems; `train` throws them.
 */
export function trainOptionProblems(o: TrainCommandOptions, model: ResolvedCycleGANOptions | null = o.continueTrain ? null : modelOptionsOf(o)): string[] {
  const problems = dataOptionProblems(o);
  if (!model) return problems;
  problems.push(...modelOptionProblems(model));
  const min = minimumImageSize(model.nLayersD);
  if (o.preprocess !== 'none' && o.preprocess !== 'scale_width' && o.cropSize < min) {
    problems.push(`--crop_size ${o.cropSize} is too small for a ${model.nLayersD}-layer PatchGAN; use at least ${min} (or fewer --n_layers_D)`);
  }
  return problems;
}

export function checkpointPath(config: Pick<TrainCommandOptions, 'checkpointsDir' | 'name'>, label: string | number): string {
  return join(config.checkpointsDir, config.name, `${label}${CHECKPOINT_SUFFIX}`);
}

/** Where a checkpoint stands in the run: everything its JSON holds besides the model's options and training state. */
type TrainPosition = Omit<TrainCheckpointJson, 'format' | 'model' | 'training'>;

/**
 * Saves the full training state; atomic, so an interrupted save leaves the
 * previous file whole. Weights, optimizer state or pooled images holding NaN
 * or infinities are refused (`NonFiniteTensorError`) and nothing is written.
 */
export async function saveTrainingCheckpoint(path: string, model: CycleGAN, position: TrainPosition): Promise<void> {
  writeFileAtomic(path, await encodeTrainingCheckpoint(model, position));
}

/** A training checkpoint's bytes: every tensor read back once, refused (`NonFiniteTensorError`) if any is not finite. */
async function encodeTrainingCheckpoint(model: CycleGAN, position: TrainPosition): Promise<Uint8Array> {
  const json: TrainCheckpointJson = { format: CHECKPOINT_FORMAT, model: model.options, training: model.trainingState(), ...position };
  return encodeCheckpoint({ tensors: model.stateTensors(), json: json as unknown as Json }, { requireFinite: true });
}

/**
 * Reads a checkpoint written by `saveTrainingCheckpoint` and checks every
 * field and tensor before anything is built from it (`CheckpointFormatError`).
 * `training: false` checks only what inference reads (format, model options,
 * the networks' tensors).
 */
export function readTrainingCheckpoint(path: string, options: { training?: boolean } = {}): { json: TrainCheckpointJson; tensors: Record<string, TensorEntry> } {
  if (!existsSync(path)) throw new Error(`checkpoint not found: ${path}`);
  const { json, tensors } = loadCheckpoint(path);
  validateCheckpoint(json, tensors, path, { training: options.training ?? true });
  return { json: json as unknown as TrainCheckpointJson, tensors };
}

/**
 * Trains; resolves when the schedule ends, `maxIterations` is reached, or
 * SIGINT arrives (after saving). Rejects with a `TrainingDivergedError` when
 * losses or weights turn non-finite (seen at print and save points), leaving
 * the last finite checkpoint in place.
 */
export async function train(input: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const config = withDefaults(TRAIN_COMMAND_OPTIONS, 'train', input);
  const log = hooks.log ?? ((line: string) => console.log(line));
  const warn = hooks.warn ?? log;
  const experimentDir = join(config.checkpointsDir, config.name);
  mkdirSync(experimentDir, { recursive: true });
  for (const dir of [experimentDir, join(experimentDir, 'web')]) {
    for (const path of removeStaleTempFiles(dir)) warn(`removed ${path}, a temporary file left by an interrupted save`);
  }

  let resume: ReturnType<typeof readTrainingCheckpoint> | null = null;
  const given = givenModelOptions(config, new Set(input.given ?? Object.keys(input).filter((k) => input[k as keyof TrainConfig] !== undefined)));
  if (config.continueTrain) {
    const path = checkpointPath(config, config.epoch);
    if (!existsSync(path)) {
      const found = previousRunFiles(experimentDir).filter((n) => n.endsWith(CHECKPOINT_SUFFIX)).map((n) => n.slice(0, -CHECKPOINT_SUFFIX.length));
      throw new Error(
        `--continue_train: no checkpoint ${path} (--epoch ${config.epoch}); ` +
          (found.length ? `${experimentDir} holds: ${found.join(', ')}` : `${experimentDir} holds no checkpoint: start without --continue_train`),
      );
    }
    resume = readTrainingCheckpoint(path);
    log(`resuming from ${path}: epoch ${resume.json.epoch}, ${resume.json.totalIters} iterations done`);
  } else {
    const previous = previousRunFiles(experimentDir);
    if (previous.length > 0 && !config.overwrite) {
      throw new Error(
        `${experimentDir} holds a previous run (${previous.slice(0, 4).join(', ')}${previous.length > 4 ? ', ...' : ''}): ` +
          'resume it with --continue_train, replace it with --overwrite, or choose another --name',
      );
    }
    if (previous.length > 0) {
      for (const n of previous) rmSync(join(experimentDir, n), { force: true });
      rmSync(join(experimentDir, 'web'), { recursive: true, force: true });
      warn(`--overwrite: removed the previous run in ${experimentDir} (${previous.join(', ')}, web/)`);
    }
  }
  const run = resolveRunOptions(modelOptionsOf(config), given, resume ? resume.json.model : null, resume?.json.epoch);
  const o = run.options;
  if (resume) {
    const from = (src: 'checkpoint' | 'given') =>
      (Object.keys(o) as (keyof ResolvedCycleGANOptions)[]).filter((k) => run.sources[k] === src).map((k) => `${CLI_NAMES[k]} ${cliValue(k, o[k])}`);
    log(`options from the checkpoint: ${from('checkpoint').join(', ')}`);
    const changed = from('given');
    if (changed.length) log(`options from the command line: ${changed.join(', ')}`);
    for (const i of run.ignored) warn(`ignored ${i}: only the schedule (--n_epochs, --n_epochs_decay, --epoch_count) can change when resuming`);
  }
  const lastEpoch = o.nEpochs + o.nEpochsDecay;
  const startEpoch = resume && !run.restartEpoch ? resume.json.epoch : o.epochCount;
  if (resume && !run.restartEpoch && startEpoch > lastEpoch) {
    throw new Error(
      `--continue_train: the checkpoint stopped at the end of epoch ${startEpoch - 1} and the schedule (n_epochs ${o.nEpochs} + n_epochs_decay ${o.nEpochsDecay}) ends at epoch ${lastEpoch}: nothing to train; give a larger --n_epochs or --n_epochs_decay to extend it`,
    );
  }
  const problems = trainOptionProblems(config, o);
  if (problems.length > 0) throw new Error(describeProblems(problems));
  checkTrainingSizes(config, o);
  writeFileAtomic(join(experimentDir, TRAIN_OPTIONS_FILE), optionsText(config, run, resume ? checkpointPath(config, config.epoch) : null));

  const model = new CycleGAN(o);
  let loader: DataLoader | null = null;
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('SIGINT: saving latest after this iteration (press Ctrl-C again to quit at once)');
  };
  try {
    const dataset = new UnalignedDataset({
      dataroot: config.dataroot, phase: 'train', direction: config.direction,
      inputNc: channels(o.inputNc), outputNc: channels(o.outputNc),
      loadSize: config.loadSize, cropSize: config.cropSize, preprocess: config.preprocess, noFlip: config.noFlip,
      serialBatches: config.serialBatches, maxDatasetSize: config.maxDatasetSize, strict: config.strict,
      rng: dataRng(o.seed), log,
    });
    const data = (loader = new DataLoader({ dataset, batchSize: config.batchSize, workers: input.workers ?? 1 }));
    log(`dataset: ${dataset.pathsA.length} A images, ${dataset.pathsB.length} B images; ${dataset.length} per epoch, ${data.length} batches of ${config.batchSize}`);

    let epoch = o.epochCount;
    let epochIter = 0;
    let totalIters = 0;
    /** The checkpoint a divergence leaves in place. */
    let goodCheckpoint: { path: string; iteration: number } | null = null;
    if (resume) {
      model.loadState(resume.tensors, resume.json.training);
      ({ totalIters } = resume.json);
      goodCheckpoint = { path: checkpointPath(config, config.epoch), iteration: totalIters };
      if (run.restartEpoch) {
        // The reference's --epoch_count: this epoch from its first image, the schedule from its start.
        data.setState({ epoch: 0, position: 0, epochRng: null, rng: resume.json.loader.rng });
        for (const s of [model.schedulerG, model.schedulerD]) s.loadStateDict({ lastEpoch: 0, baseLrs: s.baseLrs });
        log(`--epoch_count ${o.epochCount}: epoch ${o.epochCount} starts from its first image, at lr ${model.optimizerG.paramGroups[0].lr}`);
      } else {
        data.setState(resume.json.loader);
        ({ epoch, epochIter } = resume.json);
      }
    }

    process.on('SIGINT', onSigint);

    const position = () => ({ epoch, epochIter, totalIters, loader: data.getState() });
    const info = (losses?: CycleGANLosses): IterationInfo => ({
      epoch, epochIter, totalIters, epochSize: dataset.length, lastEpoch, lr: model.optimizerG.paramGroups[0].lr, losses,
    });
    const kept = () => (goodCheckpoint ? `${goodCheckpoint.path} (iteration ${goodCheckpoint.iteration}) is kept` : 'no checkpoint was written');
    const diverged = (what: string): TrainingDivergedError =>
      new TrainingDivergedError(
        `training diverged at iteration ${totalIters} (epoch ${epoch}): ${what}; ${kept()}. Try a lower --lr.`,
        epoch, totalIters, goodCheckpoint?.path ?? null,
      );
    let latestSavedAt = -1;
    /** Writes the same checkpoint under each label (the state is read back and encoded once). */
    const save = async (...labels: Array<string | number>) => {
      const paths = labels.map((label) => checkpointPath(config, label));
      let bytes: Uint8Array;
      try {
        bytes = await encodeTrainingCheckpoint(model, position());
      } catch (e) {
        if (e instanceof NonFiniteTensorError) throw diverged(`the model holds ${e.message}, so ${paths.join(' and ')} ${paths.length > 1 ? 'were' : 'was'} not written`);
        throw e;
      }
      labels.forEach((label, i) => {
        writeFileAtomic(paths[i], bytes);
        if (label === 'latest') {
          latestSavedAt = totalIters;
          goodCheckpoint = { path: paths[i], iteration: totalIters };
        }
        hooks.onCheckpoint?.(paths[i], info());
      });
    };

    hooks.onStart?.(info(), resume !== null);
    const { maxIterations } = input;
    const atLimit = () => maxIterations !== undefined && totalIters >= maxIterations;
    while (epoch <= lastEpoch && !interrupted && !atLimit()) {
      while (!interrupted && !atLimit()) {
        if (data.epoch + o.epochCount !== epoch) break;
        const batch = await data.nextBatch();
        const n = batch.shapeA[0];
        const tick = (freq: number) => Math.floor((totalIters + n) / freq) > Math.floor(totalIters / freq);
        const wantVisuals = tick(config.displayFreq);
        const wantLosses = tick(config.printFreq);
        const wantSave = tick(config.saveLatestFreq);
        const { losses, visuals } = tidy(() => {
          const realA = tensor(batch.A, batch.shapeA);
          const realB = tensor(batch.B, batch.shapeB);
          return config.direction === 'AtoB' ? model.optimizeParameters(realA, realB, wantVisuals) : model.optimizeParameters(realB, realA, wantVisuals);
        });
        totalIters += n;
        epochIter += n;
        await throttle();
        if (wantLosses) {
          const values = await readLosses(losses);
          const bad = LOSS_NAMES.filter((k) => !Number.isFinite(values[k]));
          if (bad.length) {
            if (visuals) disposeAll(Object.values(visuals));
            throw diverged(`loss ${bad.map((k) => `${k} = ${values[k]}`).join(', ')}`);
          }
          hooks.onIteration?.(info(values));
        } else {
          disposeAll(Object.values(losses));
          hooks.onIteration?.(info());
        }
        if (visuals) {
          try {
            await hooks.onVisuals?.(info(), visuals);
          } finally {
            disposeAll(Object.values(visuals));
          }
        }
        if (wantSave) await save('latest');
      }
      if (interrupted || (atLimit() && data.epoch + o.epochCount === epoch)) break;
      model.updateLearningRate();
      const finished = epoch++;
      epochIter = 0;
      if (finished % config.saveEpochFreq === 0) {
        await save('latest', finished);
      }
    }
    if (latestSavedAt !== totalIters) await save('latest');
    return { model, totalIters, epoch, interrupted, experimentDir };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    await loader?.close();
  }
}

function channels(n: number): ImageChannels {
  if (!isImageChannels(n)) throw new Error(`train: images must have ${IMAGE_CHANNELS.join(' or ')} channels, got ${n}`);
  return n;
}

function disposeAll(ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}
