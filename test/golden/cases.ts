/**
 * The PyTorch golden cases: stripes run on the inputs of the fixtures that
 * test/golden/generate.py wrote, compared at the suite's tolerances. One list
 * for vitest (golden.test.ts) and for the bundle's selfcheck (selfcheck.ts),
 * so nothing here imports vitest: a case resolves to its mismatches.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CycleGAN, NLayerDiscriminator, readLosses, ResnetGenerator } from '@stripes/cyclegan';
import {
  Adam, Conv2d, ConvTranspose2d, decodeSafetensors, InstanceNorm2d, LeakyReLU, ReflectionPad2d, ReLU, Sequential, SGD, Sigmoid, Tanh,
  ZeroPad2d, type Module, type Optimizer, type Padding2d, type SafeTensor,
} from '@stripes/nn';
import {
  conv2d, convTranspose2d, instanceNorm2d, keep, l1Loss, leakyRelu, mseLoss, noGrad, pad, reflectionPad2d, relu, sigmoid, tanh, tensor, tidy,
  type PadMode, type Tensor,
} from '@stripes/tensor';

/** Beside this module in the workspace, and beside the bundled selfcheck in the bundle. */
export const FIXTURES_DIR = resolve(import.meta.dirname, 'fixtures');

export type FixtureName = 'ops' | 'optim' | 'layers' | 'cyclegan';

/** A case recorded in a fixture's metadata. */
export type FixtureCase = { name: string; opts: Record<string, unknown> };

export type Golden = {
  file: string;
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
  /** The tensor `name`; throws naming the file if it is missing. */
  get(name: string): SafeTensor;
  /** Cases whose metadata has `"op": op` (ops, optim) or `"module": op` (layers), in file order. */
  cases(op: string): FixtureCase[];
};

/** `file` is a fixture name (in `dir`) or a path to a .safetensors file. */
export function loadGolden(file: FixtureName | (string & {}), dir = FIXTURES_DIR): Golden {
  const path = file.endsWith('.safetensors') ? resolve(file) : resolve(dir, `${file}.safetensors`);
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  return {
    file: path,
    tensors,
    metadata,
    get(name) {
      const t = tensors.get(name);
      if (t === undefined) throw new Error(`golden ${path}: no tensor '${name}'`);
      return t;
    },
    cases(op) {
      const out: FixtureCase[] = [];
      for (const [name, json] of Object.entries(metadata)) {
        const opts = JSON.parse(json) as Record<string, unknown>;
        if (opts.op === op || opts.module === op) out.push({ name, opts });
      }
      return out;
    },
  };
}

export type Tolerance = { rtol: number; atol?: number };

function indexIn(flat: number, shape: readonly number[] | undefined): string {
  if (shape === undefined) return `${flat}`;
  const idx: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(rest % shape[d]);
    rest = Math.floor(rest / shape[d]);
  }
  return `${flat} [${idx.join(', ')}]`;
}

/**
 * The suite's closeness measure:
 *
 *     err = max_i |actual_i - expected_i| / max(max_i |expected_i|, atol ?? 0)  <=  rtol
 *
 * i.e. the max error relative to the largest expected magnitude. Measuring
 * against the whole tensor's scale, not each element's, keeps values that
 * are near zero (where float32 sums cancel) from failing on rounding noise.
 * `atol` is a floor for that scale, for tensors whose expected values are all
 * near zero: with it, such a tensor passes when max|a-e| <= rtol * atol.
 * Any NaN or a length mismatch fails. `mismatch` names `label`, the error and
 * the worst element (`shape` makes its index readable), or is null.
 */
export function compareClose(
  actual: Float32Array | readonly number[],
  expected: Float32Array,
  tol: Tolerance,
  label: string,
  shape?: readonly number[],
): { err: number; mismatch: string | null } {
  if (actual.length !== expected.length) {
    return { err: Infinity, mismatch: `${label}: length ${actual.length}, expected ${expected.length}` };
  }
  let maxDiff = 0;
  let worst = -1;
  let maxExpected = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    // `!(diff <= maxDiff)` also catches NaN, so a NaN becomes the reported worst element.
    if (!(diff <= maxDiff) && !Number.isNaN(maxDiff)) {
      maxDiff = diff;
      worst = i;
    }
    maxExpected = Math.max(maxExpected, Math.abs(expected[i]));
  }
  const scale = Math.max(maxExpected, tol.atol ?? 0);
  const err = maxDiff === 0 ? 0 : maxDiff / scale;
  if (err <= tol.rtol) return { err, mismatch: null };
  const where = worst < 0 ? '' : `; worst at ${indexIn(worst, shape)}: actual ${actual[worst]}, expected ${expected[worst]}`;
  return {
    err,
    mismatch: `${label}: max relative error ${err.toExponential(3)} > rtol ${tol.rtol} (max |a-e| ${maxDiff.toExponential(3)}, scale ${scale.toExponential(3)}${where})`,
  };
}

