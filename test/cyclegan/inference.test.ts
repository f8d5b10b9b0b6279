import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CycleGAN, translateTensor } from '@stripes/cyclegan';
import { saveTrainingCheckpoint } from '@stripes/cyclegan/node';
import { memory, randn, Rng } from '@stripes/tensor';

let root: string;
/** A tiny untrained model's checkpoint: inference needs weights, not good ones. */
let ckpt: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'stripes-inference-'));
  const model = new CycleGAN({ ngf: 2, ndf: 2, nBlocks: 1, nLayersD: 1, poolSize: 0, seed: 4 });
  ckpt = join(root, 'tiny.ckpt.safetensors');
  const loader = { epoch: 0, position: 0, epochRng: null, rng: new Rng(1).getState() };
  await saveTrainingCheckpoint(ckpt, model, { epoch: 1, epochIter: 0, totalIters: 0, loader });
  model.dispose();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('translateTensor', () => {
  test('takes any size, down to 1x1: tiny sides are padded to the generator minimum and cropped back', async () => {
    const model = new CycleGAN({ ngf: 2, ndf: 2, nBlocks: 1, nLayersD: 1, poolSize: 0 });
    const before = memory().liveBuffers;
    for (const [h, w] of [[1, 1], [3, 5], [3, 50], [9, 2]]) {
      const x = randn([1, 3, h, w]);
      const y = translateTensor(model.generator('AtoB'), x);
      expect(y.shape).toEqual([1, 3, h, w]);
      expect((await y.data()).every(Number.isFinite)).toBe(true);
      x.dispose();
      y.dispose();
    }
    expect(memory().liveBuffers).toBe(before);
    model.dispose();
  });
});
