/**
 * Inference: loading a model from a checkpoint or a generator from any
 * weights file, the `test` command (every testA and testB image through both
 * directions, an HTML page, and metrics.json) and the `translate` command
 * (any file or folder, any size). Images a model made are written as the
 * reference's `tensor2im` writes them.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { decodeWeights, type DecodedWeights } from '@stripes/nn';
import { tensor, tidy, type Tensor } from '@stripes/tensor';
import { DATA_OPTIONS, listImages } from './data/dataset.ts';
import { applyTransform } from './data/transforms.ts';
import { loadMiniZebraSplit, MANIFEST_FILE } from './demo/dataset.ts';
import { ImageDecodeError, readImage, writePng } from './image/codec.ts';
import { isImageChannels, tensor2im, toCHW, toChannels } from './image/convert.ts';
import type { ImageCHW, ImageU8 } from './image/types.ts';
import { evaluateTranslation, type TranslationReport } from './metrics.ts';
import { CycleGAN, MODEL_OPTIONS, translateTensor, type Direction } from './model/cyclegan.ts';
import { describeGenerator, findGenerators, loadGenerator, type GeneratorSpec } from './model/generatorWeights.ts';
import type { ResnetGenerator } from './model/networks.ts';
import { firstImage } from './report/grid.ts';
import { testResultsHtml, type TestPair } from './report/html.ts';
import { writeFileAtomic } from './report/atomicWrite.ts';
import { withDefaults, type OptionInput, type OptionSpec, type OptionValues } from './optionSpec.ts';
import { CHECKPOINT_OPTIONS, checkImageSizes, checkpointPath, EXPERIMENT_OPTIONS, readTrainingCheckpoint } from './train.ts';

/** The options of test and translate (the reference's test_options.py, less the data options). */
export const TEST_OPTIONS = {
  results_dir: { type: 'string', commands: ['test'], default: './results', metavar: 'dir', help: 'where test outputs and their HTML page are written' },
  num_test: { type: 'int', commands: ['test'], default: Infinity, infinite: true, min: 1, help: 'translate at most this many test images' },
  model: {
    type: 'string', commands: ['translate'], required: true, metavar: 'file',
    help: "weights to translate with: a stripes-cyclegan checkpoint, or a generator state dict (.pth, as the reference's latest_net_G.pth, or .safetensors)",
  },
} as const satisfies Record<string, OptionSpec>;

/**
 * Rebuilds the model a checkpoint was trained as and loads its weights (not
 * its training state). The file is checked (options, tensor names and shapes,
 * finite values) before anything is allocated.
 */
export function loadModel(path: string): CycleGAN {
  const { json, tensors } = readTrainingCheckpoint(path, { training: false });
  const netTensors = Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('net_')));
  const model = new CycleGAN({ ...json.model, poolSize: 0 });
  try {
    model.loadState(netTensors);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Output names for input files under `root`, without extension: the path
 * relative to `root` ('sub/good'), so files in different folders stay apart;
 * files that share a name and differ only in extension keep it ('good.jpg',
 * 'good.png'). Any name still taken gets a '~2', '~3'... suffix.
 */
export function outputStems(paths: readonly string[], root: string): string[] {
  const rel = paths.map((p) => relative(root, p).split(sep).join('/'));
  const stem = (r: string) => r.slice(0, r.length - extname(r).length);
  const count = new Map<string, number>();
  for (const r of rel) count.set(stem(r), (count.get(stem(r)) ?? 0) + 1);
  const taken = new Set<string>();
  return rel.map((r) => {
    const base = (count.get(stem(r)) ?? 0) > 1 ? r : stem(r);
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}~${k}`;
    taken.add(name);
    return name;
  });
}

/** Why an image could not be used, without its path. */
function reasonOf(e: unknown): string {
  return e instanceof ImageDecodeError ? e.reason : (e as Error).message;
}

/** The path with links and '..' resolved, as the file system has it; the absolute path when it does not exist. */
export function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function toTensor(img: ImageCHW): Tensor {
  return tensor(img.data, [1, img.channels, img.height, img.width]);
}

/** Test-time crops are centred, as torchvision's CenterCrop would take them; nothing is random at test time. */
const CENTRE = { cropX: 0.5, cropY: 0.5, flip: false };

/** A weights file of any kind we read (safetensors, or a `.pth` in either container); errors name the file. */
export function readWeightsFile(path: string): DecodedWeights {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a weights file' : (e as Error).message}`);
  }
  return decodeWeights(bytes, path);
}

export interface LoadedGenerator {
  generator: ResnetGenerator;
  spec: GeneratorSpec;
  /** Which generator of the file it is, and the direction it maps, in words. */
  description: string;
}