/** The mismatches of one case. */
class Findings {
  readonly list: string[] = [];

  close(actual: Float32Array | readonly number[], expected: Float32Array, tol: Tolerance, label: string, shape?: readonly number[]): void {
    const { mismatch } = compareClose(actual, expected, tol, label, shape);
    if (mismatch) this.list.push(mismatch);
  }

  /** Plain values compared as JSON (shapes, names, counters). */
  same(actual: unknown, expected: unknown, label: string): void {
    const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
    if (a !== e) this.list.push(`${label}: ${a}, expected ${e}`);
  }
}

export interface GoldenCase {
  fixture: FixtureName;
  /** `<fixture>/<case>`, unique. */
  name: string;
  /** Runs stripes on the case; resolves to its mismatches (empty: it passes). */
  run(): Promise<string[]>;
}

/** Forward and backward tolerances of the op cases. */
const OP_Y = { rtol: 1e-4 };
const OP_GRAD = { rtol: 1e-3 };

const leaf = (t: SafeTensor): Tensor => tensor(t.data, t.shape).requireGrad();

/**
 * An op case: builds the inputs (as leaves needing gradients, so `grads`
 * names which of them to compare), runs the op, backpropagates the fixture's
 * `gy` (or the loss itself) and compares the output and the gradients.
 */
function opCase(
  g: Golden,
  { name, opts }: FixtureCase,
  inputs: (get: (k: string) => SafeTensor) => Record<string, Tensor>,
  op: (t: Record<string, Tensor>, opts: Record<string, unknown>) => Tensor,
): GoldenCase {
  return {
    fixture: 'ops',
    name: `ops/${name}`,
    async run() {
      const f = new Findings();
      const get = (k: string) => g.get(`${name}.${k}`);
      const t = inputs(get);
      const y = op(t, opts);
      const isLoss = g.tensors.has(`${name}.loss`);
      const yWant = isLoss ? get('loss') : get('y');
      f.same(y.shape, yWant.shape, `${name}.${isLoss ? 'loss' : 'y'} shape`);
      if (isLoss) y.backward();
      else y.backward(tensor(get('gy').data, get('gy').shape));
      f.close(await y.data(), yWant.data, OP_Y, `${name}.${isLoss ? 'loss' : 'y'}`, y.shape);
      for (const [k, v] of Object.entries(t)) {
        if (!v.requiresGrad) continue;
        const label = `${name}.g${k}`;
        if (v.grad) f.close(await v.grad.data(), get(`g${k}`).data, OP_GRAD, label, v.shape);
        else f.list.push(`${label}: no gradient`);
      }
      for (const v of [...Object.values(t), y]) v.dispose();
      return f.list;
    },
  };
}

