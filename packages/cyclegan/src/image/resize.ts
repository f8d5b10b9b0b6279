import type { ImageU8 } from './types.ts';

/** Like `ImageU8` but float samples (PIL's mode 'F' per channel): interleaved row-major HWC. */
export interface ImageF32 {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

export type ResampleFilter = 'bicubic' | 'bilinear' | 'nearest';

interface Kernel {
  support: number;
  weight(x: number): number;
}

const BILINEAR: Kernel = {
  support: 1,
  weight(x) {
    if (x < 0) x = -x;
    return x < 1 ? 1 - x : 0;
  },
};

/** Keys' cubic convolution with a = -0.5, written as PIL's Resample.c writes it so rounding agrees. */
const BICUBIC: Kernel = {
  support: 2,
  weight(x) {
    const a = -0.5;
    if (x < 0) x = -x;
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
  },
};

/** PIL's fixed-point precision for 8-bit resampling: 32 bits less 8 for the sample, 2 for headroom. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;

interface Coeffs {
  /** Taps reserved per output sample. */
  ksize: number;
  /** Per output sample: first input index, then number of taps. */
  bounds: Int32Array;
  /** Normalized weights, `ksize` per output sample. */
  weights: Float64Array;
}

/**
 * PIL's precompute_coeffs: when shrinking, the kernel is stretched by the
 * scale factor (support and argument both), which is what antialiases.
 */
function precompute(inSize: number, outSize: number, kernel: Kernel): Coeffs {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = kernel.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const k = xx * ksize;
    let sum = 0;
    for (let x = 0; x < count; x++) {
      const w = kernel.weight((x + xmin - center + 0.5) * ss);
      weights[k + x] = w;
      sum += w;
    }
    if (sum !== 0) for (let x = 0; x < count; x++) weights[k + x] /= sum;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { ksize, bounds, weights };
}

/** PIL's normalize_coeffs_8bpc: weights to fixed point, rounded half away from zero. */
function toFixed(weights: Float64Array): Int32Array {
  const out = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] * ONE;
    out[i] = w < 0 ? Math.trunc(w - 0.5) : Math.trunc(w + 0.5);
  }
  return out;
}

function clip8(acc: number): number {
  if (acc >= ONE * 256) return 255;
  if (acc <= 0) return 0;
  return Math.floor(acc / ONE);
}

type Samples = Uint8Array | Float32Array;

/**
 * One separable pass along x (`alongX`) or y, over input rows
 * [rowOffset, rowOffset + outH) for the x pass. Bytes accumulate in fixed
 * point and are rounded and clamped to 0..255 after the pass, as PIL does
 * between its two passes; floats accumulate in f64 and are stored as f32.
 */
function pass(
  src: Samples,
  srcW: number,
  channels: number,
  dst: Samples,
  outW: number,
  outH: number,
  coeffs: Coeffs,
  alongX: boolean,
  rowOffset: number,
): void {
  const { ksize, bounds } = coeffs;
  const fixed = src instanceof Uint8Array ? toFixed(coeffs.weights) : null;
  const weights = coeffs.weights;
  const rowStride = srcW * channels;
  for (let yy = 0; yy < outH; yy++) {
    for (let xx = 0; xx < outW; xx++) {
      const o = alongX ? xx : yy;
      const first = bounds[o * 2];
      const count = bounds[o * 2 + 1];
      const k = o * ksize;
      // Offset of the first tap and the distance between taps in `src`.
      const base = alongX ? (yy + rowOffset) * rowStride + first * channels : first * rowStride + xx * channels;
      const step = alongX ? channels : rowStride;
      const out = (yy * outW + xx) * channels;
      for (let c = 0; c < channels; c++) {
        if (fixed) {
          let acc = ONE / 2;
          for (let t = 0; t < count; t++) acc += src[base + t * step + c] * fixed[k + t];
          dst[out + c] = clip8(acc);
        } else {
          let acc = 0;
          for (let t = 0; t < count; t++) acc += src[base + t * step + c] * weights[k + t];
          dst[out + c] = acc;
        }
      }
    }
  }
}

