/**
 * The table of differentiable ops (after tinygrad's helper_test_op and
 * PyTorch's OpInfo). Each row names an op, its method form, its f64 reference
 * (test/helpers/reference.ts, whose header documents the tolerances), the
 * forward tolerance, and two sample generators: forward samples (odd shapes,
 * broadcasting layouts, the range the op is defined on) and gradcheck samples
 * (inputs kept inside the op's differentiable domain: away from kinks, log's
 * pole, ties). test/tensor/ops.test.ts runs the same checks on every row:
 * forward vs reference (function and method form), gradcheck of every
 * sample, and that nothing is left alive after a forward and backward.
 * Op-specific checks that are not a row live in test/tensor/<op>.test.ts.
 */
import {
  abs,
  add,
  affine,
  broadcastTo,
  clone,
  concat,
  conv2d,
  convTranspose2d,
  div,
  exp,
  flatten,
  instanceNorm2d,
  l1Loss,
  leakyRelu,
  log,
  matmul,
  max,
  maximum,
  mean,
  minimum,
  mseLoss,
  mul,
  neg,
  pad,
  permute,
  pow,
  powScalar,
  reflectionPad2d,
  relu,
  reshape,
  sigmoid,
  slice,
  sqrt,
  stack,
  sub,
  sum,
  tanh,
  transpose,
  type Conv2dPaddingModeOptions,
  type ConvTranspose2dOptions,
  type NormActivation,
  type PadMode,
  type Rng,
  type Tensor,
} from '@stripes/tensor';
import { distinct, normalizedAwayFromKink, randomInput, separated, type GradcheckInput, type GradcheckOptions } from '../helpers/gradcheck.ts';
import * as R from '../helpers/reference.ts';
import { map, randomShape, TOL, U32, zip, type Ref, type Tolerance } from '../helpers/reference.ts';

/** One call of an op: its tensor inputs (shapes and f32 values) and its other arguments. */
export interface Sample<A> {
  inputs: GradcheckInput[];
  args: A;
  /** gradcheck's options for this sample (e.g. a coordinate budget for a large input). */
  options?: GradcheckOptions;
}

/**
 * A row of the table. `A` is the type of the op's non-tensor arguments, `E`
 * the reference's result (a reduction or a product also carries its error
 * scale). Written with method syntax so that any row is an `OpRow<unknown>`.
 */
export interface OpRow<A, E extends Ref = Ref> {
  name: string;
  op(xs: Tensor[], args: A): Tensor;
  /** The same op called as a Tensor method; checked on the forward samples and for leaks. */
  method?(xs: Tensor[], args: A): Tensor;
  reference(xs: Ref[], args: A): E;
  tolerance(expected: E, xs: Ref[], args: A): Tolerance;
  forwardSamples(rng: Rng): Array<Sample<A>>;
  gradSamples(rng: Rng): Array<Sample<A>>;
}

/** Type-checks a row against its own argument type; the table holds it without that type. */
function row<A, E extends Ref = Ref>(r: OpRow<A, E>): OpRow<unknown> {
  return r;
}

type Range = readonly [number, number];
/** Draws one input of a shape, inside a domain. */
type Draw = (shape: number[], rng: Rng) => GradcheckInput;

const uniform =
  ([low, high]: Range, awayFromZero = 0): Draw =>
  (shape, rng) =>
    randomInput(shape, rng, { low, high, awayFromZero });
const UNIT: Range = [-1, 1];
const withoutArgs = (inputs: GradcheckInput[]): Sample<undefined> => ({ inputs, args: undefined });
const constant = (input: GradcheckInput): GradcheckInput => ({ ...input, noGrad: true });

// ------------------------------------------------------------ elementwise maps

interface MapSpec {
  name: string;
  op: (x: Tensor) => Tensor;
  method?: (x: Tensor) => Tensor;
  f: (v: number) => number;
  /** Forward inputs are drawn from this range. */
  range: Range;
  tol: Tolerance;
  /** Gradcheck inputs: a shape and a domain each. */
  grad: Array<[number[], Draw]>;
}

/** Two random shapes of rank 1 to 4, and one larger than a 256-thread workgroup. */
const oddShapes = (rng: Rng): number[][] => [randomShape(1 + rng.int(4), rng), randomShape(1 + rng.int(4), rng), [257, 3]];

function mapRow({ name, op, method, f, range, tol, grad }: MapSpec): OpRow<unknown> {
  return row({
    name,
    op: ([x]) => op(x),
    method: method && (([x]) => method(x)),
    reference: ([x]) => map(x, f),
    tolerance: () => tol,
    forwardSamples: (rng) => oddShapes(rng).map((shape) => withoutArgs([uniform(range)(shape, rng)])),
    gradSamples: (rng) => grad.map(([shape, draw]) => withoutArgs([draw(shape, rng)])),
  });
}

const sigmoidRef = (v: number): number => 1 / (1 + Math.exp(-v));
/** Kinked maps are gradchecked further than the finite-difference step from the kink. */
const awayFromKink = uniform(UNIT, 0.1);
const positive = uniform([0.5, 2]);

