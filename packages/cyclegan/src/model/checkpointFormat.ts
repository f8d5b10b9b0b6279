/**
 * What a CycleGAN training checkpoint may hold, checked before anything is
 * allocated: a checkpoint can come from anywhere (a download, a corrupt
 * disk, a hostile sender), and its JSON decides how large a model gets
 * built. Every field is checked for type and range, the architecture's
 * parameter names and shapes are derived without building it and compared
 * with the tensors actually present, and every value must be finite.
 * Host-free: works on what `decodeCheckpoint` returns.
 */
import { countNonFinite, type TensorEntry } from '@stripes/nn';
import { fmt, sameShape } from '@stripes/tensor';
import { CYCLEGAN_DEFAULTS, type ResolvedCycleGANOptions } from './cyclegan.ts';

export const CHECKPOINT_FORMAT = 'stripes-cyclegan/1';

/**
 * Ranges of the architecture fields. Far past any real model, they bound
 * the work of checking before the tensors are compared (`nLayersD` above
 * ~12 needs images of 2^13 px and more).
 */
export const CHECKPOINT_LIMITS = { channels: 4, filters: 4096, nBlocks: 1000, nLayersD: 12, poolSize: 100_000, epochs: 1_000_000 } as const;

/** Thrown for a file that is not a usable CycleGAN checkpoint; the message names the file and the field. */
export class CheckpointFormatError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: not a usable CycleGAN checkpoint: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ''}`}`);
    this.name = 'CheckpointFormatError';
  }
}

/**
 * The parameter names and shapes of the four networks of a CycleGAN with
 * `o`'s architecture, as `CycleGAN.stateTensors()` names them
 * (`net_G_A.model.1.weight`), derived without building anything.
 */
export function networkShapes(o: Pick<ResolvedCycleGANOptions, 'inputNc' | 'outputNc' | 'ngf' | 'ndf' | 'nBlocks' | 'nLayersD' | 'dropout'>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const conv = (prefix: string, outC: number, inC: number, k: number) => {
    out.set(`${prefix}.weight`, [outC, inC, k, k]);
    out.set(`${prefix}.bias`, [outC]);
  };
  const generator = (net: string, inputNc: number, outputNc: number) => {
    const g = o.ngf;
    conv(`${net}.model.1`, g, inputNc, 7);
    conv(`${net}.model.4`, 2 * g, g, 3);
    conv(`${net}.model.7`, 4 * g, 2 * g, 3);
    for (let b = 0; b < o.nBlocks; b++) {
      conv(`${net}.model.${10 + b}.conv_block.1`, 4 * g, 4 * g, 3);
      conv(`${net}.model.${10 + b}.conv_block.${o.dropout ? 6 : 5}`, 4 * g, 4 * g, 3);
    }
    const up = 10 + o.nBlocks;
    // ConvTranspose2d weights are [in, out, k, k].
    out.set(`${net}.model.${up}.weight`, [4 * g, 2 * g, 3, 3]);
    out.set(`${net}.model.${up}.bias`, [2 * g]);
    out.set(`${net}.model.${up + 3}.weight`, [2 * g, g, 3, 3]);
    out.set(`${net}.model.${up + 3}.bias`, [g]);
    conv(`${net}.model.${up + 7}`, outputNc, g, 7);
  };
  const discriminator = (net: string, inputNc: number) => {
    const d = o.ndf;
    conv(`${net}.model.0`, d, inputNc, 4);
    let mult = 1;
    let index = 2;
    for (let n = 1; n < o.nLayersD; n++, index += 3) {
      const prev = mult;
      mult = Math.min(2 ** n, 8);
      conv(`${net}.model.${index}`, d * mult, d * prev, 4);
    }
    const prev = mult;
    mult = Math.min(2 ** o.nLayersD, 8);
    conv(`${net}.model.${index}`, d * mult, d * prev, 4);
    conv(`${net}.model.${index + 3}`, 1, d * mult, 4);
  };
  generator('net_G_A', o.inputNc, o.outputNc);
  generator('net_G_B', o.outputNc, o.inputNc);
  discriminator('net_D_A', o.outputNc);
  discriminator('net_D_B', o.inputNc);
  return out;
}

type Check = (value: unknown) => string | null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isObject(v)) return 'an object';
  return String(v);
};
const int = (min: number, max: number): Check => (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? null : `must be an integer in [${min}, ${max}], got ${describe(v)}`);
const num = (min: number, max: number, { above = false } = {}): Check => (v) =>
  typeof v === 'number' && Number.isFinite(v) && (above ? v > min : v >= min) && v <= max ? null : `must be a finite number ${above ? '>' : '>='} ${min}${max < Infinity ? ` and <= ${max}` : ''}, got ${describe(v)}`;