/**
 * The generator to translate with, from any weights file: G_A (AtoB) or G_B
 * (BtoA) of a stripes-cyclegan checkpoint, or the only generator of a bare
 * state dict (the reference's `latest_net_G.pth`, a `.safetensors` one),
 * which maps whichever way it was trained, whatever `direction` says.
 * Dispose the generator when done.
 */
export function loadGeneratorFile(path: string, direction: Direction): LoadedGenerator {
  const decoded = readWeightsFile(path);
  const found = findGenerators(decoded.tensors, path);
  const named = found.find((g) => g.name === (direction === 'AtoB' ? 'G_A' : 'G_B'));
  const chosen = named ?? found.find((g) => g.name === 'generator');
  if (!chosen) throw new Error(`${path}: holds ${found.map((g) => g.name).join(' and ')} but not the generator for ${direction}`);
  const left = chosen.dropped.length + decoded.dropped.length;
  const stats = left ? `; left out its ${left} InstanceNorm running statistics, as the reference does` : '';
  const description = named
    ? `${chosen.name} (${direction}) of a CycleGAN checkpoint, ${describeGenerator(chosen.spec)}`
    : `the single generator of a ${decoded.format} file, ${describeGenerator(chosen.spec)}: it maps the way it was trained, so --direction does not apply${stats}`;
  return { generator: loadGenerator(chosen, path), spec: chosen.spec, description };
}

/** The option groups test reads: its part of the command line. */
const TEST_COMMAND_OPTIONS = { ...DATA_OPTIONS, ...EXPERIMENT_OPTIONS, ...TEST_OPTIONS, ...MODEL_OPTIONS, ...CHECKPOINT_OPTIONS } as const satisfies Record<string, OptionSpec>;

/**
 * `stripes-cyclegan test`'s options as parsed, camelCase-keyed, with their
 * defaults. The networks are built as the checkpoint says: the model
 * options given (`inputNc`, `ngf`, `netG`...) are not read.
 */
export type TestCommandOptions = OptionValues<typeof TEST_COMMAND_OPTIONS, 'test'>;

/**
 * What `runTest` takes: the command line's options (only `dataroot` is
 * required; the others default as on the command line) and a log.
 * The CLI passes its parsed options as they are.
 */
export type TestConfig = OptionInput<typeof TEST_COMMAND_OPTIONS, 'test'> & { log?: (line: string) => void };

export interface TestMetrics {
  /** Mean |rec - real| over pixels in [-1, 1] units, per direction. */
  cycleL1: { A: number; B: number };
  images: { testA: number; testB: number };
  /** Present when the data set carries object masks and backgrounds (the bundled demo data). */
  stripeScore?: TranslationReport['stripeScore'];
  stripeMovement?: number;
  maskIoU?: number;
  targets?: TranslationReport['targets'];
  passed?: boolean;
}

export interface TestResult {
  outDir: string;
  htmlPath: string;
  metricsPath: string;
  metrics: TestMetrics;
}

