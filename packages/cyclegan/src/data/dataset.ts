import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Rng } from '@stripes/tensor';
import { ImageDecodeError, probeImage, readImage } from '../image/codec.ts';
import type { ImageChannels } from '../image/convert.ts';
import type { ImageCHW } from '../image/types.ts';
import { DIRECTIONS, type Direction } from '../model/cyclegan.ts';
import { IMAGES, TRAIN, TRAIN_TEST, type OptionSpec } from '../optionSpec.ts';
import { planItem, type ItemPlan } from './pairing.ts';
import { applyTransform, PREPROCESS_MODES, validateTransformOptions } from './transforms.ts';
import type { Preprocess, TransformOptions, TransformParams } from './transforms.ts';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

/** Orders paths by Unicode code point, as Python's sorted() does (UTF-8 byte order is code point order). */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The reference's make_dataset: every .jpg/.jpeg/.png file under `dir`,
 * subfolders included (symlinked folders are not followed, as os.walk), sorted
 * by path. Throws when `dir` is missing or holds no image; a subfolder that
 * cannot be read is skipped, as os.walk skips it, with a line to `warn`.
 */
export function listImages(dir: string, warn: (line: string) => void = console.warn): string[] {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `image folder ${dir} does not exist` : `image folder ${dir} cannot be read (${code})`);
  }
  if (!isDir) throw new Error(`image folder ${dir} is not a directory`);
  const found: string[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (e) {
      if (d === dir) throw new Error(`image folder ${dir} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      warn(`skipping folder ${d}: it cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      return;
    }
    for (const entry of entries) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
    }
  };
  walk(dir);
  if (found.length === 0) throw new Error(`image folder ${dir} has no images (.jpg, .jpeg or .png)`);
  return found.sort(byCodePoint);
}

/** Why a file failed, without its path when the error already names it apart. */
function reasonOf(e: unknown): string {
  return e instanceof ImageDecodeError ? e.reason : (e as Error).message;
}

export interface DatasetItem {
  A: ImageCHW;
  B: ImageCHW;
  pathA: string;
  pathB: string;
}

export interface LoadFailure {
  path: string;
  reason: string;
}

/** What a loader needs, as plain data so it can be posted to a worker thread. */
export interface ItemLoaderSpec {
  /** Display names of the two folders, e.g. "trainA", for messages. */
  nameA: string;
  nameB: string;
  pathsA: string[];
  pathsB: string[];
  transformA: TransformOptions;
  transformB: TransformOptions;
  strict: boolean;
}

/**
 * Reads, decodes and transforms the files of a plan. A file that cannot be
 * used is replaced by the next one in its folder (wrapping), so the result
 * depends only on the plan and the files, wherever it runs.
 */
export class ItemLoader {
  /** Files already found unusable, so they are not read again. */
  private readonly bad = new Map<string, string>();

  constructor(readonly spec: ItemLoaderSpec) {}

  load(plan: ItemPlan): { item: DatasetItem; failures: LoadFailure[] } {
    const { spec } = this;
    const failures: LoadFailure[] = [];
    const a = this.loadFrom(spec.nameA, spec.pathsA, plan.index % spec.pathsA.length, spec.transformA, plan.paramsA, failures);
    const b = this.loadFrom(spec.nameB, spec.pathsB, plan.indexB, spec.transformB, plan.paramsB, failures);
    return { item: { A: a.image, B: b.image, pathA: a.path, pathB: b.path }, failures };
  }

  private loadFrom(
    name: string,
    paths: string[],
    start: number,
    opts: TransformOptions,
    params: TransformParams,
    failures: LoadFailure[],
  ): { image: ImageCHW; path: string } {
    for (let k = 0; k < paths.length; k++) {
      const path = paths[(start + k) % paths.length];
      if (this.bad.has(path)) continue;
      try {
        return { image: applyTransform(readImage(path), opts, params), path };
      } catch (e) {
        const reason = reasonOf(e);
        if (this.spec.strict) throw new Error(`${name}: cannot load ${path}: ${reason}`);
        this.bad.set(path, reason);
        failures.push({ path, reason });
      }
    }
    const reasons = paths.map((p) => `${p}: ${this.bad.get(p) ?? 'not tried'}`);
    const shown = reasons.slice(0, 20).join('\n  ');
    throw new Error(`${name}: none of its ${paths.length} images could be loaded:\n  ${shown}${reasons.length > 20 ? `\n  ... and ${reasons.length - 20} more` : ''}`);
  }
}

