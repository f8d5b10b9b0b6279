/**
 * Plain-TypeScript reference implementations, computed in f64, that the GPU
 * ops (f32) are checked against, and the tolerances that
 * `expect(actual).toBeAllClose(expected, tol)` (test/helpers/matchers.ts)
 * compares them with.
 *
 * Inputs are f32 values (drawn with `randomF32`), so the reference sees exactly
 * what the GPU sees and the only difference is the GPU's f32 arithmetic.
 *
 * Tolerances (u = 2^-24 ≈ 6e-8, f32's unit roundoff; the f64 reference is exact
 * to ~1e-16 by comparison):
 * - a copy, reshape, permute, slice, max, maximum, relu, abs, neg: exact (tol 0);
 * - add, sub, mul: one rounding, |err| <= u|e|;  div and sqrt: WGSL allows 2.5 ULP;
 *   so `TOL.basic` = { rtol: 1e-6 };
 * - exp, log, tanh, sigmoid, pow: WGSL allows a few ULP (exp: 3 + 2|x| ULP,
 *   log: absolute 2^-21 near 1, pow through exp2(y log2 x)), and tanh computed
 *   through exp(-2|x|) is accurate in absolute, not relative, terms near 0:
 *   `TOL.transcendental` = { rtol: 1e-5, atol: 1e-6 };
 * - a sum of n terms in any order: |err| <= (n - 1) u sum|x_i| (the standard
 *   bound for recursive / pairwise summation), so reductions pass `scale` =
 *   sum|x| per output with rtol = (n + 1) u; matmul likewise with
 *   scale = (|A| @ |B|) and rtol = (K + 1) u; convolutions with scale = the sum
 *   of |x w| (+ |bias|) over each output's terms;
 * - instance norm: each plane's mean and variance are sums of H W terms, so the
 *   normalized values (|x̂| of a few units) are off by about H W u in absolute
 *   terms: `TOL.normalized` = { rtol: 1e-5, atol: 1e-5 } for planes up to ~100.
 */
import type { Rng } from '@stripes/tensor';

export const U32 = 2 ** -24;