const MAPS: MapSpec[] = [
  { name: 'neg', op: neg, method: (x) => x.neg(), f: (v) => -v, range: [-5, 5], tol: TOL.exact, grad: [[[3, 5], uniform(UNIT)]] },
  { name: 'exp', op: exp, method: (x) => x.exp(), f: Math.exp, range: [-10, 10], tol: TOL.transcendental, grad: [[[3, 5], uniform(UNIT)]] },
  { name: 'log', op: log, method: (x) => x.log(), f: Math.log, range: [1e-3, 50], tol: TOL.transcendental, grad: [[[3, 5], positive]] },
  { name: 'sqrt', op: sqrt, method: (x) => x.sqrt(), f: Math.sqrt, range: [0, 100], tol: TOL.basic, grad: [[[3, 5], positive]] },
  { name: 'abs', op: abs, method: (x) => x.abs(), f: Math.abs, range: [-5, 5], tol: TOL.exact, grad: [[[3, 5], awayFromKink]] },
  {
    name: 'relu',
    op: relu,
    method: (x) => x.relu(),
    f: (v) => Math.max(v, 0),
    range: [-5, 5],
    tol: TOL.exact,
    grad: [
      [[3, 5], awayFromKink],
      [[2, 3, 5], uniform([-2, 2], 0.1)],
    ],
  },
  {
    name: 'leakyRelu default slope 0.01',
    op: (x) => leakyRelu(x),
    method: (x) => x.leakyRelu(),
    f: (v) => (v > 0 ? v : Math.fround(0.01) * v),
    range: [-5, 5],
    tol: TOL.basic,
    grad: [
      [[2, 7], awayFromKink],
      [[2, 3, 5], uniform([-2, 2], 0.1)],
    ],
  },
  {
    name: 'leakyRelu(0.2)',
    op: (x) => leakyRelu(x, 0.2),
    method: (x) => x.leakyRelu(0.2),
    f: (v) => (v > 0 ? v : Math.fround(0.2) * v),
    range: [-5, 5],
    tol: TOL.basic,
    grad: [
      [[3, 5], awayFromKink],
      [[2, 3, 5], uniform([-2, 2], 0.1)],
    ],
  },
  {
    name: 'tanh',
    op: tanh,
    method: (x) => x.tanh(),
    f: Math.tanh,
    range: [-6, 6],
    tol: TOL.transcendental,
    grad: [
      [[3, 5], uniform([-2, 2])],
      [[2, 3, 5], uniform([-3, 3])],
    ],
  },
  {
    name: 'sigmoid',
    op: sigmoid,
    method: (x) => x.sigmoid(),
    f: sigmoidRef,
    range: [-20, 20],
    tol: TOL.transcendental,
    grad: [
      [[3, 5], uniform([-3, 3])],
      [[2, 3, 5], uniform([-4, 4])],
    ],
  },
  // Two roundings (or one FMA) with cancellation near the root: absolute error ~u * |a x|.
  { name: 'affine 2.5x - 1', op: (x) => affine(x, 2.5, -1), f: (v) => 2.5 * v - 1, range: [-5, 5], tol: { rtol: 1e-6, atol: 2e-6 }, grad: [[[4, 3], uniform(UNIT)]] },
  { name: 'affine -1.5x + 0.25', op: (x) => affine(x, -1.5, 0.25), f: (v) => -1.5 * v + 0.25, range: [-5, 5], tol: { rtol: 1e-6, atol: 2e-6 }, grad: [[[4, 3], uniform(UNIT)]] },
  // The method form with a number exponent is powScalar.
  { name: 'powScalar 2', op: (x) => powScalar(x, 2), method: (x) => x.pow(2), f: (v) => v ** 2, range: [-4, 4], tol: TOL.transcendental, grad: [[[3, 5], uniform(UNIT)]] },
  { name: 'powScalar 3 (negative base)', op: (x) => powScalar(x, 3), method: (x) => x.pow(3), f: (v) => v ** 3, range: [-3, 3], tol: TOL.transcendental, grad: [[[3, 5], uniform(UNIT, 0.2)]] },
  { name: 'powScalar 0.5', op: (x) => powScalar(x, 0.5), method: (x) => x.pow(0.5), f: Math.sqrt, range: [0, 10], tol: TOL.transcendental, grad: [[[3, 5], positive]] },
  { name: 'powScalar -1', op: (x) => powScalar(x, -1), method: (x) => x.pow(-1), f: (v) => 1 / v, range: [0.1, 10], tol: TOL.transcendental, grad: [[[3, 5], uniform(UNIT, 0.4)]] },
  { name: 'powScalar -0.5', op: (x) => powScalar(x, -0.5), method: (x) => x.pow(-0.5), f: (v) => v ** -0.5, range: [0.1, 4], tol: TOL.transcendental, grad: [[[3, 5], positive]] },
  { name: 'powScalar 1.7', op: (x) => powScalar(x, 1.7), method: (x) => x.pow(1.7), f: (v) => v ** 1.7, range: [0, 10], tol: TOL.transcendental, grad: [[[3, 5], uniform([0.2, 2])]] },
  { name: 'powScalar 2.5', op: (x) => powScalar(x, 2.5), method: (x) => x.pow(2.5), f: (v) => v ** 2.5, range: [0, 10], tol: TOL.transcendental, grad: [[[3, 5], uniform([0.2, 2])]] },
  { name: 'powScalar 0', op: (x) => powScalar(x, 0), method: (x) => x.pow(0), f: () => 1, range: [-3, 3], tol: TOL.exact, grad: [[[3, 5], uniform(UNIT, 0.2)]] },
  // A number operand makes add / sub / mul / div an affine map.
  { name: 'add 2.5', op: (x) => add(x, 2.5), method: (x) => x.add(2.5), f: (v) => v + 2.5, range: [0.1, 4], tol: TOL.basic, grad: [[[3, 5], uniform(UNIT)]] },
  { name: 'sub 1.25', op: (x) => sub(x, 1.25), method: (x) => x.sub(1.25), f: (v) => v - 1.25, range: [0.1, 4], tol: { rtol: 1e-6, atol: 1e-6 }, grad: [[[3, 5], uniform(UNIT)]] },
  { name: 'mul -3', op: (x) => mul(x, -3), method: (x) => x.mul(-3), f: (v) => v * -3, range: [0.1, 4], tol: TOL.basic, grad: [[[3, 5], uniform(UNIT)]] },
  { name: 'div 4', op: (x) => div(x, 4), method: (x) => x.div(4), f: (v) => v / 4, range: [0.1, 4], tol: TOL.basic, grad: [[[3, 5], uniform(UNIT)]] },
  // 1/3 is rounded to f32 before the multiply: two roundings, still within TOL.basic.
  { name: 'div 3', op: (x) => div(x, 3), method: (x) => x.div(3), f: (v) => v / 3, range: [0.1, 4], tol: TOL.basic, grad: [[[3, 5], uniform(UNIT)]] },
];

