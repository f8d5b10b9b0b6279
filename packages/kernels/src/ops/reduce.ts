import { defineKernel, grid1d, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { collapse, contiguousStrides, MAX_DIMS, padDims, WGSL_STRIDED_OFFSET } from './layout.ts';

export type ReduceOp = 'sum' | 'max';

/**
 * Reduces `axes` of a contiguous input; the output is contiguous over the
 * kept axes and multiplied by `scale` (1/count gives a mean). `perGroup`: a
 * 256-thread workgroup per output, for long reductions; otherwise one
 * thread per output. `flat`: the kept and the reduced axes each collapse to
 * one dimension (a bias gradient, a sum over a leading axis), so an offset
 * is one multiply instead of the general per-dimension division loop, which
 * costs more than the add it feeds on lavapipe. Same elements, same order.
 */
export const reduceKernel = defineKernel({
  name: 'reduce',
  params: {
    outputs: 'u32', count: 'u32', scale: 'f32',
    keptShape: ['u32', MAX_DIMS], keptStrides: ['u32', MAX_DIMS],
    redShape: ['u32', MAX_DIMS], redStrides: ['u32', MAX_DIMS],
  },
  bindings: { x: 'read', y: 'read_write' },
  source: ({ op, perGroup, flat }: { op: ReduceOp; perGroup: boolean; flat: boolean }) => {
    const combine = op === 'sum' ? 'acc + v' : 'max(acc, v)';
    // max starts from the group's first element (index 0 of the reduced axes
    // is at `base`), so a group of all -Infinity reduces to -Infinity.
    const init = op === 'sum' ? '0.0' : 'x[base]';
    // The first element of output o, and the step to reduced element r (the stride read once, before the loop).
    const base = flat ? `let base = o * p.keptStrides[${MAX_DIMS - 1}];\n  let redStride = p.redStrides[${MAX_DIMS - 1}];` : 'let base = stridedOffset(o, p.keptShape, p.keptStrides);';
    const element = flat ? 'x[base + r * redStride]' : 'x[base + stridedOffset(r, p.redShape, p.redStrides)]';
    return /* wgsl */ `
${WGSL_FLAT_WORKGROUP}
${flat ? '' : WGSL_STRIDED_OFFSET}
${
  perGroup
    ? /* wgsl */ `
var<workgroup> partial: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = flatWorkgroup(wid, nwg);
  // o is uniform across the workgroup, so this early exit keeps barriers uniform.
  if (o >= p.outputs) { return; }
  ${base}
  let count = p.count;
  var acc = ${init};
  for (var r = li; r < count; r += 256u) {
    let v = ${element};
    acc = ${combine};
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var width = 128u; width > 0u; width >>= 1u) {
    if (li < width) {
      let v = partial[li + width];
      let acc = partial[li];
      partial[li] = ${combine};
    }
    workgroupBarrier();
  }
  if (li == 0u) { y[o] = partial[0] * p.scale; }
}`
    : /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = flatWorkgroup(wid, nwg) * 256u + li;
  if (o >= p.outputs) { return; }
  ${base}
  let count = p.count;
  var acc = ${init};
  for (var r = 0u; r < count; r++) {
    let v = ${element};
    acc = ${combine};
  }
  y[o] = acc * p.scale;
}`
}`;
  },
});

export function reduce(rt: Runtime, op: ReduceOp, x: DeviceBuffer, shape: readonly number[], axes: readonly number[], y: DeviceBuffer, scale = 1): void {
  const strides = contiguousStrides(shape);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const k = collapse(kept.map((i) => shape[i]), [kept.map((i) => strides[i])]);
  const r = collapse(axes.map((i) => shape[i]), [axes.map((i) => strides[i])]);
  const outputs = kept.reduce((acc, i) => acc * shape[i], 1);
  const count = axes.reduce((acc, i) => acc * shape[i], 1);
  const perGroup = count >= 256;
  const params = {
    outputs, count, scale,
    keptShape: padDims(k.shape, 1), keptStrides: padDims(k.strides[0], 0),
    redShape: padDims(r.shape, 1), redStrides: padDims(r.strides[0], 0),
  };
  const flat = k.shape.length === 1 && r.shape.length === 1;
  rt.dispatch(reduceKernel, { op, perGroup, flat }, { x, y }, params, perGroup ? grid1d(outputs) : gridFor(outputs, 256));
}
