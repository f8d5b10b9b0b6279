import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@stripes/tensor';
import {
  applyTransform,
  getParams,
  resize,
  toCHW,
  toChannels,
  validateTransformOptions,
  type ImageCHW,
  type ImageU8,
  type TransformOptions,
  type TransformParams,
} from '@stripes/cyclegan';
import { DataLoader, UnalignedDataset, encodePng, writePng, type Batch, type DataLoaderOptions, type UnalignedDatasetOptions } from '@stripes/cyclegan/node';

/** A deterministic test image whose content depends on `seed`. */
function makeImage(width: number, height: number, channels: ImageU8['channels'], seed: number): ImageU8 {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 57 + ((i * i) % 17)) % 256;
  return { width, height, channels, data };
}

/** Reads channel c, row y, column x of a CHW image. */
const at = (img: ImageCHW, c: number, y: number, x: number) => img.data[(c * img.height + y) * img.width + x];

/** Crops by plain index arithmetic, independently of the code under test. */
function cropRef(img: ImageU8, left: number, top: number, w: number, h: number): ImageU8 {
  const data = new Uint8Array(w * h * img.channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < img.channels; c++) {
        data[(y * w + x) * img.channels + c] = img.data[((top + y) * img.width + left + x) * img.channels + c];
      }
    }
  }
  return { width: w, height: h, channels: img.channels, data };
}

const NO_FLIP: TransformParams = { cropX: 0, cropY: 0, flip: false };