// ------------------------------------------------------------ binary ops with broadcasting

/** Fixed broadcasting layouts: rank mismatch, size-1 dims on both sides, scalars, empty, rank 6. */
export const BROADCAST_LAYOUTS: Array<[number[], number[]]> = [
  [[5], [5]],
  [[3, 7], [3, 7]],
  [[3, 1, 5], [4, 1]], // -> [3, 4, 5], 1s on both sides and rank mismatch
  [[4, 1], [3, 1, 5]],
  [[7, 1], [1, 9]],
  [[1], [2, 3, 5]],
  [[2, 3, 5], [1]],
  [[], [4, 3]],
  [[4, 3], []],
  [[2, 1, 3, 1, 5], [4, 1, 6, 1]],
  [[1, 1, 1], [3, 1, 2]],
  [[6, 5, 4, 3, 2, 1], [5, 1, 3, 1, 7]], // rank 6
  [[0, 3], [1, 3]],
];

/** A random pair of shapes that broadcast: each side keeps a dim or makes it 1, and may drop leading dims. */
export function randomBroadcastPair(rng: Rng): [number[], number[]] {
  const rank = 1 + rng.int(5);
  const out = Array.from({ length: rank }, () => 1 + rng.int(6));
  const side = (): number[] => {
    const r = rng.int(rank + 1);
    return out.slice(rank - r).map((d) => (rng.random() < 0.35 ? 1 : d));
  };
  return [side(), side()];
}

/** Smaller layouts for gradchecks: the same kinds of broadcast, each gradient summed back to its input's shape. */
const GRAD_LAYOUTS: Array<[number[], number[]]> = [
  [[3, 4], [3, 4]],
  [[2, 3, 4], [4]],
  [[3, 1], [1, 4]],
  [[4], [2, 3, 4]],
  [[2, 1, 3], [4, 1]],
  [[], [2, 3]],
];

interface BinarySpec {
  name: string;
  op: (a: Tensor, b: Tensor) => Tensor;
  method: (a: Tensor, b: Tensor) => Tensor;
  f: (x: number, y: number) => number;
  ranges: [Range, Range];
  tol: Tolerance;
  grad: [Draw, Draw];
  /** Gradchecks beyond the layouts (a constant operand, a special domain). */
  moreGrad?: (rng: Rng) => Array<Sample<undefined>>;
}

function binaryRow({ name, op, method, f, ranges, tol, grad, moreGrad }: BinarySpec): OpRow<unknown> {
  return row({
    name,
    op: ([a, b]) => op(a, b),
    method: ([a, b]) => method(a, b),
    reference: ([a, b]) => zip(a, b, f),
    tolerance: () => tol,
    forwardSamples: (rng) =>
      [...BROADCAST_LAYOUTS, ...Array.from({ length: 6 }, () => randomBroadcastPair(rng))].map(([sa, sb]) =>
        withoutArgs([uniform(ranges[0])(sa, rng), uniform(ranges[1])(sb, rng)]),
      ),
    gradSamples: (rng) => [...GRAD_LAYOUTS.map(([sa, sb]) => withoutArgs([grad[0](sa, rng), grad[1](sb, rng)])), ...(moreGrad?.(rng) ?? [])],
  });
}

const ARITHMETIC: Range = [-5, 5];
const BINARY: BinarySpec[] = [
  { name: 'add', op: add, method: (a, b) => a.add(b), f: (x, y) => x + y, ranges: [ARITHMETIC, ARITHMETIC], tol: TOL.basic, grad: [uniform(UNIT), uniform(UNIT)] },
  { name: 'sub', op: sub, method: (a, b) => a.sub(b), f: (x, y) => x - y, ranges: [ARITHMETIC, ARITHMETIC], tol: TOL.basic, grad: [uniform(UNIT), uniform(UNIT)] },
  {
    name: 'mul',
    op: mul,
    method: (a, b) => a.mul(b),
    f: (x, y) => x * y,
    ranges: [ARITHMETIC, ARITHMETIC],
    tol: TOL.basic,
    grad: [uniform(UNIT), uniform(UNIT)],
    moreGrad: (rng) => [withoutArgs([randomInput([3, 4], rng), constant(randomInput([4], rng))])],
  },
  { name: 'div', op: div, method: (a, b) => a.div(b), f: (x, y) => x / y, ranges: [ARITHMETIC, [0.2, 5]], tol: TOL.basic, grad: [uniform(UNIT), uniform(UNIT, 0.5)] },
  {
    name: 'pow',
    op: pow,
    method: (a, b) => a.pow(b),
    f: (x, y) => x ** y,
    ranges: [
      [0.1, 4],
      [-2, 2],
    ],
    tol: TOL.transcendental,
    grad: [uniform([0.5, 2]), uniform([-1.5, 1.5])],
    // A negative base with a constant integer exponent tensor.
    moreGrad: (rng) => [withoutArgs([randomInput([2, 3], rng, { low: -2, high: -0.5 }), { shape: [3], data: Float32Array.of(2, 3, -1), noGrad: true }])],
  },
  {
    name: 'maximum',
    op: maximum,
    method: (a, b) => a.maximum(b),
    f: Math.max,
    ranges: [ARITHMETIC, ARITHMETIC],
    tol: TOL.exact,
    grad: [(s, rng) => separated(s, rng, 0), (s, rng) => separated(s, rng, 1)],
  },
  {
    name: 'minimum',
    op: minimum,
    method: (a, b) => a.minimum(b),
    f: Math.min,
    ranges: [ARITHMETIC, ARITHMETIC],
    tol: TOL.exact,
    grad: [(s, rng) => separated(s, rng, 0), (s, rng) => separated(s, rng, 1)],
  },
];

