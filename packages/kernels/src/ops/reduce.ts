import { isSoftwareAdapter, type DeviceInfo } from '../device.ts';
import { defineKernel, grid1d, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { collapse, contiguousStrides, MAX_DIMS, padDims, WGSL_STRIDED_OFFSET } from './layout.ts';

export type ReduceOp = 'sum' | 'max';

/** Element layouts: `flat` and `rows` offsets cost a multiply (and a division for `rows`), `strided` the general per-dimension loop. */
type ReduceLayout = 'flat' | 'rows' | 'strided';

/** Lanes of the long-reduction tree: results are defined by its order, whoever computes it. */
const TREE_LANES = 256;

/**
 * Invocations per output on the long path: one SIMD vector on a CPU adapter
 * (lavapipe), so the tree's barriers cost one; on a GPU enough threads that a
 * long reduction (a loss over a whole image) is not left to a few. Either
 * way the results are the same (the tree's order is fixed).
 */
export function reduceGroupLanes(info: Pick<DeviceInfo, 'architecture' | 'description' | 'name'>): number {
  return isSoftwareAdapter(info) ? 8 : 64;
}

/**
 * Reduces `axes` of a contiguous input; the output is contiguous over the
 * kept axes and multiplied by `scale` (1/count gives a mean).
 *
 * `perGroup` (count >= 256): the result is a 256-lane reduction: lane v
 * combines elements v, v+256, ... in order, then a pairwise tree combines
 * lane v with v+128, v with v+64, ... down to lane 0. A workgroup of G
 * (`groupLanes`, e.g. 8) invocations replays exactly that: invocation i
 * holds lanes i + G j (j < 256 / G) in registers, runs the tree's levels
 * 128..G there (they pair lanes of one invocation), and one barrier later
 * invocation 0 runs the levels below G. The same values combine in the same
 * order as 256 invocations with a barrier per level, which cost more than
 * the adds on lavapipe.
 * Otherwise one invocation per output combines the elements in order.
 *
 * `flat`: the kept and the reduced axes each collapse to one dimension (a
 * bias gradient, a sum over a leading axis); `rows`: the reduced axes
 * collapse to two (a bias gradient over a batch), so an offset is a
 * multiply (and a division) instead of the general per-dimension division
 * loop, which costs more than the add it feeds on lavapipe.
 */
export const reduceKernel = defineKernel({
  name: 'reduce',
  params: {
    outputs: 'u32', count: 'u32', scale: 'f32', accumulate: 'u32',
    keptShape: ['u32', MAX_DIMS], keptStrides: ['u32', MAX_DIMS],
    redShape: ['u32', MAX_DIMS], redStrides: ['u32', MAX_DIMS],
  },
  bindings: { x: 'read', y: 'read_write' },
  source: ({ op, perGroup, layout, groupLanes }: { op: ReduceOp; perGroup: boolean; layout: ReduceLayout; groupLanes: number }) => {
    // groupLanes is 0 on the short path, which builds none of the long path's statements.
    const lanesPerInvocation = perGroup ? TREE_LANES / groupLanes : 0;
    const combine = (acc: string, v: string) => (op === 'sum' ? `${acc} + ${v}` : `max(${acc}, ${v})`);
    // max starts from the group's first element (index 0 of the reduced axes
    // is at `base`), so a group of all -Infinity reduces to -Infinity.
    const init = op === 'sum' ? '0.0' : 'x[base]';
    const last = MAX_DIMS - 1;
    // The first element of output o, and what locates reduced element r (read once, before the loops).
    const setup = {
      flat: `let base = o * p.keptStrides[${last}];\n  let redStride = p.redStrides[${last}];`,
      rows: `let base = o * p.keptStrides[${last}];\n  let rowLength = p.redShape[${last}];\n  let rowStride = p.redStrides[${last - 1}];\n  let redStride = p.redStrides[${last}];`,
      strided: 'let base = stridedOffset(o, p.keptShape, p.keptStrides);',
    }[layout];
    const element = (r: string) => ({
      flat: `x[base + ${r} * redStride]`,
      rows: `x[base + (${r} / rowLength) * rowStride + (${r} % rowLength) * redStride]`,
      strided: `x[base + stridedOffset(${r}, p.redShape, p.redStrides)]`,
    })[layout];
    const lanes = Array.from({ length: lanesPerInvocation }, (_, j) => j);
    // Lane li + G j's accumulator takes element r + G j of the 256-element block starting at r - li (G = groupLanes).
    const accumulate = (guarded: boolean) => lanes.map((j) => {
      const update = `a${j} = ${combine(`a${j}`, element(`(r + ${j * groupLanes}u)`))};`;
      return guarded ? `if (r + ${j * groupLanes}u < count) { ${update} }` : update;
    }).join('\n    ');
    // Tree levels 128..G pair lane li + G j with li + G (j + width / G): both in this invocation.
    const registerLevels: string[] = [];
    for (let half = lanesPerInvocation / 2; half >= 1; half >>= 1) {
      for (let j = 0; j < half; j++) registerLevels.push(`a${j} = ${combine(`a${j}`, `a${j + half}`)};`);
    }
    // The levels below G over the invocations' results.
    const sharedLevels: string[] = [];
    for (let width = groupLanes / 2; width >= 1; width >>= 1) {
      for (let v = 0; v < width; v++) sharedLevels.push(`partial[${v}] = ${combine(`partial[${v}]`, `partial[${v + width}]`)};`);
    }
    return /* wgsl */ `
${WGSL_FLAT_WORKGROUP}
${layout === 'strided' ? WGSL_STRIDED_OFFSET : ''}
// With accumulate, the result is added to what y holds (a gradient accumulated in place).
fn stored(o: u32, v: f32) -> f32 {
  return select(v, y[o] + v, p.accumulate != 0u);
}
${
  perGroup
    ? /* wgsl */ `
var<workgroup> partial: array<f32, ${groupLanes}>;
@compute @workgroup_size(${groupLanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = flatWorkgroup(wid, nwg);
  // o is uniform across the workgroup, so this early exit keeps the barrier uniform.
  if (o >= p.outputs) { return; }
  ${setup}
  let count = p.count;
  let start = ${init};
  ${lanes.map((j) => `var a${j} = start;`).join(' ')}
  var block = 0u;
  for (; block + ${TREE_LANES}u <= count; block += ${TREE_LANES}u) {
    let r = block + li;
    ${accumulate(false)}
  }
  if (block < count) {
    let r = block + li;
    ${accumulate(true)}
  }
  ${registerLevels.join('\n  ')}
  partial[li] = a0;
  workgroupBarrier();
  if (li == 0u) {
    ${sharedLevels.join('\n    ')}
    y[o] = stored(o, partial[0] * p.scale);
  }
}`
    : /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = flatWorkgroup(wid, nwg) * 256u + li;
  if (o >= p.outputs) { return; }
  ${setup}
  let count = p.count;
  var acc = ${init};
  for (var r = 0u; r < count; r++) {
    acc = ${combine('acc', element('r'))};
  }
  y[o] = stored(o, acc * p.scale);
}`
}`;
  },
});

export interface ReduceOptions {
  /** Invocations per output on the long path; defaults to the adapter's (`reduceGroupLanes`): any power of two up to 256 gives the same results. */
  groupLanes?: number;
  /** Add the result to what y holds (y + result, as adding it afterwards would) instead of overwriting it. */
  accumulate?: boolean;
}

export function reduce(
  rt: Runtime, op: ReduceOp, x: DeviceBuffer, shape: readonly number[], axes: readonly number[], y: DeviceBuffer, scale = 1,
  { groupLanes = reduceGroupLanes(rt.info), accumulate = false }: ReduceOptions = {},
): void {
  const strides = contiguousStrides(shape);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const k = collapse(kept.map((i) => shape[i]), [kept.map((i) => strides[i])]);
  const r = collapse(axes.map((i) => shape[i]), [axes.map((i) => strides[i])]);
  const outputs = kept.reduce((acc, i) => acc * shape[i], 1);
  const count = axes.reduce((acc, i) => acc * shape[i], 1);
  const perGroup = count >= TREE_LANES;
  const params = {
    outputs, count, scale, accumulate: accumulate ? 1 : 0,
    keptShape: padDims(k.shape, 1), keptStrides: padDims(k.strides[0], 0),
    redShape: padDims(r.shape, 1), redStrides: padDims(r.strides[0], 0),
  };
  const layout: ReduceLayout = k.shape.length > 1 || r.shape.length > 2 ? 'strided' : r.shape.length === 2 ? 'rows' : 'flat';
  rt.dispatch(reduceKernel, { op, perGroup, layout, groupLanes: perGroup ? groupLanes : 0 }, { x, y }, params, perGroup ? grid1d(outputs) : gridFor(outputs, 256));
}