/** The data options of the command line (the reference's base_options.py data part). */
export const DATA_OPTIONS = {
  dataroot: { type: 'string', commands: TRAIN_TEST, required: true, metavar: 'dir', help: 'folder holding trainA, trainB, testA, testB' },
  direction: { type: 'choice', commands: IMAGES, default: 'AtoB', choices: DIRECTIONS, help: 'AtoB or BtoA: which domain is the input' },
  serial_batches: { type: 'flag', commands: TRAIN, default: false, help: 'take B images in order instead of at random' },
  batch_size: { type: 'int', commands: TRAIN, default: 1, min: 1, help: 'images per batch' },
  load_size: {
    type: 'int', commands: IMAGES, default: 286, commandDefault: { test: 256, translate: null }, min: 1, help: 'scale images to this size',
    commandHelp: { translate: "scale each image to load_size x load_size first (bicubic, aspect ignored), as the reference's test.py does at 256 [default: each image keeps its size]" },
  },
  crop_size: { type: 'int', commands: TRAIN_TEST, default: 256, min: 1, help: 'then crop to this size' },
  preprocess: {
    type: 'choice',
    commands: TRAIN_TEST,
    default: 'resize_and_crop',
    choices: PREPROCESS_MODES,
    help: 'scaling and cropping of images at load time',
  },
  no_flip: { type: 'flag', commands: TRAIN, default: false, help: 'do not flip images horizontally for augmentation' },
  max_dataset_size: { type: 'int', commands: TRAIN_TEST, default: Infinity, infinite: true, min: 1, help: 'use at most this many images per folder' },
  phase: { type: 'string', commands: TRAIN_TEST, default: 'train', commandDefault: { test: 'test' }, help: 'folder suffix to read: <dataroot>/<phase>A and <phase>B' },
  strict: { type: 'flag', commands: IMAGES, default: false, help: 'stop at the first image that cannot be used, instead of reporting it and skipping it' },
} as const satisfies Record<string, OptionSpec>;

/** Data options that cannot work together (train and test); each message names the command-line options to change. */
export function dataOptionProblems(o: { preprocess: Preprocess; loadSize: number; cropSize: number }): string[] {
  const { preprocess, loadSize, cropSize } = o;
  if ((preprocess === 'resize_and_crop' || preprocess === 'scale_width_and_crop') && cropSize > loadSize) {
    return [`--crop_size ${cropSize} is larger than --load_size ${loadSize}, but --preprocess ${preprocess} crops after scaling to load_size`];
  }
  return [];
}

export interface UnalignedDatasetOptions {
  dataroot: string;
  phase: 'train' | 'test';
  /** Which side is the model's input: with 'BtoA' folder A gets `outputNc` channels and B `inputNc`, as the reference. */
  direction: Direction;
  inputNc: ImageChannels;
  outputNc: ImageChannels;
  loadSize: number;
  cropSize: number;
  preprocess: Preprocess;
  noFlip: boolean;
  /** Pairs B[i % |B|] with A[i] instead of a random B (and the loader does not shuffle). */
  serialBatches: boolean;
  /** Keeps at most this many images per folder (the first ones in sorted order). */
  maxDatasetSize?: number;
  /** Throw on an unusable image instead of logging it and using the next one. */
  strict?: boolean;
  /** Draws B indices and transform parameters; the dataset's loader also shuffles with it. */
  rng: Rng;
  log?: (line: string) => void;
}

/**
 * The reference's UnalignedDataset: folders <dataroot>/<phase>A and
 * <phase>B, length max(|A|, |B|), item i pairs A[i % |A|] with a random B.
 */