// ------------------------------------------------------------ reductions

type Axes = number | number[] | undefined;
interface ReduceArgs {
  axes: Axes;
  keepDims: boolean;
}

/** Random shapes of rank 1 to 4 reduced over single, negative, multiple, no and all axes, plus size-1 axes. */
function reductionSamples(rng: Rng): Array<Sample<ReduceArgs>> {
  const samples: Array<Sample<ReduceArgs>> = [];
  const over = (input: GradcheckInput, axesList: Axes[]) => {
    for (const axes of axesList) for (const keepDims of [false, true]) samples.push({ inputs: [input], args: { axes, keepDims } });
  };
  for (let rank = 1; rank <= 4; rank++) {
    const axesList: Axes[] = [undefined, 0, -1, [], [...Array(rank).keys()]];
    if (rank >= 2) axesList.push(1, -2, [0, rank - 1], [-1, 0]);
    if (rank >= 3) axesList.push([0, 2], [1, -1], [2, 0, 1]);
    if (rank >= 4) axesList.push([1, 3], [0, 1, 3], -3);
    over(randomInput(randomShape(rank, rng, 9), rng, { low: -3, high: 3 }), axesList);
  }
  over(randomInput([3, 1, 5], rng), [1, [1, 2]]);
  over(randomInput([1, 15, 1], rng), [undefined]);
  return samples;
}

const GRAD_AXES: ReduceArgs[] = [
  { axes: undefined, keepDims: false },
  { axes: 0, keepDims: false },
  { axes: -1, keepDims: true },
  { axes: [0, 2], keepDims: false },
  { axes: [-1, 1], keepDims: true },
  { axes: 1, keepDims: false },
];

function reduceRow(
  name: 'sum' | 'mean' | 'max',
  op: (x: Tensor, axes?: Axes, keepDims?: boolean) => Tensor,
  draw: Draw,
  moreGrad?: (rng: Rng) => Array<Sample<ReduceArgs>>,
): OpRow<unknown> {
  return row<ReduceArgs, R.Reduced>({
    name,
    op: ([x], { axes, keepDims }) => op(x, axes, keepDims),
    method: ([x], { axes, keepDims }) => x[name](axes, keepDims),
    reference: ([x], { axes, keepDims }) => R.reduce(x, name, axes, keepDims),
    // A sum of n terms is within (n - 1) u sum|x| in any order; max is exact.
    tolerance: (e) => (name === 'max' ? TOL.exact : { rtol: (e.count + 2) * U32, scale: e.absSum }),
    forwardSamples: reductionSamples,
    gradSamples: (rng) => [...GRAD_AXES.map((args) => ({ inputs: [draw([2, 3, 4], rng)], args })), ...(moreGrad?.(rng) ?? [])],
  });
}

// ------------------------------------------------------------ matmul

const MATMUL_SHAPES: Array<[number[], number[]]> = [
  // 2-D with odd M, N, K inside, at and across the 32x32 tile.
  ...([
    [1, 1, 1],
    [3, 7, 5],
    [33, 17, 65],
    [70, 1, 40],
    [1, 100, 1],
    [32, 32, 32],
    [31, 129, 33],
    [97, 61, 5],
    [5, 9, 3],
  ] as const).map(([m, k, n]): [number[], number[]] => [
    [m, k],
    [k, n],
  ]),
  // Equal batch dims.
  [[3, 5, 7], [3, 7, 9]],
  [[2, 3, 9, 4], [2, 3, 4, 6]],
  [[1, 6, 6], [1, 6, 6]],
  // A 2-D operand's batch broadcast.
  [[4, 5, 6], [6, 7]],
  [[5, 6], [4, 6, 7]],
  [[2, 3, 5, 6], [6, 4]],
  [[3, 2], [2, 3, 2, 5]],
  // A batch of one broadcast, and batch dims equal up to leading 1s.
  [[1, 5, 6], [3, 6, 7]],
  [[3, 5, 6], [1, 6, 7]],
  [[1, 1, 5, 6], [3, 6, 7]],
  [[2, 5, 6], [1, 1, 6, 7]],
  [[1, 3, 4, 5], [3, 5, 2]],
];

const MATMUL_GRAD_SHAPES: Array<[number[], number[]]> = [
  [[3, 4], [4, 5]],
  [[1, 7], [7, 1]],
  [[5, 3], [3, 2]],
  [[2, 3, 4], [2, 4, 2]],
  [[2, 3, 4], [4, 3]], // 2-D b broadcast over the batch: its gradient sums over it
  [[3, 2], [2, 2, 3]],
  [[1, 3, 2], [2, 2, 3]],
  [[2, 2, 3], [1, 3, 2]],
];