/**
 * PIL's nearest-neighbour resize (an affine scale): the source index is
 * floor of a position that starts at scale / 2 and advances by `scale`,
 * accumulated in f64 exactly as PIL accumulates it.
 */
function nearestIndices(inSize: number, outSize: number): Int32Array {
  const scale = inSize / outSize;
  const idx = new Int32Array(outSize);
  let pos = scale * 0.5;
  for (let i = 0; i < outSize; i++) {
    idx[i] = Math.floor(pos);
    pos += scale;
  }
  return idx;
}

function resizeNearest<T extends Samples>(src: T, w: number, h: number, c: number, dst: T, ow: number, oh: number): void {
  const xs = nearestIndices(w, ow);
  const ys = nearestIndices(h, oh);
  for (let y = 0; y < oh; y++) {
    const row = ys[y] * w;
    for (let x = 0; x < ow; x++) {
      const s = (row + xs[x]) * c;
      const d = (y * ow + x) * c;
      for (let k = 0; k < c; k++) dst[d + k] = src[s + k];
    }
  }
}

/**
 * Resizes like PIL's `Image.resize(size, filter)` with no box and no
 * reducing_gap: separable convolution, horizontal pass first, antialiased when
 * shrinking; bytes are rounded and clamped after each pass. Channels are
 * filtered independently (no alpha premultiplication: alpha is dropped before
 * resizing in this pipeline). The same size returns a copy.
 */
export function resize(img: ImageU8, width: number, height: number, filter: ResampleFilter): ImageU8;
export function resize(img: ImageF32, width: number, height: number, filter: ResampleFilter): ImageF32;
export function resize(img: ImageU8 | ImageF32, width: number, height: number, filter: ResampleFilter): ImageU8 | ImageF32 {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resize: target size must be positive integers, got ${width}x${height}`);
  }
  const { width: w, height: h, channels: c, data } = img;
  if (data.length !== w * h * c) throw new Error(`resize: ${w}x${h}x${c} needs ${w * h * c} samples, got ${data.length}`);
  const alloc = (n: number): Samples => (data instanceof Uint8Array ? new Uint8Array(n) : new Float32Array(n));
  const wrap = (out: Samples, ow: number, oh: number) => ({ ...img, width: ow, height: oh, data: out }) as ImageU8 | ImageF32;

  if (width === w && height === h) return wrap(data.slice(), w, h);
  if (filter === 'nearest') {
    const out = alloc(width * height * c);
    resizeNearest(data, w, h, c, out, width, height);
    return wrap(out, width, height);
  }

  const kernel = filter === 'bicubic' ? BICUBIC : BILINEAR;
  const horiz = precompute(w, width, kernel);
  const vert = precompute(h, height, kernel);
  let cur: Samples = data;
  let curH = h;
  let vertOffset = 0;
  if (width !== w) {
    // Only the rows the vertical pass reads need a horizontal pass.
    const firstRow = height !== h ? vert.bounds[0] : 0;
    const lastRow = height !== h ? vert.bounds[(height - 1) * 2] + vert.bounds[(height - 1) * 2 + 1] : h;
    const tmp = alloc(width * (lastRow - firstRow) * c);
    pass(cur, w, c, tmp, width, lastRow - firstRow, horiz, true, firstRow);
    cur = tmp;
    curH = lastRow - firstRow;
    vertOffset = firstRow;
  }
  if (height !== h) {
    if (vertOffset !== 0) {
      for (let i = 0; i < height; i++) vert.bounds[i * 2] -= vertOffset;
    }
    const out = alloc(width * height * c);
    pass(cur, width, c, out, width, height, vert, false, 0);
    cur = out;
    curH = height;
  }
  return wrap(cur, width, curH);
}