export interface Ref {
  shape: number[];
  data: Float64Array;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function ref(shape: readonly number[], data: ArrayLike<number>): Ref {
  if (data.length !== sizeOf(shape)) throw new Error(`ref: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Multi-index of a flat row-major index. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

/** Uniform f32 values in [low, high). */
export function randomF32(n: number, rng: Rng, low = -1, high = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rng.random();
  return out;
}

/** A random shape of `rank` dims each in [1, maxDim]. */
export function randomShape(rank: number, rng: Rng, maxDim = 7): number[] {
  return Array.from({ length: rank }, () => 1 + rng.int(maxDim));
}

// ------------------------------------------------------------ broadcasting

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: cannot broadcast [${a}] with [${b}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Flat index into `shape` of the output multi-index `idx` (of a shape `shape` broadcasts to). */
function broadcastIndex(idx: readonly number[], shape: readonly number[], strides: readonly number[]): number {
  const off = idx.length - shape.length;
  let f = 0;
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) f += idx[d + off] * strides[d];
  return f;
}

export function broadcastTo(x: Ref, shape: readonly number[]): Ref {
  const target = broadcastShape(x.shape, shape);
  if (target.join() !== shape.join()) throw new Error(`reference: cannot broadcast [${x.shape}] to [${shape}]`);
  const n = sizeOf(shape);
  const out = new Float64Array(n);
  const xs = stridesOf(x.shape);
  for (let i = 0; i < n; i++) out[i] = x.data[broadcastIndex(unravel(i, shape), x.shape, xs)];
  return { shape: [...shape], data: out };
}

export function map(x: Ref, f: (v: number) => number): Ref {
  return { shape: [...x.shape], data: x.data.map(f) };
}

/** f(a, b) elementwise with NumPy broadcasting. */
export function zip(a: Ref, b: Ref, f: (x: number, y: number) => number): Ref {
  const shape = broadcastShape(a.shape, b.shape);
  const A = broadcastTo(a, shape).data;
  const B = broadcastTo(b, shape).data;
  return { shape, data: A.map((v, i) => f(v, B[i])) };
}

// ------------------------------------------------------------ reductions

function normalizeAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return list.map((a) => (a < 0 ? a + rank : a)).sort((x, y) => x - y);
}

export interface Reduced extends Ref {
  /** Sum of |x| over each output's reduced elements: the scale of its rounding error. */
  absSum: Float64Array;
  /** Elements reduced into each output. */
  count: number;
}

export function reduce(x: Ref, op: 'sum' | 'mean' | 'max', axes?: number | readonly number[], keepDims = false): Reduced {
  const ax = normalizeAxes(axes, x.shape.length);
  const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const outShape = keepDims ? keptShape : x.shape.filter((_, i) => !ax.includes(i));
  const n = sizeOf(keptShape);
  const count = ax.reduce((c, a) => c * x.shape[a], 1);
  const acc = new Float64Array(n).fill(op === 'max' ? -Infinity : 0);
  const absSum = new Float64Array(n);
  const ks = stridesOf(keptShape);
  for (let i = 0; i < x.data.length; i++) {
    const o = broadcastIndex(unravel(i, x.shape), keptShape, ks);
    const v = x.data[i];
    if (op === 'max') acc[o] = Math.max(acc[o], v);
    else acc[o] += v;
    absSum[o] += Math.abs(v);
  }
  if (op === 'mean') for (let o = 0; o < n; o++) acc[o] /= count;
  if (op === 'mean') for (let o = 0; o < n; o++) absSum[o] /= count;
  return { shape: outShape, data: acc, absSum, count };
}

// ------------------------------------------------------------ matmul

export interface Product extends Ref {
  /** (|A| @ |B|): the scale of each output's rounding error. */
  absProduct: Float64Array;
}

/** torch.matmul for rank >= 2 operands, batch dims broadcast. */
export function matmul(a: Ref, b: Ref): Product {
  const M = a.shape[a.shape.length - 2];
  const K = a.shape[a.shape.length - 1];
  const N = b.shape[b.shape.length - 1];
  if (b.shape[b.shape.length - 2] !== K) throw new Error('reference matmul: inner dims differ');
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShape(batchA, batchB);
  const nb = sizeOf(batch);
  const out = new Float64Array(nb * M * N);
  const abs = new Float64Array(nb * M * N);
  const sA = stridesOf(batchA);
  const sB = stridesOf(batchB);
  for (let t = 0; t < nb; t++) {
    const idx = unravel(t, batch);
    const oa = broadcastIndex(idx, batchA, sA) * M * K;
    const ob = broadcastIndex(idx, batchB, sB) * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let sa = 0;
        for (let k = 0; k < K; k++) {
          const p = a.data[oa + i * K + k] * b.data[ob + k * N + j];
          s += p;
          sa += Math.abs(p);
        }
        out[t * M * N + i * N + j] = s;
        abs[t * M * N + i * N + j] = sa;
      }
    }
  }
  return { shape: [...batch, M, N], data: out, absProduct: abs };
}

// ------------------------------------------------------------ layout

/** The same values in `shape`, one -1 inferred. */
export function reshape(x: Ref, shape: readonly number[]): Ref {
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  return ref(
    shape.map((d) => (d === -1 ? x.data.length / known : d)),
    x.data,
  );
}

/** The same values with dims startAxis..endAxis merged into one. */
export function flatten(x: Ref, startAxis = 0, endAxis = -1): Ref {
  if (x.shape.length === 0) return ref([1], x.data);
  const s = startAxis < 0 ? startAxis + x.shape.length : startAxis;
  const e = endAxis < 0 ? endAxis + x.shape.length : endAxis;
  return ref([...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)], x.data);
}

export function permute(x: Ref, dims: readonly number[]): Ref {
  const d = dims.map((a) => (a < 0 ? a + x.shape.length : a));
  const shape = d.map((a) => x.shape[a]);
  const xs = stridesOf(x.shape);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let f = 0;
    idx.forEach((v, k) => (f += v * xs[d[k]]));
    out[i] = x.data[f];
  }
  return { shape, data: out };
}

export function transpose(x: Ref, a = -2, b = -1): Ref {
  const r = x.shape.length;
  const dims = [...Array(r).keys()];
  const i = a < 0 ? a + r : a;
  const j = b < 0 ? b + r : b;
  [dims[i], dims[j]] = [dims[j], dims[i]];
  return permute(x, dims);
}

/** Python-style x[..., start:end, ...] along `axis` (negative indices count from the end). */
export function slice(x: Ref, axis: number, start: number, end?: number): Ref {
  const a = axis < 0 ? axis + x.shape.length : axis;
  const n = x.shape[a];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : end;
  const shape = x.shape.map((d, i) => (i === a ? e - s : d));
  const xs = stridesOf(x.shape);
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    idx[a] += s;
    out[i] = x.data[idx.reduce((f, v, k) => f + v * xs[k], 0)];
  }
  return { shape, data: out };
}

export function concat(xs: readonly Ref[], axis: number): Ref {
  const a = axis < 0 ? axis + xs[0].shape.length : axis;
  const shape = xs[0].shape.map((d, i) => (i === a ? xs.reduce((s, x) => s + x.shape[a], 0) : d));
  const out = new Float64Array(sizeOf(shape));
  const os = stridesOf(shape);
  let offset = 0;
  for (const x of xs) {
    for (let i = 0; i < x.data.length; i++) {
      const idx = unravel(i, x.shape);
      idx[a] += offset;
      out[idx.reduce((f, v, k) => f + v * os[k], 0)] = x.data[i];
    }
    offset += x.shape[a];
  }
  return { shape, data: out };
}

export function stack(xs: readonly Ref[], axis: number): Ref {
  const rank = xs[0].shape.length + 1;
  const a = axis < 0 ? axis + rank : axis;
  return concat(
    xs.map((x) => ({ shape: [...x.shape.slice(0, a), 1, ...x.shape.slice(a)], data: x.data })),
    a,
  );
}

// ------------------------------------------------------------ images (NCHW)

export type Pair = readonly [number, number];

/** torch.nn.functional.conv2d: x [N, C, H, W], w [O, C, KH, KW], bias [O]. */
export function conv2d(x: Ref, w: Ref, bias: Ref | null, stride: Pair, padding: Pair): Product {
  const [n, c, h, wd] = x.shape;
  const [o, , kh, kw] = w.shape;
  const oh = Math.floor((h + 2 * padding[0] - kh) / stride[0]) + 1;
  const ow = Math.floor((wd + 2 * padding[1] - kw) / stride[1]) + 1;
  const shape = [n, o, oh, ow];
  const out = new Float64Array(sizeOf(shape));
  const abs = new Float64Array(out.length);
  for (let i = 0; i < out.length; i++) {
    const [b, co, oy, ox] = unravel(i, shape);
    let s = bias ? bias.data[co] : 0;
    let sa = Math.abs(s);
    for (let ci = 0; ci < c; ci++) {
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * stride[0] - padding[0] + ky;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox * stride[1] - padding[1] + kx;
          if (ix < 0 || ix >= wd) continue;
          const p = x.data[((b * c + ci) * h + iy) * wd + ix] * w.data[((co * c + ci) * kh + ky) * kw + kx];
          s += p;
          sa += Math.abs(p);
        }
      }
    }
    out[i] = s;
    abs[i] = sa;
  }
  return { shape, data: out, absProduct: abs };
}

/** torch.nn.functional.conv_transpose2d: x [N, Cin, H, W], w [Cin, Cout, KH, KW], bias [Cout]. */
export function convTranspose2d(x: Ref, w: Ref, bias: Ref | null, stride: Pair, padding: Pair, outputPadding: Pair): Product {
  const [n, cin, h, wd] = x.shape;
  const [, cout, kh, kw] = w.shape;
  const oh = (h - 1) * stride[0] - 2 * padding[0] + kh + outputPadding[0];
  const ow = (wd - 1) * stride[1] - 2 * padding[1] + kw + outputPadding[1];
  const shape = [n, cout, oh, ow];
  const out = new Float64Array(sizeOf(shape));
  const abs = new Float64Array(out.length);
  for (let i = 0; i < out.length; i++) {
    const [b, co] = unravel(i, shape);
    out[i] = bias ? bias.data[co] : 0;
    abs[i] = Math.abs(out[i]);
  }
  // Each input pixel scatters its kernel-sized patch into the output.
  for (let b = 0; b < n; b++) {
    for (let ci = 0; ci < cin; ci++) {
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < wd; ix++) {
          const v = x.data[((b * cin + ci) * h + iy) * wd + ix];
          for (let co = 0; co < cout; co++) {
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * stride[0] - padding[0] + ky;
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * stride[1] - padding[1] + kx;
                if (ox < 0 || ox >= ow) continue;
                const p = v * w.data[((ci * cout + co) * kh + ky) * kw + kx];
                const o = ((b * cout + co) * oh + oy) * ow + ox;
                out[o] += p;
                abs[o] += Math.abs(p);
              }
            }
          }
        }
      }
    }
  }
  return { shape, data: out, absProduct: abs };
}

export type PadMode = 'constant' | 'reflect' | 'replicate';

/** torch.nn.functional.pad of the last two dims by [left, right, top, bottom]. */
export function pad(x: Ref, [left, right, top, bottom]: readonly number[], mode: PadMode, value = 0): Ref {
  const h = x.shape[x.shape.length - 2];
  const w = x.shape[x.shape.length - 1];
  const oh = h + top + bottom;
  const ow = w + left + right;
  const shape = [...x.shape.slice(0, -2), oh, ow];
  /** The source index along a dim of size n for padded index i, or -1 for the constant. */
  const source = (i: number, n: number): number => {
    if (i >= 0 && i < n) return i;
    if (mode === 'constant') return -1;
    if (mode === 'replicate') return i < 0 ? 0 : n - 1;
    return i < 0 ? -i : 2 * (n - 1) - i;
  };
  // The constant reaches the device as an f32.
  const fill = Math.fround(value);
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    const plane = Math.floor(i / (oh * ow));
    const sy = source(Math.floor(i / ow) % oh - top, h);
    const sx = source((i % ow) - left, w);
    out[i] = sy < 0 || sx < 0 ? fill : x.data[(plane * h + sy) * w + sx];
  }
  return { shape, data: out };
}

/** torch.nn.functional.instance_norm (biased variance) on [N, C, H, W], then an optional per-channel affine map. */
export function instanceNorm2d(x: Ref, weight: Ref | null, bias: Ref | null, eps = 1e-5): Ref {
  const [n, c, h, w] = x.shape;
  const plane = h * w;
  const out = new Float64Array(x.data.length);
  for (let p = 0; p < n * c; p++) {
    const values = x.data.subarray(p * plane, (p + 1) * plane);
    const mean = values.reduce((s, v) => s + v, 0) / plane;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / plane;
    const inv = 1 / Math.sqrt(variance + eps);
    const ch = p % c;
    const scale = weight ? weight.data[ch] : 1;
    const shift = bias ? bias.data[ch] : 0;
    values.forEach((v, i) => (out[p * plane + i] = (v - mean) * inv * scale + shift));
  }
  return { shape: [...x.shape], data: out };
}

// ------------------------------------------------------------ comparison

export interface Tolerance {
  rtol: number;
  atol?: number;
  /**
   * Per-element error scale (e.g. sum |x| for a reduction): element i passes
   * when |a_i - e_i| <= atol + rtol * max(|e_i|, scale_i).
   */
  scale?: ArrayLike<number>;
}

export const TOL = {
  exact: { rtol: 0 },
  basic: { rtol: 1e-6 },
  transcendental: { rtol: 1e-5, atol: 1e-6 },
  normalized: { rtol: 1e-5, atol: 1e-5 },
} satisfies Record<string, Tolerance>;