const matmulRow = row<undefined, R.Product>({
  name: 'matmul',
  op: ([a, b]) => matmul(a, b),
  method: ([a, b]) => a.matmul(b),
  reference: ([a, b]) => R.matmul(a, b),
  // Each output is a K-term dot product: within (K - 1) u (|A| @ |B|) in any order.
  tolerance: (e, [a]) => ({ rtol: (a.shape[a.shape.length - 1] + 2) * U32, scale: e.absProduct }),
  forwardSamples: (rng) => MATMUL_SHAPES.map(([sa, sb]) => withoutArgs([uniform([-2, 2])(sa, rng), uniform([-2, 2])(sb, rng)])),
  gradSamples: (rng) => MATMUL_GRAD_SHAPES.map(([sa, sb]) => withoutArgs([randomInput(sa, rng), randomInput(sb, rng)])),
});

// ------------------------------------------------------------ layout ops (exact: they move f32 values without arithmetic)

/** Samples of a one-input layout op: one input of `shape` per argument. */
const layoutSamples =
  <A>(cases: Array<[number[], A]>) =>
  (rng: Rng): Array<Sample<A>> =>
    cases.map(([shape, args]) => ({ inputs: [randomInput(shape, rng)], args }));

/** Samples of a many-input layout op: `shapes` per argument. */
const piecesSamples =
  <A>(cases: Array<[number[][], A]>) =>
  (rng: Rng): Array<Sample<A>> =>
    cases.map(([shapes, args]) => ({ inputs: shapes.map((s) => randomInput(s, rng)), args }));

function shuffle<T>(xs: T[], rng: Rng): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Random permutations of random shapes up to rank 6, every third with a negative axis. */
function permuteSamples(rng: Rng): Array<Sample<number[]>> {
  return Array.from({ length: 14 }, (_, trial) => {
    const rank = 1 + (trial % 6);
    const shape = randomShape(rank, rng, 5);
    const dims = shuffle([...Array(rank).keys()], rng);
    if (trial % 3 === 0) dims[0] -= rank;
    return { inputs: [randomInput(shape, rng)], args: dims };
  });
}

/** slice(axis, start, end) along each axis of [4, 7, 5], with negative and omitted ends (empty ranges included). */
function sliceSamples(rng: Rng): Array<Sample<[number, number, number?]>> {
  const shape = [4, 7, 5];
  const x = randomInput(shape, rng);
  const ranges: Array<[number, number?]> = [[0], [1, 3], [-2], [-3, -1], [0, -1], [2, 2], [0, 1], [-1]];
  const samples: Array<Sample<[number, number, number?]>> = [{ inputs: [x], args: [1, -4, 6] }];
  for (let axis = -3; axis < 3; axis++) {
    const n = shape[axis < 0 ? axis + 3 : axis];
    for (const [s, e] of ranges) {
      if ((s < 0 ? s + n : s) > (e === undefined ? n : e < 0 ? e + n : e)) continue;
      samples.push({ inputs: [x], args: [axis, s, e] });
    }
  }
  return samples;
}

/** Three pieces of [3, 4, 5] with sizes 1, 3, 2 along each axis (negative ones too). */
const CONCAT_CASES: Array<[number[][], number]> = [-3, -2, -1, 0, 1, 2].map((axis) => {
  const a = axis < 0 ? axis + 3 : axis;
  return [[1, 3, 2].map((k) => [3, 4, 5].map((d, i) => (i === a ? k : d))), axis];
});