function opCases(g: Golden): GoldenCase[] {
  const xwb = (bias: boolean) => (get: (k: string) => SafeTensor) => ({ x: leaf(get('x')), w: leaf(get('w')), ...(bias ? { b: leaf(get('b')) } : {}) });
  const x = (get: (k: string) => SafeTensor) => ({ x: leaf(get('x')) });
  const n = (v: unknown) => v as number;
  const activations: Record<string, (x: Tensor, o: Record<string, unknown>) => Tensor> = {
    relu: (v) => relu(v),
    leaky_relu: (v, o) => leakyRelu(v, n(o.negative_slope)),
    tanh: (v) => tanh(v),
    sigmoid: (v) => sigmoid(v),
  };
  return [
    ...g.cases('conv2d').map((c) =>
      opCase(g, c, xwb(c.opts.bias as boolean), (t, o) => conv2d(t.x, t.w, t.b ?? null, { stride: n(o.stride), padding: n(o.padding) }))),
    ...g.cases('conv_transpose2d').map((c) =>
      opCase(g, c, xwb(c.opts.bias as boolean), (t, o) =>
        convTranspose2d(t.x, t.w, t.b ?? null, { stride: n(o.stride), padding: n(o.padding), outputPadding: n(o.output_padding) }))),
    ...g.cases('instance_norm').map((c) =>
      opCase(g, c, c.opts.affine ? xwb(true) : x, (t, o) => instanceNorm2d(t.x, { eps: n(o.eps), weight: t.w, bias: t.b }))),
    ...g.cases('pad').map((c) =>
      opCase(g, c, x, (t, o) => pad(t.x, o.pad as number[], o.mode as PadMode, (o.value as number | undefined) ?? 0))),
    reflectionPad2dCase(g),
    ...Object.entries(activations).flatMap(([op, fn]) => g.cases(op).map((c) => opCase(g, c, x, (t, o) => fn(t.x, o)))),
    ...(['l1_loss', 'mse_loss'] as const).flatMap((op) =>
      g.cases(op).map((c) =>
        opCase(
          g,
          c,
          (get) => ({ x: leaf(get('x')), target: tensor(get('target').data, get('target').shape) }),
          (t) => (op === 'l1_loss' ? l1Loss : mseLoss)(t.x, t.target),
        ))),
  ];
}

/**
 * reflectionPad2d, the generators' padding, against F.pad's reflect cases: a
 * scalar padding on NCHW (pad_0's [3, 3, 3, 3]) and a 4-sided one on CHW
 * (pad_2's [2, 0, 1, 3], its batch dim dropped).
 */
function reflectionPad2dCase(g: Golden): GoldenCase {
  return {
    fixture: 'ops',
    name: 'ops/reflection_pad2d',
    async run() {
      const f = new Findings();
      const runs = [
        { name: 'pad_0', batched: true, padding: 3 },
        { name: 'pad_2', batched: false, padding: [2, 0, 1, 3] },
      ];
      for (const { name, batched, padding } of runs) {
        const label = `reflectionPad2d(${typeof padding === 'number' ? padding : `[${padding.join(', ')}]`})`;
        const [x, want] = [g.get(`${name}.x`), g.get(`${name}.y`)];
        const input = tensor(x.data, batched ? x.shape : x.shape.slice(1));
        const y = reflectionPad2d(input, padding);
        f.same(y.shape, batched ? want.shape : want.shape.slice(1), `${label} shape`);
        f.close(await y.data(), want.data, OP_Y, label, y.shape);
        input.dispose();
        y.dispose();
      }
      return f.list;
    },
  };
}

type LayerArgs = Record<string, number | boolean | number[]>;

/** The module PyTorch built for a layers case, from its recorded constructor arguments. */
function buildLayer(module: string, a: LayerArgs): Module {
  const n = (k: string) => a[k] as number;
  switch (module) {
    case 'Conv2d':
      return new Conv2d(n('in_channels'), n('out_channels'), n('kernel_size'), { stride: n('stride'), padding: n('padding'), bias: a.bias as boolean | undefined });
    case 'ConvTranspose2d':
      return new ConvTranspose2d(n('in_channels'), n('out_channels'), n('kernel_size'), {
        stride: n('stride'), padding: n('padding'), outputPadding: n('output_padding'), bias: a.bias as boolean | undefined,
      });
    case 'InstanceNorm2d':
      return new InstanceNorm2d(n('num_features'), { affine: a.affine as boolean, eps: n('eps') });
    case 'ReflectionPad2d':
      return new ReflectionPad2d(a.padding as Padding2d);
    case 'ZeroPad2d':
      return new ZeroPad2d(a.padding as Padding2d);
    case 'LeakyReLU':
      return new LeakyReLU(n('negative_slope'));
    case 'Tanh':
      return new Tanh();
    case 'Sigmoid':
      return new Sigmoid();
    case 'Sequential':
      // generate.py's `seq`, layer for layer (its metadata lists their reprs).
      return new Sequential(
        new ReflectionPad2d(1),
        new Conv2d(3, 4, 3),
        new InstanceNorm2d(4),
        new ReLU(),
        new Conv2d(4, 2, 4, { stride: 2, padding: 1 }),
        new LeakyReLU(0.2),
        new Tanh(),
      );
    default:
      throw new Error(`no builder for ${module}`);
  }
}