describe('transforms', () => {
  const base: TransformOptions = { preprocess: 'resize_and_crop', loadSize: 16, cropSize: 12, noFlip: false, channels: 3 };
  const img = makeImage(20, 14, 3, 1);

  it('getParams draws crop top, crop left, then flip: exactly three numbers', () => {
    const a = new Rng(5);
    const params = getParams(a);
    const b = new Rng(5);
    const [y, x, f] = [b.random(), b.random(), b.random()];
    expect(params).toEqual({ cropY: y, cropX: x, flip: f < 0.5 });
    expect(a.getState()).toEqual(b.getState());
  });

  it('resize_and_crop: bicubic to loadSize, then the crop the parameters place', () => {
    const params: TransformParams = { cropX: 0.999, cropY: 0.3, flip: false };
    const out = applyTransform(img, base, params);
    expect([out.channels, out.height, out.width]).toEqual([3, 12, 12]);
    // Range 16 - 12 + 1 = 5 offsets: left floor(0.999 * 5) = 4, top floor(0.3 * 5) = 1.
    const expected = toCHW(cropRef(resize(img, 16, 16, 'bicubic'), 4, 1, 12, 12));
    expect(out).toEqual(expected);
  });

  it('crop: a crop of the original image; smaller images are an error', () => {
    const opts: TransformOptions = { ...base, preprocess: 'crop' };
    const out = applyTransform(img, opts, { cropX: 0.5, cropY: 0.5, flip: false });
    expect(out).toEqual(toCHW(cropRef(img, 4, 1, 12, 12)));
    expect(() => applyTransform(makeImage(11, 30, 3, 2), opts, NO_FLIP)).toThrow(/11x30 is smaller than cropSize 12/);
    // An image exactly the crop size is used whole.
    const exact = makeImage(12, 12, 3, 3);
    expect(applyTransform(exact, opts, { cropX: 0.9, cropY: 0.9, flip: false })).toEqual(toCHW(exact));
  });

  it('scale_width: width to loadSize, height by aspect but at least cropSize', () => {
    const opts: TransformOptions = { ...base, preprocess: 'scale_width', loadSize: 32, cropSize: 8 };
    const shape = (w: number, h: number) => {
      const o = applyTransform(makeImage(w, h, 3, 4), opts, NO_FLIP);
      return [o.channels, o.height, o.width];
    };
    expect(shape(40, 20)).toEqual([3, 16, 32]);
    // 32 * 4 / 40 = 3.2 is below cropSize 8.
    expect(shape(40, 4)).toEqual([3, 8, 32]);
    expect(shape(30, 7)).toEqual([3, 8, 32]);
    // int(32 * 21 / 40) = int(16.8) = 16.
    expect(shape(40, 21)).toEqual([3, 16, 32]);
    const same = makeImage(32, 20, 3, 5);
    expect(applyTransform(same, opts, NO_FLIP)).toEqual(toCHW(same));
  });

  it('scale_width_and_crop: scale_width, then a cropSize crop', () => {
    const opts: TransformOptions = { ...base, preprocess: 'scale_width_and_crop', loadSize: 32, cropSize: 8 };
    const src = makeImage(40, 20, 3, 6);
    const out = applyTransform(src, opts, { cropX: 0, cropY: 0.99, flip: false });
    // Scaled to 32x16, so the last of 9 row offsets is 8.
    expect(out).toEqual(toCHW(cropRef(resize(src, 32, 16, 'bicubic'), 0, 8, 8, 8)));
  });

  it('none: each side to the nearest multiple of 4, halves to even as Python rounds', () => {
    const opts: TransformOptions = { ...base, preprocess: 'none' };
    const shape = (w: number, h: number) => {
      const o = applyTransform(makeImage(w, h, 3, 7), opts, NO_FLIP);
      return [o.height, o.width];
    };
    // 10 / 4 = 2.5 -> 2, 6 / 4 = 1.5 -> 2, 14 / 4 = 3.5 -> 4, 13 / 4 = 3.25 -> 3.
    expect(shape(10, 6)).toEqual([8, 8]);
    expect(shape(14, 13)).toEqual([12, 16]);
    const aligned = makeImage(12, 8, 3, 8);
    expect(applyTransform(aligned, opts, NO_FLIP)).toEqual(toCHW(aligned));
    expect(applyTransform(makeImage(10, 6, 3, 9), opts, NO_FLIP)).toEqual(toCHW(resize(makeImage(10, 6, 3, 9), 8, 8, 'bicubic')));
    expect(() => applyTransform(makeImage(1, 9, 3, 9), opts, NO_FLIP)).toThrow(/too small/);
  });

  it('flip mirrors columns; noFlip ignores it', () => {
    const plain = applyTransform(img, base, { cropX: 0.2, cropY: 0.7, flip: false });
    const flipped = applyTransform(img, base, { cropX: 0.2, cropY: 0.7, flip: true });
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 12; y++) {
        for (let x = 0; x < 12; x++) expect(at(flipped, c, y, x)).toBe(at(plain, c, y, 11 - x));
      }
    }
    expect(applyTransform(img, { ...base, noFlip: true }, { cropX: 0.2, cropY: 0.7, flip: true })).toEqual(plain);
  });

  it('one channel: the reference Grayscale(1) after convert("RGB")', () => {
    const opts: TransformOptions = { ...base, preprocess: 'crop', cropSize: 14, channels: 1 };
    const rgba = makeImage(14, 14, 4, 10);
    const out = applyTransform(rgba, opts, NO_FLIP);
    expect(out).toEqual(toCHW(toChannels(toChannels(rgba, 3), 1)));
  });

  it('the same seed gives the same output', () => {
    const run = (seed: number) => {
      const rng = new Rng(seed);
      return [0, 1, 2].map(() => applyTransform(img, base, getParams(rng)));
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it('rejects options that fail on every image', () => {
    expect(() => validateTransformOptions({ ...base, loadSize: 10 })).toThrow(/loadSize 10 is smaller than cropSize 12/);
    expect(() => validateTransformOptions({ ...base, preprocess: 'scale_width_and_crop', loadSize: 10 })).toThrow(/smaller than cropSize/);
    expect(() => validateTransformOptions({ ...base, preprocess: 'resize' as never })).toThrow(/unknown preprocess mode 'resize'/);
    expect(() => validateTransformOptions({ ...base, cropSize: 0 })).toThrow(/cropSize must be a positive integer/);
    expect(() => validateTransformOptions({ ...base, preprocess: 'crop', loadSize: 10 })).not.toThrow();
  });
});

const root = mkdtempSync(join(tmpdir(), 'stripes-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes files under root/name: PNG images from ImageU8 values, raw bytes from Uint8Array ones. */
function makeTree(name: string, files: Record<string, ImageU8 | Uint8Array | string>): string {
  const dir = join(root, name);
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    if (typeof content === 'string') writeFileSync(path, content);
    else if (content instanceof Uint8Array) writeFileSync(path, content);
    else writePng(path, content);
  }
  return dir;
}

function options(dataroot: string, over: Partial<UnalignedDatasetOptions> = {}): UnalignedDatasetOptions & { lines: string[] } {
  const lines: string[] = [];
  return {
    dataroot,
    phase: 'train',
    direction: 'AtoB',
    inputNc: 3,
    outputNc: 3,
    loadSize: 12,
    cropSize: 8,
    preprocess: 'resize_and_crop',
    noFlip: false,
    serialBatches: false,
    rng: new Rng(1),
    log: (line) => lines.push(line),
    lines,
    ...over,
  };
}

let main: string;
let broken: string;
beforeAll(() => {
  main = makeTree('main', {
    'trainA/a0.png': makeImage(12, 10, 3, 0),
    'trainA/a1.png': makeImage(12, 10, 3, 1),
    'trainA/a2.png': makeImage(12, 10, 3, 2),
    'trainA/sub/a3.PNG': makeImage(12, 10, 3, 3),
    'trainA/notes.txt': 'not an image',
    ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`trainB/b${i}.png`, makeImage(10, 12, 3, 10 + i)])),
  });
  const good = encodePng(makeImage(12, 10, 3, 20));
  broken = makeTree('broken', {
    'trainA/a0-good.png': makeImage(12, 10, 3, 21),
    'trainA/a1-junk.png': 'this is not an image',
    'trainA/a2-cut.png': good.subarray(0, good.length - 30),
    'trainA/a3-good.png': makeImage(12, 10, 3, 22),
    'trainB/b0.png': makeImage(12, 10, 3, 23),
  });
});