const LAYOUT: Array<OpRow<unknown>> = [
  row<number[]>({
    name: 'reshape',
    op: ([x], shape) => reshape(x, shape),
    method: ([x], shape) => x.reshape(shape),
    reference: ([x], shape) => R.reshape(x, shape),
    tolerance: () => TOL.exact,
    forwardSamples: layoutSamples(([[60], [-1], [5, -1], [2, -1, 5], [1, 3, 1, 20], [-1, 1], [4, 15]] as number[][]).map((target) => [[3, 4, 5], target])),
    gradSamples: layoutSamples([[[2, 3, 4], [4, -1]]]),
  }),
  row<[number?, number?]>({
    name: 'flatten',
    op: ([x], axes) => flatten(x, ...axes),
    method: ([x], axes) => x.flatten(...axes),
    reference: ([x], axes) => R.flatten(x, ...axes),
    tolerance: () => TOL.exact,
    forwardSamples: layoutSamples(([[], [1], [1, 2], [-2, -1], [2, 2]] as Array<[number?, number?]>).map((axes) => [[2, 3, 4, 5], axes])),
    gradSamples: layoutSamples([[[2, 3, 4], [1]]]),
  }),
  row<number[]>({
    name: 'permute',
    op: ([x], dims) => permute(x, dims),
    method: ([x], dims) => x.permute(dims),
    reference: ([x], dims) => R.permute(x, dims),
    tolerance: () => TOL.exact,
    forwardSamples: permuteSamples,
    gradSamples: layoutSamples([
      [[2, 3, 4], [2, 0, 1]],
      [[2, 3, 4], [1, -1, 0]],
    ]),
  }),
  row<[number?, number?]>({
    name: 'transpose',
    op: ([x], axes) => transpose(x, ...axes),
    method: ([x], axes) => x.transpose(...axes),
    reference: ([x], axes) => R.transpose(x, ...axes),
    tolerance: () => TOL.exact,
    forwardSamples: layoutSamples<[number?, number?]>([
      ...([[-2, -1], [0, 1], [0, 3], [1, -2], [2, 2], [-4, -1], []] as Array<[number?, number?]>).map((axes): [number[], [number?, number?]] => [[3, 5, 7, 2], axes]),
      [[13, 31], []],
    ]),
    gradSamples: layoutSamples<[number?, number?]>([
      [[2, 3, 4], []],
      [[2, 3, 4], [0, 2]],
    ]),
  }),
  row<[number, number, number?]>({
    name: 'slice',
    op: ([x], [axis, start, end]) => slice(x, axis, start, end),
    method: ([x], [axis, start, end]) => x.slice(axis, start, end),
    reference: ([x], [axis, start, end]) => R.slice(x, axis, start, end),
    tolerance: () => TOL.exact,
    forwardSamples: sliceSamples,
    gradSamples: layoutSamples<[number, number, number?]>([
      [[4, 5], [0, 1, 3]],
      [[4, 5], [1, -3, -1]],
      [[2, 2, 5], [-1, 2]],
    ]),
  }),
  row<number>({
    name: 'concat',
    op: (xs, axis) => concat(xs, axis),
    reference: (xs, axis) => R.concat(xs, axis),
    tolerance: () => TOL.exact,
    // One input, and an empty piece, besides each axis.
    forwardSamples: piecesSamples([...CONCAT_CASES, [[[2, 3]], 1], [[[2, 3], [2, 0]], 1]]),
    gradSamples: piecesSamples([
      [[[1, 3], [2, 3], [3, 3]], 0],
      [[[2, 3], [2, 2]], 1],
      [[[2, 2, 1], [2, 2, 3]], -1],
    ]),
  }),
  row<number>({
    name: 'stack',
    op: (xs, axis) => stack(xs, axis),
    reference: (xs, axis) => R.stack(xs, axis),
    tolerance: () => TOL.exact,
    forwardSamples: piecesSamples([-3, -2, -1, 0, 1, 2].map((axis): [number[][], number] => [[[3, 5], [3, 5], [3, 5], [3, 5]], axis])),
    gradSamples: piecesSamples([
      [[[2, 3], [2, 3]], 0],
      [[[2, 3], [2, 3], [2, 3]], 1],
      [[[3, 2], [3, 2]], -1],
    ]),
  }),
  row<number[]>({
    name: 'broadcastTo',
    op: ([x], shape) => broadcastTo(x, shape),
    reference: ([x], shape) => R.broadcastTo(x, shape),
    tolerance: () => TOL.exact,
    forwardSamples: layoutSamples([
      [[3], [4, 3]],
      [[1], [2, 3, 5]],
      [[4, 1], [2, 4, 7]],
      [[1, 5, 1], [3, 5, 2]],
      [[], [2, 2]],
      [[2, 3], [2, 3]],
      [[3, 1], [1, 2, 3, 6]],
    ]),
    gradSamples: layoutSamples([
      [[3], [2, 4, 3]],
      [[2, 1, 3], [2, 4, 3]],
    ]),
  }),
  row<undefined>({
    name: 'clone',
    op: ([x]) => clone(x),
    method: ([x]) => x.clone(),
    reference: ([x]) => x,
    tolerance: () => TOL.exact,
    forwardSamples: layoutSamples([[[1031], undefined]]),
    gradSamples: layoutSamples([[[3, 5], undefined]]),
  }),
];

// ------------------------------------------------------------ losses

/** Input and target kept at least 0.2 apart, so the finite-difference step never crosses |x - t| = 0. */
function apart(rng: Rng): [GradcheckInput, GradcheckInput] {
  const x = randomInput([2, 3, 5], rng);
  const d = randomInput([2, 3, 5], rng, { awayFromZero: 0.2 });
  return [x, { shape: x.shape, data: x.data.map((v, i) => v - d.data[i]) }];
}

/** An input at least 0.2 from a number target, as `apart`. */
function apartFrom(target: number, rng: Rng): GradcheckInput {
  const d = randomInput([2, 3, 5], rng, { awayFromZero: 0.2 });
  return { shape: d.shape, data: d.data.map((v) => v + target) };
}

/**
 * A loss's target: undefined for the second input (a tensor), or a number
 * (a constant, as the GAN labels 1 and 0; the kernels take it as an f32).
 */
type LossTarget = number | undefined;

function lossRow(name: string, op: (x: Tensor, t: Tensor | number) => Tensor, f: (d: number) => number): OpRow<unknown> {
  return row<LossTarget, R.Reduced>({
    name,
    op: ([x, t], target) => op(x, target ?? t),
    reference: ([x, t], target) => R.reduce(target === undefined ? zip(x, t, (a, b) => f(a - b)) : map(x, (a) => f(a - Math.fround(target))), 'mean'),
    tolerance: () => ({ rtol: 1e-5 }),
    forwardSamples: (rng) => {
      const x = (): GradcheckInput => randomInput([3, 5, 7, 9], rng, { low: -3, high: 3 });
      return [withoutArgs([x(), randomInput([3, 5, 7, 9], rng)]), ...[1, 0, -0.3].map((target) => ({ inputs: [x()], args: target }))];
    },
    gradSamples: (rng) => {
      const [x, t] = apart(rng);
      // Both arguments, then the target's gradient alone, then a number target.
      return [
        { inputs: [x, t], args: undefined, options: { maxCoords: 30 } },
        withoutArgs(apart(rng).map((input, i) => (i === 0 ? constant(input) : input))),
        { inputs: [apartFrom(0.7, rng)], args: 0.7, options: { maxCoords: 30 } },
      ];
    },
  });
}

// ------------------------------------------------------------ convolutions

const asPair = (v: number | readonly [number, number] | undefined, byDefault: number): R.Pair => (typeof v === 'number' ? [v, v] : (v ?? [byDefault, byDefault]));

