import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CycleGAN, translateTensor } from '@stripes/cyclegan';
import { readImage, runTest, saveTrainingCheckpoint, translatePath, writePng } from '@stripes/cyclegan/node';
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

/** A w x h RGB image of deterministic noise. */
function image(w: number, h: number, seed = 1) {
  const rng = new Rng(seed);
  const data = new Uint8Array(w * h * 3).map(() => rng.int(256));
  return { width: w, height: h, channels: 3 as const, data };
}

/** Files under `dir`, relative, sorted. */
function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('translate', () => {
  let input: string;
  beforeAll(() => {
    input = join(root, 'photos');
    mkdirSync(join(input, 'sub'), { recursive: true });
    copyFileSync(join(__dirname, 'fixtures/color.jpg'), join(input, 'good.jpg'));
    writePng(join(input, 'good.png'), image(9, 7, 2));
    writePng(join(input, 'sub/good.png'), image(5, 12, 3));
    writeFileSync(join(input, 'broken.png'), 'not an image');
  });

  test('a folder: relative paths and extensions stay distinct, an undecodable file is skipped and reported, the count is true', async () => {
    const out = join(root, 'out');
    const lines: string[] = [];
    const written = await translatePath(ckpt, 'AtoB', input, out, { log: (l) => lines.push(l) });
    expect(files(out)).toEqual(['good.jpg.png', 'good.png.png', 'sub/good.png']);
    expect(written.map((p) => relative(out, p)).sort()).toEqual(files(out));
    expect(lines).toContain(`skipping unusable image ${join(input, 'broken.png')}: unknown image format (not PNG or JPEG)`);
    expect(lines.at(-1)).toBe(`translate: wrote 3 image(s) to ${out}; skipped 1 that could not be decoded`);
    // Each output has its input's size.
    expect(readImage(join(out, 'sub/good.png'))).toMatchObject({ width: 5, height: 12 });
    expect(readImage(join(out, 'good.png.png'))).toMatchObject({ width: 9, height: 7 });
  });

  test('--strict stops at the undecodable file', async () => {
    await expect(translatePath(ckpt, 'AtoB', input, join(root, 'out-strict'), { strict: true, log: () => {} })).rejects.toThrow(
      `${join(input, 'broken.png')}: unknown image format`,
    );
  });

  test('nothing is written over an input', async () => {
    const before = files(input).map((f) => readFileSync(join(input, f)));
    await expect(translatePath(ckpt, 'AtoB', input, input, { log: () => {} })).rejects.toThrow(/the output folder is the input folder/);
    await expect(translatePath(ckpt, 'AtoB', join(input, 'sub'), join(input, 'sub', '.', ''), { log: () => {} })).rejects.toThrow(/the output folder is the input folder/);
    await expect(translatePath(ckpt, 'AtoB', join(input, 'good.png'), join(input, 'good.png'), { log: () => {} })).rejects.toThrow(
      `translate: ${join(input, 'good.png')} is an input and would be written over`,
    );
    expect(files(input).map((f) => readFileSync(join(input, f)))).toEqual(before);
  });
});

describe('test', () => {
  test('same-named images stay distinct, and an image too small for --preprocess none is skipped with its path', async () => {
    const dataroot = join(root, 'data');
    mkdirSync(join(dataroot, 'testA'), { recursive: true });
    mkdirSync(join(dataroot, 'testB'), { recursive: true });
    copyFileSync(join(__dirname, 'fixtures/color.jpg'), join(dataroot, 'testA/good.jpg'));
    writePng(join(dataroot, 'testA/good.png'), image(12, 8, 4));
    writePng(join(dataroot, 'testA/tiny.png'), image(1, 1, 5));
    writePng(join(dataroot, 'testB/b.png'), image(8, 8, 6));
    const checkpointsDir = join(root, 'checkpoints');
    mkdirSync(join(checkpointsDir, 'tiny'), { recursive: true });
    copyFileSync(ckpt, join(checkpointsDir, 'tiny', 'latest.ckpt.safetensors'));
    const lines: string[] = [];
    const result = await runTest({
      dataroot, name: 'tiny', checkpointsDir, resultsDir: join(root, 'results'), epoch: 'latest', phase: 'test',
      loadSize: 256, cropSize: 256, preprocess: 'none', numTest: Infinity, log: (l) => lines.push(l),
    });
    expect(result.metrics.images).toEqual({ testA: 2, testB: 1 });
    expect(Number.isFinite(result.metrics.cycleL1.A)).toBe(true);
    expect(files(join(result.outDir, 'images')).filter((f) => f.includes('_real_A'))).toEqual(['good.jpg_real_A.png', 'good.png_real_A.png']);
    expect(lines).toContain(`skipping unusable image ${join(dataroot, 'testA/tiny.png')}: image 1x1 is too small to round to a multiple of 4`);
  });

  test('a checkpoint of 2-channel networks is refused: images come only as gray or RGB', async () => {
    const model = new CycleGAN({ inputNc: 2, outputNc: 2, ngf: 2, ndf: 2, nBlocks: 1, nLayersD: 1, poolSize: 0, seed: 4 });
    const checkpointsDir = join(root, 'checkpoints-2ch');
    const path = join(checkpointsDir, 'two', 'latest.ckpt.safetensors');
    mkdirSync(join(checkpointsDir, 'two'), { recursive: true });
    const loader = { epoch: 0, position: 0, epochRng: null, rng: new Rng(1).getState() };
    await saveTrainingCheckpoint(path, model, { epoch: 1, epochIter: 0, totalIters: 0, loader });
    model.dispose();
    await expect(
      runTest({
        dataroot: join(root, 'no-data'), name: 'two', checkpointsDir, resultsDir: join(root, 'results-2ch'), epoch: 'latest', phase: 'test',
        loadSize: 256, cropSize: 256, preprocess: 'none', numTest: Infinity, log: () => {},
      }),
    ).rejects.toThrow(`test: ${path}: the networks map 2-channel images to 2; images are tested as gray (1) or RGB (3)`);
  });
});
