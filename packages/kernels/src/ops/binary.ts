import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { collapse, contiguousStrides, MAX_DIMS, padDims, WGSL_STRIDED_OFFSET } from './layout.ts';
import { WGSL_POW_SIGNED } from './unary.ts';

/** Elementwise binary maps with NumPy broadcasting. */
export const BINARY_OPS = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'powSigned(a, b)',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
  /** 1 where equal, else 0: the mask that routes a max's gradient. */
  equal: 'select(0.0, 1.0, a == b)',
} as const;
export type BinaryOp = keyof typeof BINARY_OPS;

export const binaryKernel = defineKernel<{ op: BinaryOp; broadcast: boolean }>({
  name: 'binary',
  bindings: ['read', 'read', 'read_write'],
  source: ({ op, broadcast }) => /* wgsl */ `
struct Params { n: u32, shape: array<u32, ${MAX_DIMS}>, sa: array<u32, ${MAX_DIMS}>, sb: array<u32, ${MAX_DIMS}> }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
${WGSL_STRIDED_OFFSET}
${WGSL_POW_SIGNED}
${wgslElementwiseMain(`
  ${broadcast ? 'let a = A[stridedOffset(i, p.shape, p.sa)];\n  let b = B[stridedOffset(i, p.shape, p.sb)];' : 'let a = A[i];\n  let b = B[i];'}
  C[i] = ${BINARY_OPS[op]};`)}`,
});

/** Strides of `shape` broadcast to `outShape` (0 where broadcast). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const s = contiguousStrides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((d, i) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]));
}

export function binary(
  rt: Runtime,
  op: BinaryOp,
  a: DeviceBuffer,
  aShape: readonly number[],
  b: DeviceBuffer,
  bShape: readonly number[],
  c: DeviceBuffer,
  outShape: readonly number[],
): void {
  const n = outShape.reduce((x, y) => x * y, 1);
  const { shape, strides } = collapse(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  const out = contiguousStrides(shape);
  const same = strides[0].every((s, i) => s === out[i]) && strides[1].every((s, i) => s === out[i]);
  if (same) {
    // Operands of one shape: tensors larger than one binding are combined a range at a time.
    for (const { views, count } of rt.elementRanges(n, [a, b, c])) {
      rt.dispatch(binaryKernel, { op, broadcast: false }, views, [count, ...padDims([count], 1), ...padDims([1], 0), ...padDims([1], 0)], gridFor(count, 256));
    }
    return;
  }
  const params = [n, ...padDims(shape, 1), ...padDims(strides[0], 0), ...padDims(strides[1], 0)];
  rt.dispatch(binaryKernel, { op, broadcast: true }, [a, b, c], params, gridFor(n, 256));
}