/** conv2d's and convTranspose2d's samples: input, weight and (unless `bias` is false) bias shapes. */
type ConvCase<O> = [name: string, x: number[], w: number[], options: O, bias?: boolean];

const convSamples =
  <O>(cases: Array<ConvCase<O>>, biasAxis: number) =>
  (rng: Rng): Array<Sample<O>> =>
    cases.map(([, xs, ws, options, bias = true]) => ({
      inputs: [randomInput(xs, rng), randomInput(ws, rng), ...(bias ? [randomInput([ws[biasAxis]], rng)] : [])],
      args: options,
    }));

const CONV2D_CASES: Array<ConvCase<Conv2dPaddingModeOptions>> = [
  ['k3 s1 p1', [2, 3, 5, 6], [4, 3, 3, 3], { padding: 1 }],
  ['k4 s2 p1', [1, 2, 7, 8], [3, 2, 4, 4], { stride: 2, padding: 1 }],
  ['k1 s2 p0', [2, 5, 5, 5], [3, 5, 1, 1], { stride: 2 }],
  ['k3 stride [2, 1] padding [0, 2]', [1, 3, 7, 5], [2, 3, 3, 3], { stride: [2, 1], padding: [0, 2] }],
  ['reflect k3 s1 p1', [2, 3, 5, 6], [4, 3, 3, 3], { padding: 1, paddingMode: 'reflect' }],
  ['reflect k5x3 stride [1, 2] padding [2, 1]', [1, 2, 4, 5], [3, 2, 5, 3], { stride: [1, 2], padding: [2, 1], paddingMode: 'reflect' }],
];

const CONV_TRANSPOSE2D_CASES: Array<ConvCase<ConvTranspose2dOptions>> = [
  ['k3 s2 p1 op1', [2, 4, 3, 4], [4, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }],
  ['k4 s2 p1', [1, 3, 4, 3], [3, 2, 4, 4], { stride: 2, padding: 1 }],
  ['k3 s1 p1', [1, 3, 5, 4], [3, 5, 3, 3], { padding: 1 }],
  ['k3 stride [3, 2] padding [2, 0] outputPadding [2, 1]', [1, 2, 3, 4], [2, 3, 3, 3], { stride: [3, 2], padding: [2, 0], outputPadding: [2, 1] }],
];

/**
 * Each output sums at most (input channels x kernel taps) products and a bias:
 * the reduction bound with that many terms. `inputChannelAxis` is the weight's.
 */
const convTolerance =
  (inputChannelAxis: number) =>
  (e: R.Product, [, w]: Ref[]): Tolerance => ({ rtol: (w.shape[inputChannelAxis] * w.shape[2] * w.shape[3] + 3) * U32, scale: e.absProduct });

const CONV: Array<OpRow<unknown>> = [
  row<Conv2dPaddingModeOptions, R.Product>({
    name: 'conv2d',
    op: ([x, w, b], options) => conv2d(x, w, b ?? null, options),
    // Reflect padding: the reflection-padded input convolved unpadded.
    reference: ([x, w, b], { stride, padding, paddingMode }) => {
      const [pH, pW] = asPair(padding, 0);
      return paddingMode === 'reflect'
        ? R.conv2d(R.pad(x, [pW, pW, pH, pH], 'reflect'), w, b ?? null, asPair(stride, 1), [0, 0])
        : R.conv2d(x, w, b ?? null, asPair(stride, 1), [pH, pW]);
    },
    tolerance: convTolerance(1),
    forwardSamples: convSamples([...CONV2D_CASES, ['no bias', [1, 3, 6, 5], [2, 3, 3, 3], { padding: 1 }, false]], 0),
    gradSamples: convSamples(CONV2D_CASES, 0),
  }),
  row<ConvTranspose2dOptions, R.Product>({
    name: 'convTranspose2d',
    op: ([x, w, b], options) => convTranspose2d(x, w, b ?? null, options),
    reference: ([x, w, b], { stride, padding, outputPadding }) =>
      R.convTranspose2d(x, w, b ?? null, asPair(stride, 1), asPair(padding, 0), asPair(outputPadding, 0)),
    tolerance: convTolerance(0),
    forwardSamples: convSamples([...CONV_TRANSPOSE2D_CASES, ['no bias', [1, 3, 4, 3], [3, 2, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }, false]], 1),
    gradSamples: convSamples(CONV_TRANSPOSE2D_CASES, 1),
  }),
];

// ------------------------------------------------------------ padding

interface PadArgs {
  padding: number[];
  mode: PadMode;
  value: number;
}

const PAD_CASES: Array<[number[], PadArgs]> = [
  [[1, 3, 4, 5], { mode: 'constant', padding: [2, 1, 0, 3], value: 0.3 }],
  [[3, 2, 4, 5], { mode: 'reflect', padding: [3, 1, 2, 3], value: 0.3 }],
  [[1, 1, 3, 3], { mode: 'reflect', padding: [0, 2, 1, 0], value: 0.3 }],
  [[2, 3, 3, 2], { mode: 'replicate', padding: [3, 0, 1, 2], value: 0.3 }],
  [[1, 2, 1, 4], { mode: 'replicate', padding: [2, 3, 3, 1], value: 0.3 }],
];