/** The reference's test.py for CycleGAN: translates every test image both ways and saves real / fake / rec. */
export async function runTest(input: TestConfig): Promise<TestResult> {
  const log = input.log ?? ((line: string) => console.log(line));
  const config = withDefaults(TEST_COMMAND_OPTIONS, 'test', input);
  checkImageSizes(config);
  const ckpt = checkpointPath(config, config.epoch);
  const model = loadModel(ckpt);
  const { inputNc, outputNc } = model.options;
  // A checkpoint may hold networks of other channel counts (import takes what the weights say).
  if (!isImageChannels(inputNc) || !isImageChannels(outputNc)) {
    model.dispose();
    throw new Error(`test: ${ckpt}: the networks map ${inputNc}-channel images to ${outputNc}; images are tested as gray (1) or RGB (3)`);
  }
  const channels = { A: inputNc, B: outputNc };
  const outDir = join(config.resultsDir, config.name, `${config.phase}_${config.epoch}`);
  const imageDir = join(outDir, 'images');
  mkdirSync(imageDir, { recursive: true });
  const transform = { preprocess: config.preprocess, loadSize: config.loadSize, cropSize: config.cropSize, noFlip: true };
  const pairs: TestPair[] = [];
  const translated: Record<'A' | 'B', ImageU8[]> = { A: [], B: [] };
  const originals: Record<'A' | 'B', ImageU8[]> = { A: [], B: [] };
  /** File names of the translated images, in order (a skipped image leaves a gap). */
  const names: Record<'A' | 'B', string[]> = { A: [], B: [] };
  const cycle: Record<'A' | 'B', number[]> = { A: [], B: [] };
  try {
    for (const side of ['A', 'B'] as const) {
      const other = side === 'A' ? 'B' : 'A';
      const dir = join(config.dataroot, `${config.phase}${side}`);
      const paths = listImages(dir, log).slice(0, config.numTest);
      if (paths.length === 0) throw new Error(`${dir}: no images to test`);
      const stems = outputStems(paths, dir);
      const skipped: string[] = [];
      for (const [k, path] of paths.entries()) {
        const stem = stems[k];
        let real: ImageCHW;
        try {
          real = applyTransform(readImage(path), { ...transform, channels: channels[side] }, CENTRE);
        } catch (e) {
          if (config.strict) throw new Error(`${path}: ${reasonOf(e)}`);
          log(`skipping unusable image ${path}: ${reasonOf(e)}`);
          skipped.push(`${path}: ${reasonOf(e)}`);
          continue;
        }
        const [fake, rec, l1] = tidy(() => {
          const x = toTensor(real);
          const f = translateTensor(model.generator(side === 'A' ? 'AtoB' : 'BtoA'), x);
          const r = translateTensor(model.generator(side === 'A' ? 'BtoA' : 'AtoB'), f);
          return [f, r, r.sub(x).abs().mean()];
        });
        const [fakeImg, recImg, l1Value] = await Promise.all([firstImage(fake), firstImage(rec), l1.item()]);
        fake.dispose();
        rec.dispose();
        l1.dispose();
        // As the reference's test.py saves it: through tensor2im like the outputs.
        const realImg = tensor2im(real);
        const files = { real: `${stem}_real_${side}.png`, fake: `${stem}_fake_${other}.png`, rec: `${stem}_rec_${side}.png` };
        mkdirSync(dirname(join(imageDir, files.real)), { recursive: true });
        writePng(join(imageDir, files.real), realImg);
        writePng(join(imageDir, files.fake), fakeImg);
        writePng(join(imageDir, files.rec), recImg);
        pairs.push({ name: `${side}: ${stem}`, input: relative(outDir, join(imageDir, files.real)), output: relative(outDir, join(imageDir, files.fake)) });
        originals[side].push(realImg);
        names[side].push(basename(path));
        translated[side].push(fakeImg);
        cycle[side].push(l1Value);
      }
      if (translated[side].length === 0) {
        throw new Error(`${dir}: none of its ${paths.length} images could be used:\n  ${skipped.slice(0, 10).join('\n  ')}${skipped.length > 10 ? `\n  ... and ${skipped.length - 10} more` : ''}`);
      }
      log(`test: translated ${translated[side].length} ${config.phase}${side} images${skipped.length ? ` (skipped ${skipped.length} unusable)` : ''}`);
    }
  } finally {
    model.dispose();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const metrics: TestMetrics = {
    cycleL1: { A: mean(cycle.A), B: mean(cycle.B) },
    images: { testA: originals.A.length, testB: originals.B.length },
  };
  const demo = demoMetrics(config, names.A, translated.A, log);
  if (demo) {
    Object.assign(metrics, {
      stripeScore: demo.stripeScore, stripeMovement: demo.stripeMovement, maskIoU: demo.maskIoU, targets: demo.targets, passed: demo.passed,
    });
  }
  const metricsPath = join(outDir, 'metrics.json');
  writeFileSync(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  const summary: Array<[string, string]> = [['cycle L1 (A / B)', `${metrics.cycleL1.A.toFixed(4)} / ${metrics.cycleL1.B.toFixed(4)}`]];
  if (demo) {
    summary.push(['stripe movement', `${(demo.stripeMovement * 100).toFixed(1)}% (target ${demo.targets.stripeMovement * 100}%)`]);
    summary.push(['mask IoU', `${demo.maskIoU.toFixed(3)} (target ${demo.targets.maskIoU})`]);
  }
  const htmlPath = join(outDir, 'index.html');
  writeFileAtomic(htmlPath, testResultsHtml(`${config.name}: ${config.phase} results (epoch ${config.epoch})`, pairs, { summary, inputLabel: 'real', outputLabel: 'translated' }));
  return { outDir, htmlPath, metricsPath, metrics };
}

/**
 * Stripe score and shape preservation, when the data set is the bundled mini
 * horse2zebra (it ships masks and backgrounds): each translated testA image is
 * scored against the mask and background of the file it came from.
 */
function demoMetrics(config: TestCommandOptions, namesA: string[], fakeB: ImageU8[], log: (l: string) => void): TranslationReport | null {
  if (config.phase !== 'test' || !existsSync(join(config.dataroot, MANIFEST_FILE))) return null;
  const a = loadMiniZebraSplit(config.dataroot, 'testA');
  const b = loadMiniZebraSplit(config.dataroot, 'testB');
  const index = namesA.map((name) => a.names.indexOf(name));
  if (index.some((i) => i < 0)) {
    log('test: stripe and shape metrics skipped: testA holds files the data set manifest does not list');
    return null;
  }
  if (fakeB.some((img, k) => img.width !== a.images[index[k]].width || img.height !== a.images[index[k]].height)) {
    log('test: stripe and shape metrics skipped: the model resolution differs from the data set (use load_size = crop_size = the image size)');
    return null;
  }
  const rgb = (img: ImageU8) => toChannels(img, 3);
  return evaluateTranslation({
    realA: index.map((i) => rgb(a.images[i])),
    fakeB: fakeB.map(rgb),
    masksA: index.map((i) => a.masks[i]),
    backgroundsA: index.map((i) => a.backgrounds[i]),
    realB: b.images.map(rgb),
    masksB: b.masks,
  });
}

export interface TranslateOptions {
  /** Stop at the first image that cannot be used instead of reporting and skipping it. */
  strict?: boolean;
  /**
   * Scale each image to loadSize x loadSize first (bicubic, aspect ignored),
   * as the reference's test.py does (`--load_size 256`, with crop_size 256).
   * Unset: each image keeps its size.
   */
  loadSize?: number;
  log?: (line: string) => void;
}

/**
 * `translate`: one image file, or every image in a folder (subfolders
 * included), at its own size or scaled to `loadSize`, with the generator of
 * any weights file (`loadGeneratorFile`). A folder's outputs keep their
 * relative paths (`outputStems`) as PNG; nothing is written over an input;
 * images that cannot be decoded are reported and skipped unless `strict`.
 * Resolves to the paths written.
 */
export async function translatePath(
  modelPath: string,
  direction: Direction,
  input: string,
  output: string,
  options: TranslateOptions | ((line: string) => void) = {},
): Promise<string[]> {
  const { strict = false, loadSize, log = console.log } = typeof options === 'function' ? { log: options } : options;
  if (loadSize !== undefined) checkImageSizes({ loadSize, cropSize: loadSize, preprocess: 'resize_and_crop' });
  if (!existsSync(input)) throw new Error(`translate: input not found: ${input}`);
  const isDir = statSync(input).isDirectory();
  const inputs = isDir ? listImages(input, log) : [input];
  const outputs = isDir ? outputStems(inputs, input).map((stem) => join(output, `${stem}.png`)) : [output];
  // Never write over an input: compare real paths (symlinks, '..', case as the file system has it).
  if (isDir && existsSync(output) && realPath(output) === realPath(input)) {
    throw new Error(`translate: the output folder is the input folder (${input}); its images would be written over or mixed with the inputs: choose another folder`);
  }
  const inputSet = new Set(inputs.map(realPath));
  const clash = outputs.find((o) => existsSync(o) && inputSet.has(realPath(o)));
  if (clash) throw new Error(`translate: ${clash} is an input and would be written over: choose another output`);

  const { generator, spec, description } = loadGeneratorFile(modelPath, direction);
  log(`translate: ${modelPath}: ${description}`);
  const channels = spec.inputNc;
  if (!isImageChannels(channels)) {
    generator.dispose();
    throw new Error(`translate: ${modelPath}: the generator takes ${channels}-channel images; images are translated as gray (1) or RGB (3)`);
  }
  const written: string[] = [];
  const skipped: string[] = [];
  try {
    for (const [k, path] of inputs.entries()) {
      let img: ImageCHW;
      try {
        const decoded = readImage(path);
        img = loadSize === undefined
          ? toCHW(toChannels(decoded, channels))
          : applyTransform(decoded, { preprocess: 'resize_and_crop', loadSize, cropSize: loadSize, noFlip: true, channels }, CENTRE);
      } catch (e) {
        if (strict || !isDir || !(e instanceof ImageDecodeError)) throw e;
        log(`skipping unusable image ${path}: ${e.reason}`);
        skipped.push(path);
        continue;
      }
      // Any size: translateTensor pads what the generator needs and crops back.
      const y = tidy(() => translateTensor(generator, toTensor(img)));
      const out = outputs[k];
      mkdirSync(dirname(out), { recursive: true });
      try {
        writePng(out, await firstImage(y));
      } finally {
        y.dispose();
      }
      written.push(out);
    }
  } finally {
    generator.dispose();
  }
  if (written.length === 0) throw new Error(`translate: none of the ${inputs.length} images in ${input} could be decoded`);
  log(`translate: wrote ${written.length} image(s) to ${output}${skipped.length ? `; skipped ${skipped.length} that could not be decoded` : ''}`);
  return written;
}
