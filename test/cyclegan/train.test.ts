import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CycleGAN } from '@stripes/cyclegan';
import {
  checkpointPath, generateMiniZebra, readTrainingCheckpoint, saveTrainingCheckpoint, train, TrainingDivergedError, type TrainConfig,
} from '@stripes/cyclegan/node';
import { Rng } from '@stripes/tensor';

let root: string;
let dataroot: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'stripes-train-'));
  dataroot = join(root, 'data');
  generateMiniZebra({ outDir: dataroot, seed: 3, size: 16, counts: { trainA: 3, trainB: 4, testA: 2, testB: 2 } });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A tiny configuration: 16 px, ngf/ndf 4, six residual blocks, two discriminator layers. */
function config(name: string, over: Partial<TrainConfig> = {}) {
  return {
    dataroot, name, checkpointsDir: join(root, 'ckpt'),
    ngf: 4, ndf: 4, netG: 'resnet_6blocks', netD: 'n_layers', nLayersD: 2, poolSize: 3, nEpochs: 1, nEpochsDecay: 2, seed: 11,
    batchSize: 1, loadSize: 18, cropSize: 16, preprocess: 'resize_and_crop', noFlip: false, serialBatches: false,
    direction: 'AtoB', strict: false, saveLatestFreq: 1000, saveEpochFreq: 1, displayFreq: 1000, printFreq: 2,
    continueTrain: false, epoch: 'latest', workers: 0,
    ...over,
  } satisfies TrainConfig;
}

async function weights(name: string): Promise<Map<string, Float32Array>> {
  const { tensors } = readTrainingCheckpoint(checkpointPath({ checkpointsDir: join(root, 'ckpt'), name }, 'latest'));
  return new Map(Object.entries(tensors).map(([k, v]) => [k, v.data]));
}

describe('train', () => {
  test('runs the schedule, logs losses, saves epoch checkpoints and decays the rate', async () => {
    const lrs: number[] = [];
    const lossLines: number[] = [];
    const result = await train(config('full'), {
      log: () => {},
      onIteration: (i) => {
        lrs.push(i.lr);
        if (i.losses) lossLines.push(i.losses.cycle_A);
      },
    });
    // 4 images per epoch (max(|A|, |B|)), 3 epochs.
    expect(result.totalIters).toBe(12);
    expect(lossLines.length).toBe(6);
    expect(lossLines.every(Number.isFinite)).toBe(true);
    // Epoch 1 at 2e-4, then the linear rule: 1 - (e + 1 - 1) / 3 for e = 2, 3.
    expect(lrs[0]).toBeCloseTo(2e-4, 12);
    expect(lrs[4]).toBeCloseTo(2e-4 * (1 - 1 / 3), 12);
    expect(lrs[8]).toBeCloseTo(2e-4 * (1 - 2 / 3), 12);
    for (const e of [1, 2, 3]) expect(existsSync(checkpointPath(config('full'), e))).toBe(true);
    result.model.dispose();
  });

  test('latest is saved every saveLatestFreq images, at saved epochs, and once at the end', async () => {
    const saves: string[] = [];
    const result = await train(config('cadence', { saveLatestFreq: 5, saveEpochFreq: 2 }), {
      log: () => {},
      onCheckpoint: (path, i) => saves.push(`${path.split('/').pop()}@${i.totalIters}`),
    });
    expect(saves).toEqual([
      'latest.ckpt.safetensors@5', 'latest.ckpt.safetensors@8', '2.ckpt.safetensors@8', 'latest.ckpt.safetensors@10', 'latest.ckpt.safetensors@12',
    ]);
    result.model.dispose();
  });

  test('an interrupted run resumed from its checkpoint reaches the same weights as an uninterrupted one', async () => {
    const quiet = { log: () => {} };
    // Uninterrupted: 7 iterations (into the second epoch, past the pool filling up).
    (await train(config('straight', { maxIterations: 7 }), quiet)).model.dispose();
    // Interrupted mid-epoch after 3 iterations, then resumed to 7.
    (await train(config('resumed', { maxIterations: 3 }), quiet)).model.dispose();
    const saved = readTrainingCheckpoint(checkpointPath(config('resumed'), 'latest')).json;
    expect(saved.totalIters).toBe(3);
    expect(saved.epochIter).toBe(3);
    expect(saved.training.poolA.size).toBe(3);
    (await train(config('resumed', { maxIterations: 7, continueTrain: true }), quiet)).model.dispose();

    const a = await weights('straight');
    const b = await weights('resumed');
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(b.get(k), k).toEqual(v);
  });
});