const PADDING: Array<OpRow<unknown>> = [
  row<PadArgs>({
    name: 'pad',
    op: ([x], { padding, mode, value }) => pad(x, padding, mode, value),
    reference: ([x], { padding, mode, value }) => R.pad(x, padding, mode, value),
    tolerance: () => TOL.exact,
    // A rank-2 input too: pad works on the last two dims of any rank >= 2.
    forwardSamples: layoutSamples([...PAD_CASES, [[5, 6], { mode: 'reflect', padding: [1, 2, 3, 4], value: 0 }]]),
    gradSamples: (rng) => PAD_CASES.map(([shape, args]) => ({ inputs: [randomInput(shape, rng)], args, options: { maxCoords: 40 } })),
  }),
  row<number | number[]>({
    name: 'reflectionPad2d',
    op: ([x], padding) => reflectionPad2d(x, padding),
    reference: ([x], padding) => R.pad(x, typeof padding === 'number' ? [padding, padding, padding, padding] : padding, 'reflect'),
    tolerance: () => TOL.exact,
    forwardSamples: layoutSamples<number | number[]>([
      [[2, 3, 3], [1, 2, 2, 1]],
      [[1, 2, 4, 5], 3],
    ]),
    gradSamples: layoutSamples<number | number[]>([[[2, 3, 3], [1, 2, 2, 1]]]),
  }),
];

// ------------------------------------------------------------ instance norm

type Affine = 'none' | 'weight' | 'bias' | 'both';
interface NormArgs {
  activation: NormActivation;
  affine: Affine;
  /** The last input is a residual added to the output. */
  residual?: boolean;
}
const NORM_SLOPE = 0.2;

/** instanceNorm2d's domain: x away from the ReLU kink after the norm, weights of either sign, small biases (so |x̂ w + b| stays >= ~0.1). */
export const NORM_DOMAIN = {
  x: (activation: NormActivation): Draw => (activation === 'none' ? uniform([-2, 3]) : normalizedAwayFromKink),
  weight: (rng: Rng): GradcheckInput => randomInput([3], rng, { low: -1.5, high: 1.5, awayFromZero: 0.5 }),
  bias: (rng: Rng): GradcheckInput => randomInput([3], rng, { low: -0.15, high: 0.15 }),
};
const NORM_SHAPE = [2, 3, 3, 5];

/** The weight and bias a sample passes after x, by its affine mode. */
function affineOf<T>(params: T[], affine: Affine): { weight?: T; bias?: T } {
  if (affine === 'both') return { weight: params[0], bias: params[1] };
  if (affine === 'weight') return { weight: params[0] };
  if (affine === 'bias') return { bias: params[0] };
  return {};
}

function normSamples(rng: Rng): Array<Sample<NormArgs>> {
  const params = (affine: Affine): GradcheckInput[] =>
    affine === 'both' ? [NORM_DOMAIN.weight(rng), NORM_DOMAIN.bias(rng)] : affine === 'weight' ? [NORM_DOMAIN.weight(rng)] : affine === 'bias' ? [NORM_DOMAIN.bias(rng)] : [];
  const samples: Array<Sample<NormArgs>> = [];
  for (const activation of ['none', 'relu', 'leakyRelu'] as const) {
    for (const affine of ['none', 'both'] as const) samples.push({ inputs: [NORM_DOMAIN.x(activation)(NORM_SHAPE, rng), ...params(affine)], args: { activation, affine } });
  }
  for (const affine of ['weight', 'bias'] as const) samples.push({ inputs: [randomInput(NORM_SHAPE, rng), ...params(affine)], args: { activation: 'none', affine } });
  // The gradient reaches weight and bias when the input needs none.
  samples.push({ inputs: [constant(randomInput(NORM_SHAPE, rng)), ...params('both')], args: { activation: 'none', affine: 'both' } });
  // A residual added after the norm (a ResNet block's sum) and after an activation.
  samples.push({ inputs: [randomInput(NORM_SHAPE, rng), randomInput(NORM_SHAPE, rng)], args: { activation: 'none', affine: 'none', residual: true } });
  samples.push({ inputs: [NORM_DOMAIN.x('relu')(NORM_SHAPE, rng), ...params('both'), randomInput(NORM_SHAPE, rng)], args: { activation: 'relu', affine: 'both', residual: true } });
  return samples;
}

const instanceNormRow = row<NormArgs>({
  name: 'instanceNorm2d',
  op: ([x, ...rest], { activation, affine, residual }) => {
    const params = residual ? rest.slice(0, -1) : rest;
    return instanceNorm2d(x, { activation, slope: NORM_SLOPE, ...affineOf(params, affine), residual: residual ? rest[rest.length - 1] : undefined });
  },
  reference: ([x, ...rest], { activation, affine, residual }) => {
    const { weight = null, bias = null } = affineOf(residual ? rest.slice(0, -1) : rest, affine);
    const normalized = R.instanceNorm2d(x, weight, bias);
    const y = activation === 'none' ? normalized : map(normalized, (v) => (v > 0 ? v : activation === 'relu' ? 0 : Math.fround(NORM_SLOPE) * v));
    return residual ? zip(y, rest[rest.length - 1], (a, b) => a + b) : y;
  },
  tolerance: () => TOL.normalized,
  forwardSamples: normSamples,
  gradSamples: normSamples,
});

// ------------------------------------------------------------ the table

export const OPS: Array<OpRow<unknown>> = [
  ...MAPS.map(mapRow),
  ...BINARY.map(binaryRow),
  // Over more than 256 elements: the workgroup kernel.
  reduceRow('sum', sum, uniform(UNIT), (rng) => [{ inputs: [randomInput([2, 300], rng)], args: { axes: 1, keepDims: false }, options: { maxCoords: 12 } }]),
  reduceRow('mean', mean, uniform(UNIT)),
  reduceRow('max', max, distinct),
  matmulRow,
  ...LAYOUT,
  lossRow('l1Loss', l1Loss, Math.abs),
  lossRow('mseLoss', mseLoss, (d) => d * d),
  ...CONV,
  ...PADDING,
  instanceNormRow,
];
