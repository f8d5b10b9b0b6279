/**
 * The training loop (the reference's train.py): epochs epochCount ..
 * nEpochs + nEpochsDecay, the learning rate updated at the end of each epoch
 * (so epochs 1..nEpochs run at the initial rate), checkpoints of everything
 * an exact resume needs, written atomically.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Json } from '@stripes/nn';
import { loadCheckpoint, saveCheckpoint } from '@stripes/nn/node';
import { Rng, tensor, throttle, tidy, type Tensor } from '@stripes/tensor';
import { DataLoader, type DataLoaderState } from './data/loader.ts';
import { UnalignedDataset } from './data/dataset.ts';
import type { Preprocess } from './data/transforms.ts';
import { minimumImageSize } from './model/networks.ts';
import { CycleGAN, readLosses, type CycleGANLosses, type CycleGANOptions, type CycleGANTrainingState, type CycleGANVisuals } from './model/cyclegan.ts';

export interface TrainConfig extends CycleGANOptions {
  dataroot: string;
  /** Experiment name: checkpoints go to <checkpointsDir>/<name>. */
  name: string;
  checkpointsDir: string;
  batchSize: number;
  loadSize: number;
  cropSize: number;
  preprocess: Preprocess;
  noFlip: boolean;
  serialBatches: boolean;
  maxDatasetSize?: number;
  direction: 'AtoB' | 'BtoA';
  /** An unusable image stops training instead of being reported and skipped. */
  strict: boolean;
  /** Save `latest` every this many iterations (images), and an epoch checkpoint every saveEpochFreq epochs. */
  saveLatestFreq: number;
  saveEpochFreq: number;
  /** Sample grids every displayFreq iterations; losses logged every printFreq. */
  displayFreq: number;
  printFreq: number;
  /** Resume from the checkpoint named by `epoch` ('latest' or an epoch number). */
  continueTrain: boolean;
  epoch: string;
  /** Image-decoding threads (0: decode on the main thread). */
  workers?: number;
  /** Stop after this many iterations in total (for tests and the demo); saves `latest` when it stops. */
  maxIterations?: number;
}

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

export function checkpointPath(config: Pick<TrainConfig, 'checkpointsDir' | 'name'>, label: string | number): string {
  return join(config.checkpointsDir, config.name, `${label}${CHECKPOINT_SUFFIX}`);
}

/** Saves the full training state; atomic, so an interrupted save leaves the previous file whole. */
export async function saveTrainingCheckpoint(path: string, model: CycleGAN, position: Omit<TrainCheckpointJson, 'format' | 'model' | 'training'>): Promise<void> {
  const json: TrainCheckpointJson = { format: 'stripes-cyclegan/1', model: model.options, training: model.trainingState(), ...position };
  await saveCheckpoint(path, { tensors: model.stateTensors(), json: json as unknown as Json });
}

/** Reads a checkpoint written by `saveTrainingCheckpoint`, checking its format. */
export function readTrainingCheckpoint(path: string): { json: TrainCheckpointJson; tensors: ReturnType<typeof loadCheckpoint>['tensors'] } {
  const { json, tensors } = loadCheckpoint(path);
  const j = json as unknown as TrainCheckpointJson;
  if (!j || j.format !== 'stripes-cyclegan/1') throw new Error(`${path}: not a stripes CycleGAN checkpoint (format ${JSON.stringify(j?.format)})`);
  return { json: j, tensors };
}

/** Trains; resolves when the schedule ends, `maxIterations` is reached, or SIGINT arrives (after saving). */
export async function train(config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const experimentDir = join(config.checkpointsDir, config.name);
  mkdirSync(experimentDir, { recursive: true });

  let resume: ReturnType<typeof readTrainingCheckpoint> | null = null;
  if (config.continueTrain) {
    const path = checkpointPath(config, config.epoch);
    resume = readTrainingCheckpoint(path);
    log(`resuming from ${path}: epoch ${resume.json.epoch}, ${resume.json.totalIters} iterations done`);
  }
  // A resumed run rebuilds the saved architecture; its own options only set the schedule length.
  const model = new CycleGAN(resume ? { ...resume.json.model } : config);
  const o = model.options;
  const min = minimumImageSize(o.nLayersD);
  if (config.preprocess !== 'none' && config.preprocess !== 'scale_width' && config.cropSize < min) {
    model.dispose();
    throw new Error(`train: --crop_size ${config.cropSize} is too small for a ${o.nLayersD}-layer PatchGAN; use at least ${min} (or fewer --n_layers_D)`);
  }
  const dataset = new UnalignedDataset({
    dataroot: config.dataroot, phase: 'train', direction: config.direction,
    inputNc: channels(o.inputNc), outputNc: channels(o.outputNc),
    loadSize: config.loadSize, cropSize: config.cropSize, preprocess: config.preprocess, noFlip: config.noFlip,
    serialBatches: config.serialBatches, maxDatasetSize: config.maxDatasetSize, strict: config.strict,
    rng: new Rng(o.seed + 4), log,
  });
  const loader = new DataLoader({ dataset, batchSize: config.batchSize, workers: config.workers ?? 1 });
  log(`dataset: ${dataset.pathsA.length} A images, ${dataset.pathsB.length} B images; ${dataset.length} per epoch, ${loader.length} batches of ${config.batchSize}`);

  let epoch = o.epochCount;
  let epochIter = 0;
  let totalIters = 0;
  if (resume) {
    model.loadState(resume.tensors, resume.json.training);
    loader.setState(resume.json.loader);
    ({ epoch, epochIter, totalIters } = resume.json);
  }
  const lastEpoch = o.nEpochs + o.nEpochsDecay;

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('SIGINT: saving latest after this iteration (press Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);

  const position = () => ({ epoch, epochIter, totalIters, loader: loader.getState() });
  const info = (losses?: CycleGANLosses): IterationInfo => ({
    epoch, epochIter, totalIters, epochSize: dataset.length, lastEpoch, lr: model.optimizerG.paramGroups[0].lr, losses,
  });
  let latestSavedAt = -1;
  const save = async (label: string | number) => {
    const path = checkpointPath(config, label);
    await saveTrainingCheckpoint(path, model, position());
    if (label === 'latest') latestSavedAt = totalIters;
    hooks.onCheckpoint?.(path, info());
  };

  try {
    hooks.onStart?.(info(), resume !== null);
    const atLimit = () => config.maxIterations !== undefined && totalIters >= config.maxIterations;
    while (epoch <= lastEpoch && !interrupted && !atLimit()) {
      while (!interrupted && !atLimit()) {
        if (loader.epoch + o.epochCount !== epoch) break;
        const batch = await loader.nextBatch();
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
        if (wantLosses) hooks.onIteration?.(info(await readLosses(losses)));
        else {
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
      if (interrupted || (atLimit() && loader.epoch + o.epochCount === epoch)) break;
      model.updateLearningRate();
      const finished = epoch++;
      epochIter = 0;
      if (finished % config.saveEpochFreq === 0) {
        await save('latest');
        await save(finished);
      }
    }
    if (latestSavedAt !== totalIters) await save('latest');
  } finally {
    process.off('SIGINT', onSigint);
    await loader.close();
  }
  return { model, totalIters, epoch, interrupted, experimentDir };
}

function channels(n: number): 1 | 3 {
  if (n !== 1 && n !== 3) throw new Error(`train: images must have 1 or 3 channels, got ${n}`);
  return n;
}

function disposeAll(ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}