describe('UnalignedDataset', () => {
  it('lists images recursively, case-insensitively, sorted; length is the larger folder', () => {
    const ds = new UnalignedDataset(options(main));
    expect(ds.pathsA).toEqual(['a0.png', 'a1.png', 'a2.png', 'sub/a3.PNG'].map((f) => join(main, 'trainA', f)));
    expect(ds.pathsB).toHaveLength(6);
    expect(ds.length).toBe(6);
    for (let i = 0; i < 6; i++) {
      const item = ds.get(i);
      expect(item.pathA).toBe(ds.pathsA[i % 4]);
      expect([item.A.channels, item.A.height, item.A.width]).toEqual([3, 8, 8]);
      expect([item.B.channels, item.B.height, item.B.width]).toEqual([3, 8, 8]);
    }
  });

  it('draws B at random from the seed; serialBatches pairs B[i % |B|]', () => {
    const draws = (seed: number) => {
      const ds = new UnalignedDataset(options(main, { rng: new Rng(seed) }));
      return Array.from({ length: 30 }, (_, i) => ds.plan(i % 6).indexB);
    };
    const a = draws(3);
    expect(a).toEqual(draws(3));
    expect(a).not.toEqual(draws(4));
    expect(a.every((b) => Number.isInteger(b) && b >= 0 && b < 6)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(3);
    const serial = new UnalignedDataset(options(main, { serialBatches: true }));
    expect(Array.from({ length: 12 }, (_, i) => serial.get(i % 6).pathB)).toEqual([...serial.pathsB, ...serial.pathsB]);
  });

  it('maxDatasetSize keeps the first images of each folder', () => {
    const ds = new UnalignedDataset(options(main, { maxDatasetSize: 2 }));
    expect(ds.pathsA).toEqual([join(main, 'trainA/a0.png'), join(main, 'trainA/a1.png')]);
    expect(ds.length).toBe(2);
  });

  it('a missing or empty folder is an error naming it', () => {
    const noB = makeTree('no-b', { 'trainA/a.png': makeImage(4, 4, 3, 0) });
    expect(() => new UnalignedDataset(options(noB))).toThrow(`image folder ${join(noB, 'trainB')} does not exist`);
    const emptyB = makeTree('empty-b', { 'trainA/a.png': makeImage(4, 4, 3, 0), 'trainB/readme.md': '#' });
    expect(() => new UnalignedDataset(options(emptyB))).toThrow(`image folder ${join(emptyB, 'trainB')} has no images`);
    expect(() => new UnalignedDataset(options(main, { phase: 'test' }))).toThrow(/testA does not exist/);
  });

  it('an unusable file is logged once with its reason and the next image is used', () => {
    const opts = options(broken);
    const ds = new UnalignedDataset(opts);
    expect(ds.pathsA).toHaveLength(4);
    const [good0, junk, cut, good3] = ds.pathsA;
    expect(ds.get(0).pathA).toBe(good0);
    expect(opts.lines).toEqual([]);
    expect(ds.get(1).pathA).toBe(good3);
    expect(opts.lines).toEqual([
      `skipping unusable image ${junk}: unknown image format (not PNG or JPEG)`,
      `skipping unusable image ${cut}: truncated PNG: the file ends before the IEND chunk`,
    ]);
    expect(ds.get(2).pathA).toBe(good3);
    expect(ds.get(1).pathA).toBe(good3);
    expect(opts.lines).toHaveLength(2);
  });

  it('strict mode fails on the header check or on load, naming the file', () => {
    expect(() => new UnalignedDataset(options(broken, { strict: true }))).toThrow(
      `trainA: cannot load ${join(broken, 'trainA/a1-junk.png')}: unknown image format`,
    );
    const good = encodePng(makeImage(12, 10, 3, 30));
    const cutOnly = makeTree('cut-only', {
      'trainA/a0.png': makeImage(12, 10, 3, 31),
      'trainA/a1.png': good.subarray(0, good.length - 30),
      'trainB/b0.png': makeImage(12, 10, 3, 32),
    });
    // Its header is intact, so only decoding finds the damage.
    const ds = new UnalignedDataset(options(cutOnly, { strict: true }));
    expect(ds.get(0).pathA).toBe(join(cutOnly, 'trainA/a0.png'));
    expect(() => ds.get(1)).toThrow(`trainA: cannot load ${join(cutOnly, 'trainA/a1.png')}: truncated PNG`);
  });

  it('a folder where nothing loads is an error', () => {
    const allBad = makeTree('all-bad', { 'trainA/x.png': 'junk', 'trainB/b.png': makeImage(4, 4, 3, 0) });
    const ds = new UnalignedDataset(options(allBad, { preprocess: 'none' }));
    expect(() => ds.get(0)).toThrow('trainA: none of its 1 images could be loaded');
  });

  it('a folder where nothing loads names every file and why', () => {
    const good = encodePng(makeImage(8, 8, 3, 5));
    const allBad = makeTree('all-bad-3', {
      'trainA/a.png': 'junk',
      'trainA/b.png': good.subarray(0, good.length - 30),
      'trainA/c.jpg': new Uint8Array([0xff, 0xd8, 0xff]),
      'trainB/b.png': makeImage(4, 4, 3, 0),
    });
    const ds = new UnalignedDataset(options(allBad, { preprocess: 'none' }));
    let message = '';
    try {
      ds.get(0);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^trainA: none of its 3 images could be loaded:/);
    expect(message).toContain(`${join(allBad, 'trainA/a.png')}: unknown image format`);
    expect(message).toContain(`${join(allBad, 'trainA/b.png')}: truncated PNG`);
    expect(message).toContain(join(allBad, 'trainA/c.jpg'));
  });

  describe('channel conversion', () => {
    let mixed: string;
    beforeAll(() => {
      mixed = makeTree('mixed', {
        'trainA/g0.png': makeImage(8, 8, 1, 40),
        'trainA/g1.png': makeImage(8, 8, 2, 41),
        'trainA/c2.png': makeImage(8, 8, 4, 42),
        'trainA/c3.png': makeImage(8, 8, 3, 43),
        'trainB/b.jpg': readFileSync(new URL('./fixtures/color.jpg', import.meta.url)),
      });
    });

    it('to RGB: one line per folder that needs it; gray is replicated', () => {
      const opts = options(mixed, { preprocess: 'crop' });
      const ds = new UnalignedDataset(opts);
      expect(opts.lines).toEqual(['trainA: 2 grayscale images converted to RGB; alpha channel dropped from 2 images']);
      // Sorted: c2, c3, g0, g1.
      const gray = ds.get(2).A;
      expect(gray.channels).toBe(3);
      const plane = gray.height * gray.width;
      expect(gray.data.subarray(0, plane)).toEqual(gray.data.subarray(plane, 2 * plane));
      expect(gray.data.subarray(0, plane)).toEqual(gray.data.subarray(2 * plane));
    });

    it('to gray, and BtoA swaps which folder gets inputNc', () => {
      const opts = options(mixed, { preprocess: 'crop', inputNc: 1, outputNc: 3, direction: 'BtoA' });
      const ds = new UnalignedDataset(opts);
      // A gets outputNc = 3, B gets inputNc = 1.
      expect(opts.lines).toEqual([
        'trainA: 2 grayscale images converted to RGB; alpha channel dropped from 2 images',
        'trainB: 1 color images converted to grayscale',
      ]);
      const item = ds.get(0);
      expect(item.A.channels).toBe(3);
      expect(item.B.channels).toBe(1);
      const opts1 = options(mixed, { preprocess: 'crop', inputNc: 1, outputNc: 1 });
      const ds1 = new UnalignedDataset(opts1);
      expect(opts1.lines[0]).toBe('trainA: 2 color images converted to grayscale; alpha channel dropped from 2 images');
      expect(ds1.get(0).A.channels).toBe(1);
    });
  });
});

describe('DataLoader', () => {
  const plain = (b: Batch) => ({ ...b, A: Array.from(b.A), B: Array.from(b.B) });

  async function collect(opts: Partial<DataLoaderOptions> & { seed?: number; dataset?: UnalignedDataset }, count: number) {
    const dataset = opts.dataset ?? new UnalignedDataset(options(main, { rng: new Rng(opts.seed ?? 7) }));
    const loader = new DataLoader({ batchSize: 4, workers: 0, ...opts, dataset });
    try {
      const out = [];
      for (let i = 0; i < count; i++) out.push(plain(await loader.nextBatch()));
      // Real workers must not have fallen back silently.
      if (!opts.workerEntry) expect(loader.liveWorkers).toBe(opts.workers ?? 0);
      return out;
    } finally {
      await loader.close();
    }
  }

  it('batches are NCHW, never span epochs, and each epoch visits every item once', async () => {
    const batches = await collect({}, 5);
    expect(batches.map((b) => [b.epoch, b.index, ...b.shapeA])).toEqual([
      [0, 0, 4, 3, 8, 8],
      [0, 1, 2, 3, 8, 8],
      [1, 0, 4, 3, 8, 8],
      [1, 1, 2, 3, 8, 8],
      [2, 0, 4, 3, 8, 8],
    ]);
    expect(batches[0].A).toHaveLength(4 * 3 * 8 * 8);
    expect(batches[1].shapeB).toEqual([2, 3, 8, 8]);
    const ds = new UnalignedDataset(options(main));
    const expected = Array.from({ length: 6 }, (_, i) => ds.pathsA[i % 4]).sort();
    const epoch0 = [...batches[0].pathsA, ...batches[1].pathsA];
    const epoch1 = [...batches[2].pathsA, ...batches[3].pathsA];
    expect([...epoch0].sort()).toEqual(expected);
    expect([...epoch1].sort()).toEqual(expected);
    // Shuffled: the two epochs are in different orders.
    expect(epoch0).not.toEqual(epoch1);
  });

  it('serialBatches keeps file order', async () => {
    const dataset = new UnalignedDataset(options(main, { serialBatches: true }));
    const [first, second] = await collect({ dataset, batchSize: 3 }, 2);
    expect([...first.pathsA, ...second.pathsA]).toEqual([0, 1, 2, 3, 0, 1].map((i) => dataset.pathsA[i]));
    expect([...first.pathsB, ...second.pathsB]).toEqual(dataset.pathsB);
  });

  it('the same seed gives the same batches, with or without workers', async () => {
    const inProcess = await collect({ seed: 9 }, 5);
    expect(await collect({ seed: 9 }, 5)).toEqual(inProcess);
    expect(await collect({ seed: 9, workers: 1, prefetch: 3 }, 5)).toEqual(inProcess);
    expect(await collect({ seed: 9, workers: 2, prefetch: 8 }, 5)).toEqual(inProcess);
    expect(await collect({ seed: 10 }, 5)).not.toEqual(inProcess);
  });

  it('decodes in worker threads when they start', async () => {
    const dataset = new UnalignedDataset(options(main));
    const loader = new DataLoader({ dataset, batchSize: 2, workers: 2 });
    try {
      await loader.nextBatch();
      expect(loader.liveWorkers).toBe(2);
    } finally {
      await loader.close();
    }
    await expect(loader.nextBatch()).rejects.toThrow(/after close/);
  });

  it('falls back to decoding in this thread when a worker cannot start', async () => {
    const opts = options(main, { rng: new Rng(9) });
    const dataset = new UnalignedDataset(opts);
    const workerEntry = new URL('./fixtures/no-such-worker.mjs', import.meta.url);
    const batches = await collect({ dataset, workers: 2, workerEntry }, 5);
    expect(batches).toEqual(await collect({ seed: 9 }, 5));
    expect(opts.lines).toHaveLength(2);
    for (const line of opts.lines) expect(line).toMatch(/^data loader: a decode worker stopped \(.*no-such-worker\.mjs.*\); its items are decoded in the main thread$/);
  });

  it('getState / setState resume exactly, mid-epoch and at an epoch start', async () => {
    for (const skip of [1, 2, 3]) {
      const dataset = new UnalignedDataset(options(main, { rng: new Rng(21) }));
      const loader = new DataLoader({ dataset, batchSize: 4, workers: 1 });
      try {
        for (let i = 0; i < skip; i++) await loader.nextBatch();
        // Through JSON, as a checkpoint stores it.
        const state = JSON.parse(JSON.stringify(loader.getState()));
        const rest = [];
        for (let i = 0; i < 4; i++) rest.push(plain(await loader.nextBatch()));

        // A fresh loader on a differently seeded generator, without workers.
        const other = new UnalignedDataset(options(main, { rng: new Rng(999) }));
        const fresh = new DataLoader({ dataset: other, batchSize: 4, workers: 0 });
        fresh.setState(state);
        const again = [];
        for (let i = 0; i < 4; i++) again.push(plain(await fresh.nextBatch()));
        await fresh.close();
        expect(again).toEqual(rest);

        // Rewinding the same loader discards what it decoded ahead.
        loader.setState(state);
        expect(loader.epoch).toBe(state.epoch);
        const rewound = [];
        for (let i = 0; i < 4; i++) rewound.push(plain(await loader.nextBatch()));
        expect(rewound).toEqual(rest);
      } finally {
        await loader.close();
      }
    }
  });

  it('rejects a state that does not fit the dataset', () => {
    const dataset = new UnalignedDataset(options(main));
    const loader = new DataLoader({ dataset, batchSize: 2, workers: 0 });
    const state = loader.getState();
    expect(() => loader.setState({ ...state, position: 6 })).toThrow(/does not fit a dataset of 6 items/);
    expect(() => loader.setState({ ...state, position: 3, epochRng: null })).toThrow(/epoch generator state/);
  });

  it('epochBatches yields the rest of the current epoch', async () => {
    const dataset = new UnalignedDataset(options(main));
    const loader = new DataLoader({ dataset, batchSize: 4, workers: 0 });
    const sizes = [];
    for await (const batch of loader.epochBatches()) sizes.push(batch.shapeA[0]);
    expect(sizes).toEqual([4, 2]);
    expect(loader.epoch).toBe(1);
    expect(loader.length).toBe(2);
    await loader.close();
  });

  it('bad files: same batches and log lines with and without workers', async () => {
    const run = async (workers: number) => {
      const opts = options(broken, { rng: new Rng(5) });
      const batches = await collect({ dataset: new UnalignedDataset(opts), batchSize: 2, workers }, 4);
      return { batches, lines: opts.lines };
    };
    const here = await run(0);
    expect(here.lines).toHaveLength(2);
    expect(here.lines[0]).toContain('a1-junk.png');
    expect(here.lines[1]).toContain('a2-cut.png');
    for (const b of here.batches) for (const p of b.pathsA) expect(p).toMatch(/good\.png$/);
    expect(await run(2)).toEqual(here);
  });

  it('strict mode: a worker\'s load error reaches the caller', async () => {
    const good = encodePng(makeImage(12, 10, 3, 50));
    const dir = makeTree('strict-loader', {
      'trainA/a0.png': makeImage(12, 10, 3, 51),
      'trainA/a1.png': good.subarray(0, good.length - 30),
      'trainB/b0.png': makeImage(12, 10, 3, 52),
    });
    const dataset = new UnalignedDataset(options(dir, { strict: true, serialBatches: true }));
    const loader = new DataLoader({ dataset, batchSize: 2, workers: 1 });
    await expect(loader.nextBatch()).rejects.toThrow(`trainA: cannot load ${join(dir, 'trainA/a1.png')}: truncated PNG`);
    await loader.close();
  });

  it('images of different sizes cannot share a batch', async () => {
    const dir = makeTree('sizes', {
      'trainA/a0.png': makeImage(8, 8, 3, 60),
      'trainA/a1.png': makeImage(12, 8, 3, 61),
      'trainB/b0.png': makeImage(8, 8, 3, 62),
    });
    copyFileSync(join(dir, 'trainB/b0.png'), join(dir, 'trainB/b1.png'));
    const dataset = new UnalignedDataset(options(dir, { preprocess: 'none', serialBatches: true }));
    const loader = new DataLoader({ dataset, batchSize: 2, workers: 0 });
    await expect(loader.nextBatch()).rejects.toThrow(/cannot batch .*a1\.png \(3x8x12\) with .*a0\.png \(3x8x8\)/);
    await loader.close();
  });
});