describe('train: a run that diverges says so', () => {
  test('non-finite losses stop the run with an error naming the iteration and the loss; no checkpoint is written', async () => {
    const c = config('diverged', { lr: 1e30, printFreq: 1, saveLatestFreq: 1000, saveEpochFreq: 1000 });
    const error = await train(c, { log: () => {} }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    const e = error as TrainingDivergedError;
    expect(e.message).toMatch(/^training diverged at iteration 2 \(epoch 1\): loss .*(NaN|Infinity).*no checkpoint was written/);
    expect(e.totalIters).toBe(2);
    expect(existsSync(checkpointPath(c, 'latest'))).toBe(false);
  });

  test('a save that would write non-finite weights is refused: the last finite latest stays', async () => {
    const c = config('diverged-save', { lr: 1e30, printFreq: 1000, saveLatestFreq: 1 });
    const error = await train(c, { log: () => {} }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    // Iteration 1's step leaves huge but finite weights (saved); iteration 2's are NaN: refused, and iteration 1's file stays.
    const latest = checkpointPath(c, 'latest');
    expect((error as Error).message).toMatch(/^training diverged at iteration 2 \(epoch 1\): the model holds non-finite values in \d+ tensor\(s\): 'net_G_A\.model\.1\.weight' .*, so \S+ was not written; \S+latest\.ckpt\.safetensors \(iteration 1\) is kept\. Try a lower --lr\.$/);
    expect(readTrainingCheckpoint(latest).json.totalIters).toBe(1);

    // A finite latest is never replaced by a non-finite model.
    const model = new CycleGAN({ ngf: 2, ndf: 2, nBlocks: 1, nLayersD: 1 });
    const path = join(root, 'finite.ckpt.safetensors');
    const loader = { epoch: 0, position: 0, epochRng: null, rng: new Rng(1).getState() };
    await saveTrainingCheckpoint(path, model, { epoch: 1, epochIter: 0, totalIters: 5, loader });
    const before = readFileSync(path);
    const w = model.netG_A.stateDict()['model.1.weight'];
    model.netG_A.loadStateDict({ 'model.1.weight': { shape: [...w.shape], data: new Float32Array(w.size).fill(NaN) } }, { strict: false });
    await expect(saveTrainingCheckpoint(path, model, { epoch: 1, epochIter: 0, totalIters: 6, loader })).rejects.toThrow(
      /non-finite values in 1 tensor\(s\): 'net_G_A.model.1.weight' \(294\)/,
    );
    expect(readFileSync(path).equals(before)).toBe(true);
    model.dispose();
  });
});

describe('train: resuming does what its options say', () => {
  const quiet = { log: () => {}, warn: () => {} };

  test('architecture options that differ from the checkpoint are an error naming both values', async () => {
    (await train(config('arch', { maxIterations: 2 }), quiet)).model.dispose();
    await expect(train(config('arch', { continueTrain: true, ngf: 8, nLayersD: 3 }), quiet)).rejects.toThrow(
      /--ngf 8: the checkpoint was trained with --ngf 4\n\s+--n_layers_D 3: the checkpoint was trained with --n_layers_D 2/,
    );
    // Left out, they come from the checkpoint.
    const lines: string[] = [];
    const resumed = await train(config('arch', { continueTrain: true, given: [], ngf: 64, ndf: 64, maxIterations: 3 }), { log: (l) => lines.push(l) });
    expect(resumed.model.options.ngf).toBe(4);
    expect(resumed.totalIters).toBe(3);
    expect(lines.join('\n')).toMatch(/options from the checkpoint: .*ngf 4, ndf 4/);
    resumed.model.dispose();
  });

  test('a larger n_epochs_decay extends a finished run, with the learning rate of the new schedule; other options follow the checkpoint', async () => {
    // 4 images per epoch, epochs 1 and 2.
    (await train(config('extend', { nEpochs: 1, nEpochsDecay: 1 }), quiet)).model.dispose();
    await expect(train(config('extend', { continueTrain: true, nEpochs: 1, nEpochsDecay: 1 }), quiet)).rejects.toThrow(
      /stopped at the end of epoch 2 .* ends at epoch 2: nothing to train; give a larger --n_epochs or --n_epochs_decay/,
    );
    const lrs = new Map<number, number>();
    const warnings: string[] = [];
    const result = await train(config('extend', { continueTrain: true, nEpochs: 1, nEpochsDecay: 3, lr: 0.5 }), {
      log: () => {},
      warn: (l) => warnings.push(l),
      onIteration: (i) => lrs.set(i.epoch, i.lr),
    });
    expect(result.totalIters).toBe(16);
    expect(result.epoch).toBe(5);
    // lr * (1 - max(0, e - n_epochs) / (n_epochs_decay + 1)), the reference's rule for epoch e.
    expect(lrs.get(3)).toBeCloseTo(2e-4 * (1 - 2 / 4), 12);
    expect(lrs.get(4)).toBeCloseTo(2e-4 * (1 - 3 / 4), 12);
    expect(warnings).toEqual([expect.stringMatching(/^ignored --lr 0.5 \(the checkpoint's 0.0002 is used\)/)]);
    const saved = readTrainingCheckpoint(checkpointPath(config('extend'), 'latest')).json;
    expect(saved.model.nEpochsDecay).toBe(3);
    const opt = readFileSync(join(root, 'ckpt', 'extend', 'train_opt.txt'), 'utf8');
    expect(opt).toMatch(/^ +n_epochs_decay: 3 *$/m);
    expect(opt).toMatch(/^ +ngf: 4 +\[from the checkpoint\]$/m);
    expect(opt).toMatch(/^resumed from .*latest\.ckpt\.safetensors$/m);
    result.model.dispose();
  });

  test('--epoch_count starts that epoch from its first image with the schedule of that epoch', async () => {
    (await train(config('recount', { nEpochs: 2, nEpochsDecay: 2, maxIterations: 6 }), quiet)).model.dispose();
    const seen: Array<[number, number, number]> = [];
    const result = await train(config('recount', { continueTrain: true, nEpochs: 2, nEpochsDecay: 2, epochCount: 4 }), {
      ...quiet,
      onIteration: (i) => seen.push([i.epoch, i.epochIter, i.lr]),
    });
    // Epoch 4 only, all 4 images, at lr * (1 - (4 - 2) / 3).
    expect(seen.map(([e, it]) => [e, it])).toEqual([[4, 1], [4, 2], [4, 3], [4, 4]]);
    expect(seen[0][2]).toBeCloseTo(2e-4 * (1 - 2 / 3), 12);
    expect(result.totalIters).toBe(10);
    result.model.dispose();
  });
});

describe('train: an experiment folder', () => {
  const quiet = { log: () => {}, warn: () => {} };

  test('a new run refuses a folder with a previous run unless overwrite; --continue_train without a checkpoint names the file', async () => {
    (await train(config('taken', { maxIterations: 1 }), quiet)).model.dispose();
    await expect(train(config('taken', { maxIterations: 1 }), quiet)).rejects.toThrow(
      /ckpt\/taken holds a previous run \(latest\.ckpt\.safetensors, .*\): resume it with --continue_train, replace it with --overwrite/,
    );
    const warnings: string[] = [];
    (await train(config('taken', { maxIterations: 1, overwrite: true }), { log: () => {}, warn: (l) => warnings.push(l) })).model.dispose();
    expect(warnings.join('\n')).toMatch(/--overwrite: removed the previous run/);

    await expect(train(config('nothing-here', { continueTrain: true }), quiet)).rejects.toThrow(
      `--continue_train: no checkpoint ${checkpointPath(config('nothing-here'), 'latest')} (--epoch latest); ${join(root, 'ckpt', 'nothing-here')} holds no checkpoint`,
    );
    await expect(train(config('taken', { continueTrain: true, epoch: '7' }), quiet)).rejects.toThrow(/no checkpoint .*7\.ckpt\.safetensors \(--epoch 7\); .* holds: latest/);
  });

  test('temporary files of a killed save are removed by the next run; a live process keeps its own', async () => {
    const dir = join(root, 'ckpt', 'stale');
    mkdirSync(dir, { recursive: true });
    // pid_max is at most 2^22: this process cannot exist.
    const dead = join(dir, 'latest.ckpt.safetensors.tmp-99999999');
    const live = join(dir, 'latest.ckpt.safetensors.tmp-' + process.ppid);
    writeFileSync(dead, 'partial');
    writeFileSync(live, 'being written');
    const warnings: string[] = [];
    (await train(config('stale', { maxIterations: 1 }), { log: () => {}, warn: (l) => warnings.push(l) })).model.dispose();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(warnings).toContain(`removed ${dead}, a temporary file left by an interrupted save`);
  });

  test('sizes the device cannot hold are refused before any work', async () => {
    await expect(train(config('huge-load', { loadSize: 100000 }), quiet)).rejects.toThrow(
      '--load_size 100000: images scaled to 100000x100000 would exceed the 100-megapixel limit',
    );
    await expect(train(config('huge-crop', { loadSize: 4096, cropSize: 4096, ngf: 64 }), quiet)).rejects.toThrow(
      /--crop_size 4096 with --ngf 64 and --batch_size 1: the generator's largest tensor would take .* GiB, and this device binds at most .* per buffer/,
    );
  });
});
