import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkpointPath, generateMiniZebra, readTrainingCheckpoint, train, type TrainConfig } from '@stripes/cyclegan/node';

let root: string;
let dataroot: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'stripes-train-'));
  dataroot = join(root, 'data');
  generateMiniZebra({ outDir: dataroot, seed: 3, size: 16, counts: { trainA: 3, trainB: 4, testA: 2, testB: 2 } });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A tiny configuration: 16 px, ngf/ndf 4, one residual block, two discriminator layers. */
function config(name: string, over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    dataroot, name, checkpointsDir: join(root, 'ckpt'),
    ngf: 4, ndf: 4, nBlocks: 1, nLayersD: 2, poolSize: 3, nEpochs: 1, nEpochsDecay: 2, seed: 11,
    batchSize: 1, loadSize: 18, cropSize: 16, preprocess: 'resize_and_crop', noFlip: false, serialBatches: false,
    direction: 'AtoB', strict: false, saveLatestFreq: 1000, saveEpochFreq: 1, displayFreq: 1000, printFreq: 2,
    continueTrain: false, epoch: 'latest', workers: 0,
    ...over,
  };
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