export class UnalignedDataset {
  readonly pathsA: string[];
  readonly pathsB: string[];
  readonly length: number;
  readonly serialBatches: boolean;
  readonly rng: Rng;
  readonly spec: ItemLoaderSpec;
  private readonly loader: ItemLoader;
  readonly log: (line: string) => void;
  /** Paths already logged as unusable, so each is reported once. */
  private readonly reported = new Set<string>();

  constructor(opts: UnalignedDatasetOptions) {
    this.log = opts.log ?? ((line) => console.log(line));
    this.rng = opts.rng;
    this.serialBatches = opts.serialBatches;
    const strict = opts.strict ?? false;
    const max = opts.maxDatasetSize ?? Infinity;
    if (!(max >= 1)) throw new Error(`UnalignedDataset: maxDatasetSize must be at least 1, got ${max}`);
    const nameA = `${opts.phase}A`;
    const nameB = `${opts.phase}B`;
    const list = (name: string) => {
      try {
        return listImages(join(opts.dataroot, name), this.log).slice(0, max);
      } catch (e) {
        throw new Error(`UnalignedDataset: ${(e as Error).message}`);
      }
    };
    this.pathsA = list(nameA);
    this.pathsB = list(nameB);
    this.length = Math.max(this.pathsA.length, this.pathsB.length);

    const btoA = opts.direction === 'BtoA';
    const base = { preprocess: opts.preprocess, loadSize: opts.loadSize, cropSize: opts.cropSize, noFlip: opts.noFlip };
    const transformA: TransformOptions = { ...base, channels: btoA ? opts.outputNc : opts.inputNc };
    const transformB: TransformOptions = { ...base, channels: btoA ? opts.inputNc : opts.outputNc };
    validateTransformOptions(transformA);
    this.spec = { nameA, nameB, pathsA: this.pathsA, pathsB: this.pathsB, transformA, transformB, strict };
    this.loader = new ItemLoader(this.spec);
    this.summarizeConversion(nameA, this.pathsA, transformA.channels, strict);
    this.summarizeConversion(nameB, this.pathsB, transformB.channels, strict);
  }

  /**
   * Reads every header once so one line per folder says what the channel
   * conversion will do; strict mode fails here, before training, on a file
   * that is not a readable image.
   */
  private summarizeConversion(name: string, paths: string[], target: ImageChannels, strict: boolean): void {
    let converted = 0;
    let alpha = 0;
    for (const path of paths) {
      let channels: number;
      try {
        channels = probeImage(path).channels;
      } catch (e) {
        // Non-strict: reported with its reason when first loaded.
        if (strict) throw new Error(`${name}: cannot load ${path}: ${reasonOf(e)}`);
        continue;
      }
      if (target === 3 ? channels <= 2 : channels >= 3) converted++;
      if (channels === 2 || channels === 4) alpha++;
    }
    const parts: string[] = [];
    if (converted > 0) {
      parts.push(target === 3 ? `${converted} grayscale images converted to RGB` : `${converted} color images converted to grayscale`);
    }
    if (alpha > 0) parts.push(`alpha channel dropped from ${alpha} images`);
    if (parts.length > 0) this.log(`${name}: ${parts.join('; ')}`);
  }

  /** Draws item `index`'s random choices: B's index (unless serial), then A's and B's transform parameters. */
  plan(index: number): ItemPlan {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new Error(`UnalignedDataset: index ${index} out of range [0, ${this.length})`);
    }
    return planItem(index, this.pathsB.length, this.rng, this.serialBatches);
  }

  /** Logs each unusable file once, naming it and why, e.g. from a worker's result. */
  report(failures: LoadFailure[]): void {
    for (const { path, reason } of failures) {
      if (this.reported.has(path)) continue;
      this.reported.add(path);
      this.log(`skipping unusable image ${path}: ${reason}`);
    }
  }

  /** Loads a plan in this thread. */
  load(plan: ItemPlan): DatasetItem {
    const { item, failures } = this.loader.load(plan);
    this.report(failures);
    return item;
  }

  get(index: number): DatasetItem {
    return this.load(this.plan(index));
  }
}