/** Each layer has PyTorch's state-dict names and shapes, and with the fixture's state, its output. */
function layerCases(g: Golden): GoldenCase[] {
  return Object.entries(g.metadata)
    .map(([name, json]) => ({ name, opts: JSON.parse(json) as { module?: string; state: string[]; args?: LayerArgs } }))
    .filter((c) => c.opts.module)
    .map(({ name, opts }) => ({
      fixture: 'layers' as const,
      name: `layers/${name}`,
      async run() {
        const f = new Findings();
        const m = buildLayer(opts.module!, opts.args ?? {});
        const sd = m.stateDict();
        f.same(Object.keys(sd), opts.state, `${name} state-dict names`);
        for (const key of opts.state) f.same(sd[key]?.shape, g.get(`${name}.${key}`).shape, `${name} ${key} shape`);
        m.loadStateDict(Object.fromEntries(opts.state.map((key) => [key, g.get(`${name}.${key}`)])));
        const x = g.get(`${name}.x`);
        const want = g.get(`${name}.y`);
        const y = noGrad(() => tidy(() => m.call(tensor(x.data, x.shape))));
        f.same(y.shape, want.shape, `${name} output shape`);
        f.close(await y.data(), want.data, { rtol: 1e-4 }, name, want.shape);
        y.dispose();
        m.dispose();
        return f.list;
      },
    }));
}

const OPTIM_TOL = { rtol: 1e-5 };

/** Fresh leaf parameters holding an optim case's initial values. */
export function optimParams(g: Golden, c: FixtureCase): Tensor[] {
  return (c.opts.params as string[]).map((p) => {
    const { data, shape } = g.get(`${c.name}.${p}.init`);
    return keep(tensor(data, shape)).requireGrad();
  });
}

/** torch.optim.Adam or SGD with an optim case's hyperparameters. */
export function optimFor(c: FixtureCase, params: Tensor[]): Optimizer<{ lr: number }> {
  const o = c.opts as { lr: number; betas: [number, number]; eps: number; weight_decay: number; momentum: number; dampening: number; nesterov: boolean };
  return c.opts.op === 'adam'
    ? new Adam(params, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay })
    : new SGD(params, { lr: o.lr, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov, weightDecay: o.weight_decay });
}

/** Sets the fixture's gradients for step `t` (as PyTorch's run did), steps, and resolves to the parameter mismatches. */
export async function optimStep(g: Golden, c: FixtureCase, opt: Optimizer<{ lr: number }>, params: Tensor[], t: number): Promise<string[]> {
  const f = new Findings();
  const names = c.opts.params as string[];
  opt.zeroGrad();
  names.forEach((p, i) => {
    const { data, shape } = g.get(`${c.name}.${p}.grad.${t}`);
    params[i].grad = keep(tensor(data, shape));
  });
  opt.step();
  for (const [i, p] of names.entries()) f.close(await params[i].data(), g.get(`${c.name}.${p}.step.${t}`).data, OPTIM_TOL, `${c.name} ${p} step ${t}`);
  return f.list;
}

/** Every step's parameters, then the step counts and moment buffers, as torch.optim left them. */
function optimCases(g: Golden): GoldenCase[] {
  return [...g.cases('adam'), ...g.cases('sgd')].map((c) => ({
    fixture: 'optim' as const,
    name: `optim/${c.name}`,
    async run() {
      const f = new Findings();
      const params = optimParams(g, c);
      const opt = optimFor(c, params);
      const steps = c.opts.steps as number;
      for (let t = 1; t <= steps; t++) f.list.push(...(await optimStep(g, c, opt, params, t)));
      const { tensors, json } = opt.stateDict();
      const buffers = c.opts.op === 'adam' ? ['exp_avg', 'exp_avg_sq'] : ['momentum_buffer'];
      for (const [i, p] of (c.opts.params as string[]).entries()) {
        f.same(json.state[i].step, steps, `${c.name} ${p} step count`);
        for (const b of buffers) f.close(await tensors[`state.${i}.${b}`].data(), g.get(`${c.name}.${p}.${b}`).data, OPTIM_TOL, `${c.name} ${p} ${b}`);
      }
      opt.dispose();
      for (const p of params) p.dispose();
      return f.list;
    },
  }));
}

