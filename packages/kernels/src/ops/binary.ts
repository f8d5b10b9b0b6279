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

export const binaryKernel = defineKernel({
  name: 'binary',
  params: { n: 'u32', shape: ['u32', MAX_DIMS], sa: ['u32', MAX_DIMS], sb: ['u32', MAX_DIMS] },
  bindings: { A: 'read', B: 'read', C: 'read_write' },
  source: ({ op, broadcast }: { op: BinaryOp; broadcast: boolean }) => /* wgsl */ `
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
    for (const { views: [av, bv, cv], count } of rt.elementRanges(n, [a, b, c])) {
      const params = { n: count, shape: padDims([count], 1), sa: padDims([1], 0), sb: padDims([1], 0) };
      rt.dispatch(binaryKernel, { op, broadcast: false }, { A: av, B: bv, C: cv }, params, gridFor(count, 256));
    }
    return;
  }
  const params = { n, shape: padDims(shape, 1), sa: padDims(strides[0], 0), sb: padDims(strides[1], 0) };
  rt.dispatch(binaryKernel, { op, broadcast: true }, { A: a, B: b, C: c }, params, gridFor(n, 256));
}
