/**
 * Strided index arithmetic shared by the broadcasting, copy and reduction
 * kernels: up to MAX_DIMS dimensions, described by a shape and per-operand
 * element strides (0 for a broadcast dimension).
 */
export const MAX_DIMS = 6;

/** Row-major strides of a contiguous shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Merges adjacent dimensions that are contiguous in every operand and drops
 * size-1 dimensions, so most kernels run on 1-3 dims whatever the rank.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    outStrides.forEach((s) => s.push(0));
  }
  return { shape: outShape, strides: outStrides };
}

/** Pads a dims list to MAX_DIMS (leading 1s / 0s) for the fixed-size parameter block. */
export function padDims(values: readonly number[], fill: number): number[] {
  if (values.length > MAX_DIMS) throw new Error(`at most ${MAX_DIMS} dimensions are supported, got ${values.length}`);
  return [...new Array<number>(MAX_DIMS - values.length).fill(fill), ...values];
}

/** WGSL: maps a flat index over `shape` to an offset with `strides` (both MAX_DIMS long). */
export const WGSL_STRIDED_OFFSET = /* wgsl */ `
fn stridedOffset(flat: u32, shape: array<u32, ${MAX_DIMS}>, strides: array<u32, ${MAX_DIMS}>) -> u32 {
  var rest = flat;
  var off = 0u;
  for (var d = ${MAX_DIMS - 1}; d >= 0; d--) {
    let i = rest % shape[d];
    rest = rest / shape[d];
    off += i * strides[d];
  }
  return off;
}`;