/** Fixture tensors under `prefix`, with it removed: one network's state dict. */
function stateUnder(g: Golden, prefix: string): Record<string, SafeTensor> {
  return Object.fromEntries([...g.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/**
 * The reference networks' forward outputs for the fixture's weights, and one
 * full optimizeParameters step (ngf 4, ndf 4, 6 blocks, 32 px, pool
 * disabled): losses and every weight after it to 1e-4 relative to each
 * tensor's largest value. Conv biases that feed an InstanceNorm have a true
 * gradient of 0: in f32 it is rounding noise of either sign, and Adam's first
 * step turns any nonzero gradient into a step of about lr, so those (listed by
 * the fixture) are held to lr instead.
 */
function cycleganCases(g: Golden): GoldenCase[] {
  const config = JSON.parse(g.metadata.config) as {
    ngf: number; ndf: number; n_blocks: number; n_layers_D: number; pool_size: number; lambda_A: number; lambda_B: number;
    lambda_identity: number; gan_mode: 'lsgan'; lr: number; betas: [number, number];
  };
  const image = (k: string) => tensor(g.get(k).data, g.get(k).shape);
  return [
    {
      fixture: 'cyclegan',
      name: 'cyclegan/forward',
      async run() {
        const f = new Findings();
        const gen = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: config.ngf, nBlocks: config.n_blocks });
        const disc = new NLayerDiscriminator({ inputNc: 3, ndf: config.ndf, nLayers: config.n_layers_D });
        gen.loadStateDict(stateUnder(g, 'G_A.'));
        disc.loadStateDict(stateUnder(g, 'D_A.'));
        const [fakeB, dOut] = noGrad(() => tidy(() => [gen.call(image('realA')), disc.call(image('realB'))]));
        f.close(await fakeB.data(), g.get('fakeB').data, { rtol: 1e-4 }, 'G_A(realA)');
        f.close(await dOut.data(), g.get('D_A_realB').data, { rtol: 1e-4 }, 'D_A(realB)');
        for (const t of [fakeB, dOut, gen, disc]) t.dispose();
        return f.list;
      },
    },
    {
      fixture: 'cyclegan',
      name: 'cyclegan/step',
      async run() {
        const f = new Findings();
        const model = new CycleGAN({
          ngf: config.ngf, ndf: config.ndf, nBlocks: config.n_blocks, nLayersD: config.n_layers_D, poolSize: config.pool_size,
          lambdaA: config.lambda_A, lambdaB: config.lambda_B, lambdaIdentity: config.lambda_identity, ganMode: config.gan_mode,
          lr: config.lr, beta1: config.betas[0],
        });
        const nets = model.namedNetworks();
        for (const [name, net] of Object.entries(nets)) net.loadStateDict(stateUnder(g, `${name}.`));
        const [realA, realB] = [image('realA'), image('realB')];
        const values = await readLosses(model.optimizeParameters(realA, realB).losses);
        const expected = JSON.parse(g.metadata.losses) as Record<string, number>;
        for (const k of ['G_A', 'G_B', 'cycle_A', 'cycle_B', 'idt_A', 'idt_B', 'D_A', 'D_B'] as const) {
          const err = Math.abs(values[k] - expected[k]) / Math.abs(expected[k]);
          if (!(err < 1e-4)) f.list.push(`loss ${k}: ${values[k]}, expected ${expected[k]} (relative error ${err.toExponential(3)} >= 1e-4)`);
        }
        const zeroGrad = new Set(JSON.parse(g.metadata.zero_grad_biases) as string[]);
        for (const [netName, net] of Object.entries(nets)) {
          for (const [name, p] of net.namedParameters()) {
            const key = `${netName}.${name}`;
            const want = g.get(`after.${key}`).data;
            const got = await p.data();
            if (zeroGrad.has(key)) {
              const maxDiff = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
              if (!(maxDiff <= 1.01 * config.lr)) f.list.push(`after step: ${key} (a bias before InstanceNorm): max |a-e| ${maxDiff} > lr ${config.lr}`);
            } else {
              f.close(got, want, { rtol: 1e-4 }, `after step: ${key}`);
            }
          }
        }
        for (const t of [realA, realB, model]) t.dispose();
        return f.list;
      },
    },
  ];
}

/** Every golden case, in fixture order: ops, layers, optim, cyclegan. Loads the fixtures from `dir`. */
export function goldenCases(dir = FIXTURES_DIR): GoldenCase[] {
  return [
    ...opCases(loadGolden('ops', dir)),
    ...layerCases(loadGolden('layers', dir)),
    ...optimCases(loadGolden('optim', dir)),
    ...cycleganCases(loadGolden('cyclegan', dir)),
  ];
}