const bool: Check = (v) => (typeof v === 'boolean' ? null : `must be true or false, got ${describe(v)}`);
const oneOf = (...values: string[]): Check => (v) => (typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.join(', ')}, got ${describe(v)}`);

const U32 = 0xffffffff;
const L = CHECKPOINT_LIMITS;

/** Every field of the model options, with its range. */
const MODEL_FIELDS: Record<keyof ResolvedCycleGANOptions, Check> = {
  inputNc: int(1, L.channels),
  outputNc: int(1, L.channels),
  ngf: int(1, L.filters),
  ndf: int(1, L.filters),
  nBlocks: int(0, L.nBlocks),
  nLayersD: int(1, L.nLayersD),
  dropout: bool,
  ganMode: oneOf('lsgan', 'vanilla'),
  lambdaA: num(0, Infinity),
  lambdaB: num(0, Infinity),
  lambdaIdentity: num(0, Infinity),
  poolSize: int(0, L.poolSize),
  lr: num(0, Infinity, { above: true }),
  beta1: num(0, 1 - Number.EPSILON),
  nEpochs: int(0, L.epochs),
  nEpochsDecay: int(0, L.epochs),
  epochCount: int(0, L.epochs),
  initGain: num(0, Infinity, { above: true }),
  seed: int(0, U32),
};

/** A Rng's saved state: four u32 words and an optional spare normal. */
function rngProblem(v: unknown): string | null {
  if (!isObject(v)) return `must be a generator state {s, spare}, got ${describe(v)}`;
  const { s, spare } = v;
  if (!Array.isArray(s) || s.length !== 4 || !s.every((x) => int(0, U32)(x) === null)) return `.s must be four integers in [0, ${U32}]`;
  if (s.every((x) => x === 0)) return '.s must not be all zero (the generator would only return zeros)';
  if (spare !== null && num(-Infinity, Infinity)(spare) !== null) return `.spare must be null or a finite number, got ${describe(spare)}`;
  return null;
}

export interface ValidateOptions {
  /** Also check what a resumed run reads: position, data loader, optimizers, schedules, pools, RNG. */
  training?: boolean;
}

/**
 * Checks a decoded checkpoint (`json` and host tensors from
 * `decodeCheckpoint`) and returns its resolved model options; throws a
 * `CheckpointFormatError` listing the problems. Nothing is allocated.
 */
export function validateCheckpoint(json: unknown, tensors: Record<string, TensorEntry>, source: string, options: ValidateOptions = {}): ResolvedCycleGANOptions {
  const problems: string[] = [];
  const fail = (): never => {
    throw new CheckpointFormatError(source, problems);
  };
  if (!isObject(json)) {
    problems.push(`its JSON is ${describe(json)}, not an object`);
    fail();
  }
  const j = json as Record<string, unknown>;
  if (j.format !== CHECKPOINT_FORMAT) {
    problems.push(`format ${describe(j.format)} is not '${CHECKPOINT_FORMAT}'`);
    fail();
  }
  if (!isObject(j.model)) {
    problems.push(`model must be an object of options, got ${describe(j.model)}`);
    fail();
  }
  const model = j.model as Record<string, unknown>;
  for (const [key, check] of Object.entries(MODEL_FIELDS)) {
    const p = check(model[key]);
    if (p) problems.push(`model.${key} ${p}`);
  }
  for (const key of Object.keys(model)) if (!(key in CYCLEGAN_DEFAULTS)) problems.push(`model.${key} is not a CycleGAN option`);
  if (problems.length) fail();
  const o = model as unknown as ResolvedCycleGANOptions;

  // The networks' tensors: exactly the expected names and shapes, finite values.
  const expected = networkShapes(o);
  for (const [name, shape] of expected) {
    const t = tensors[name];
    if (!t) problems.push(`tensor '${name}' is missing (a ${o.nBlocks}-block generator with ngf ${o.ngf}, a ${o.nLayersD}-layer discriminator with ndf ${o.ndf})`);
    else if (!sameShape(t.shape, shape)) problems.push(`tensor '${name}' has shape ${fmt(t.shape)}, the architecture needs ${fmt(shape)}`);
  }
  for (const name of Object.keys(tensors)) {
    if (name.startsWith('net_') && !expected.has(name)) problems.push(`unexpected tensor '${name}' for this architecture`);
    else if (!/^(net_[GD]_[AB]|optimizer_[GD]|pool_fake[AB])\./.test(name)) problems.push(`unexpected tensor '${name}'`);
  }
  if (problems.length) fail();
  for (const [name, t] of Object.entries(tensors)) {
    const bad = countNonFinite(t.data);
    if (bad > 0) problems.push(`tensor '${name}' holds ${bad} non-finite value(s) of ${t.data.length} (a diverged run?)`);
  }
  if (problems.length) fail();
  if (options.training) checkTraining(j, o, tensors, problems);
  if (problems.length) fail();
  return { ...o };
}

/** What only a resumed run reads. */
function checkTraining(j: Record<string, unknown>, o: ResolvedCycleGANOptions, tensors: Record<string, TensorEntry>, problems: string[]): void {
  const check = (path: string, v: unknown, c: Check) => {
    const p = c(v);
    if (p) problems.push(`${path} ${p}`);
  };
  check('epoch', j.epoch, int(1, 2 * L.epochs + 1));
  check('epochIter', j.epochIter, int(0, Number.MAX_SAFE_INTEGER));
  check('totalIters', j.totalIters, int(0, Number.MAX_SAFE_INTEGER));
  const loader = j.loader;
  if (!isObject(loader)) problems.push(`loader must be an object, got ${describe(loader)}`);
  else {
    check('loader.epoch', loader.epoch, int(0, 2 * L.epochs + 1));
    check('loader.position', loader.position, int(0, Number.MAX_SAFE_INTEGER));
    if (loader.epochRng !== null) {
      const p = rngProblem(loader.epochRng);
      if (p) problems.push(`loader.epochRng ${p}`);
    }
    const p = rngProblem(loader.rng);
    if (p) problems.push(`loader.rng ${p}`);
  }
  const t = j.training;
  if (!isObject(t)) {
    problems.push(`training must be an object, got ${describe(t)}`);
    return;
  }
  for (const opt of ['optimizerG', 'optimizerD'] as const) {
    const v = t[opt];
    if (!isObject(v) || !isObject(v.state) || !Array.isArray(v.paramGroups)) {
      problems.push(`training.${opt} must be {state, paramGroups}`);
      continue;
    }
    for (const [k, s] of Object.entries(v.state)) {
      if (!isObject(s)) problems.push(`training.${opt}.state.${k} must be {step}`);
      else check(`training.${opt}.state.${k}.step`, s.step, int(0, Number.MAX_SAFE_INTEGER));
    }
    v.paramGroups.forEach((g: unknown, i: number) => {
      if (!isObject(g) || !Array.isArray(g.params) || !g.params.every((x) => int(0, 1e9)(x) === null)) {
        problems.push(`training.${opt}.paramGroups.${i} must be {params: [indices], ...hyperparameters}`);
        return;
      }
      check(`training.${opt}.paramGroups.${i}.lr`, g.lr, num(0, Infinity));
      check(`training.${opt}.paramGroups.${i}.eps`, g.eps, num(0, Infinity));
      check(`training.${opt}.paramGroups.${i}.weightDecay`, g.weightDecay, num(0, Infinity));
      if (!Array.isArray(g.betas) || g.betas.length !== 2 || !g.betas.every((b) => num(0, 1 - Number.EPSILON)(b) === null)) {
        problems.push(`training.${opt}.paramGroups.${i}.betas must be two numbers in [0, 1)`);
      }
    });
  }
  for (const s of ['schedulerG', 'schedulerD'] as const) {
    const v = t[s];
    if (!isObject(v)) problems.push(`training.${s} must be {lastEpoch, baseLrs}`);
    else {
      check(`training.${s}.lastEpoch`, v.lastEpoch, int(0, 2 * L.epochs + 1));
      if (!Array.isArray(v.baseLrs) || v.baseLrs.length !== 1 || num(0, Infinity, { above: true })(v.baseLrs[0]) !== null) {
        problems.push(`training.${s}.baseLrs must be one positive number`);
      }
    }
  }
  for (const [key, prefix, channels] of [['poolA', 'pool_fakeA.', o.inputNc], ['poolB', 'pool_fakeB.', o.outputNc]] as const) {
    const v = t[key];
    if (!isObject(v)) {
      problems.push(`training.${key} must be {size, rng}`);
      continue;
    }
    check(`training.${key}.size`, v.size, int(0, o.poolSize));
    const p = rngProblem(v.rng);
    if (p) problems.push(`training.${key}.rng ${p}`);
    const size = typeof v.size === 'number' && Number.isSafeInteger(v.size) ? v.size : 0;
    const names = Object.keys(tensors).filter((n) => n.startsWith(prefix));
    for (const n of names) {
      const i = Number(n.slice(prefix.length));
      const shape = tensors[n].shape;
      if (!(Number.isInteger(i) && String(i) === n.slice(prefix.length) && i < size)) problems.push(`unexpected tensor '${n}' (the pool holds ${size})`);
      else if (shape.length !== 4 || shape[0] !== 1 || shape[1] !== channels || shape[2] < 1 || shape[3] < 1) {
        problems.push(`tensor '${n}' has shape ${fmt(shape)}, a pooled image is [1, ${channels}, H, W]`);
      }
    }
    if (names.length < size) problems.push(`training.${key}.size is ${size} but ${names.length} pooled images are present`);
  }
  const p = rngProblem(t.dropoutRng);
  if (p) problems.push(`training.dropoutRng ${p}`);
}
