// Binary ops with NumPy broadcasting against f64 references (tolerances in
// test/helpers/reference.ts), and their scalar forms.
import { describe, expect, it } from 'vitest';
import { add, broadcastShapes, div, maximum, minimum, mul, pow, Rng, sub, tensor, tidy, type Tensor } from '@stripes/tensor';
import { broadcastShape, expectClose, map, randomF32, ref, sizeOf, TOL, zip, type Tolerance } from '../helpers/reference.ts';

interface BinaryCase {
  name: string;
  op: (a: Tensor, b: Tensor) => Tensor;
  f: (x: number, y: number) => number;
  rangeA: [number, number];
  rangeB: [number, number];
  tol: Tolerance;
}

const cases: BinaryCase[] = [
  { name: 'add', op: add, f: (x, y) => x + y, rangeA: [-5, 5], rangeB: [-5, 5], tol: TOL.basic },
  { name: 'sub', op: sub, f: (x, y) => x - y, rangeA: [-5, 5], rangeB: [-5, 5], tol: TOL.basic },
  { name: 'mul', op: mul, f: (x, y) => x * y, rangeA: [-5, 5], rangeB: [-5, 5], tol: TOL.basic },
  { name: 'div', op: div, f: (x, y) => x / y, rangeA: [-5, 5], rangeB: [0.2, 5], tol: TOL.basic },
  { name: 'pow', op: pow, f: (x, y) => x ** y, rangeA: [0.1, 4], rangeB: [-2, 2], tol: TOL.transcendental },
  { name: 'maximum', op: maximum, f: Math.max, rangeA: [-5, 5], rangeB: [-5, 5], tol: TOL.exact },
  { name: 'minimum', op: minimum, f: Math.min, rangeA: [-5, 5], rangeB: [-5, 5], tol: TOL.exact },
  { name: 'add (method)', op: (a, b) => a.add(b), f: (x, y) => x + y, rangeA: [-5, 5], rangeB: [-5, 5], tol: TOL.basic },
  { name: 'maximum (method)', op: (a, b) => a.maximum(b), f: Math.max, rangeA: [-5, 5], rangeB: [-5, 5], tol: TOL.exact },
  { name: 'minimum (method)', op: (a, b) => a.minimum(b), f: Math.min, rangeA: [-5, 5], rangeB: [-5, 5], tol: TOL.exact },
];

/** Fixed broadcasting layouts: rank mismatch, size-1 dims on both sides, scalars. */
const layouts: Array<[number[], number[]]> = [
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
function randomPair(rng: Rng): [number[], number[]] {
  const rank = 1 + rng.int(5);
  const out = Array.from({ length: rank }, () => 1 + rng.int(6));
  const side = (): number[] => {
    const r = rng.int(rank + 1);
    return out.slice(rank - r).map((d) => (rng.random() < 0.35 ? 1 : d));
  };
  return [side(), side()];
}

describe('binary ops with broadcasting vs f64 reference', () => {
  const rng = new Rng(77);
  const pairs = [...layouts, ...Array.from({ length: 6 }, () => randomPair(rng))];
  for (const c of cases) {
    it(c.name, async () => {
      for (const [sa, sb] of pairs) {
        const da = randomF32(sizeOf(sa), rng, ...c.rangeA);
        const db = randomF32(sizeOf(sb), rng, ...c.rangeB);
        const y = tidy(() => c.op(tensor(da, sa), tensor(db, sb)));
        const expected = zip(ref(sa, da), ref(sb, db), c.f);
        expect(y.shape, `${c.name} [${sa}] with [${sb}]`).toEqual(expected.shape);
        expect(broadcastShapes('test', sa, sb)).toEqual(broadcastShape(sa, sb));
        expectClose(await y.data(), expected, c.tol, `${c.name} [${sa}] with [${sb}]`);
        y.dispose();
      }
    });
  }

  it('same inputs on both sides (x op x)', async () => {
    const d = randomF32(35, rng, 0.5, 2);
    const x = tensor(d, [5, 7]);
    expectClose(await add(x, x).data(), map(ref([5, 7], d), (v) => 2 * v), TOL.basic, 'x + x');
    expectClose(await sub(x, x).data(), new Array(35).fill(0), TOL.exact, 'x - x');
    expectClose(await div(x, x).data(), new Array(35).fill(1), TOL.basic, 'x / x');
    expectClose(await mul(x, x).data(), map(ref([5, 7], d), (v) => v * v), TOL.basic, 'x * x');
  });

  it('maximum / minimum of equal values return that value', async () => {
    const a = tensor([1, -2, 3]);
    const b = tensor([1, -2, 4]);
    expect([...(await maximum(a, b).data())]).toEqual([1, -2, 4]);
    expect([...(await minimum(a, b).data())]).toEqual([1, -2, 3]);
  });

  it('maximum / minimum split the gradient of a tie in half, as PyTorch does', async () => {
    for (const op of [maximum, minimum]) {
      const a = tensor([1, -2, 3, 5], [4]).requireGrad();
      const b = tensor([1, 0, 3, -1], [4]).requireGrad();
      op(a, b).mul(tensor([2, 4, 6, 8])).sum().backward();
      // torch.maximum: ties at 0 and 2 give each side half; otherwise the larger side gets it all.
      const big = op === maximum;
      expect([...(await a.grad!.data())]).toEqual([1, big ? 0 : 4, 3, big ? 8 : 0]);
      expect([...(await b.grad!.data())]).toEqual([1, big ? 4 : 0, 3, big ? 0 : 8]);
    }
    // Broadcast: one b against a row with a tie sums both halves.
    const a = tensor([2, 7, 2], [3]).requireGrad();
    const b = tensor([2], [1]).requireGrad();
    maximum(a, b).sum().backward();
    expect([...(await a.grad!.data())]).toEqual([0.5, 1, 0.5]);
    expect([...(await b.grad!.data())]).toEqual([1]);
  });
});

describe('scalar operands', () => {
  const rng = new Rng(5);
  const shape = [3, 5, 7];
  const d = randomF32(sizeOf(shape), rng, 0.1, 4);
  const x0 = ref(shape, d);
  const scalarCases: Array<[string, (x: Tensor) => Tensor, (v: number) => number, Tolerance]> = [
    ['x + 2.5', (x) => x.add(2.5), (v) => v + 2.5, TOL.basic],
    ['x - 1.25', (x) => x.sub(1.25), (v) => v - 1.25, { rtol: 1e-6, atol: 1e-6 }],
    ['x * -3', (x) => x.mul(-3), (v) => v * -3, TOL.basic],
    ['x / 4', (x) => x.div(4), (v) => v / 4, TOL.basic],
    // 1/3 is rounded to f32 before the multiply: two roundings, still within TOL.basic.
    ['x / 3', (x) => x.div(3), (v) => v / 3, TOL.basic],
    ['x ** 2', (x) => x.pow(2), (v) => v * v, TOL.transcendental],
    ['x ** -0.5', (x) => x.pow(-0.5), (v) => v ** -0.5, TOL.transcendental],
  ];
  for (const [name, op, f, tol] of scalarCases) {
    it(name, async () => {
      const y = tidy(() => op(tensor(d, shape)));
      expect(y.shape).toEqual(shape);
      expectClose(await y.data(), map(x0, f), tol, name);
      y.dispose();
    });
  }
});
