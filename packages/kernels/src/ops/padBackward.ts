import { defineKernel, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { forPlaneRanges, PAD_ROWS, padOutputSize, type PadArgs, type PadMode } from './pad.ts';

/**
 * The output indices along one dimension that `pad` read from input index
 * `i`, as up to three runs (start, length): the inverse of its source map.
 * Reflection adds at most one mirror on each side (pads are < n); replication
 * gives the edge elements the whole padded run beside them.
 */
const OUTPUT_RUNS: Record<PadMode, string> = {
  constant: 'return array(vec2(i + before, 1), vec2(0, 0), vec2(0, 0));',
  reflect: /* wgsl */ `return array(
    vec2(i + before, 1),
    vec2(before - i, select(0, 1, i >= 1 && i <= before)),
    vec2(before + 2 * (n - 1) - i, select(0, 1, i >= n - 1 - after && i <= n - 2)));`,
  replicate: /* wgsl */ `return array(
    vec2(i + before, 1),
    vec2(0, select(0, before, i == 0)),
    vec2(before + n, select(0, after, i == n - 1)));`,
};

/**
 * Gradient of `pad` as a gather: each input element sums the output gradients
 * that were read from it, so every thread writes only its own elements and no
 * (float) atomics are needed.
 */
export const padBackwardKernel = defineKernel({
  name: 'padBackward',
  params: { rows: 'u32', h: 'u32', w: 'u32', oh: 'u32', ow: 'u32', left: 'u32', right: 'u32', top: 'u32', bottom: 'u32', gyOff: 'u32', gxOff: 'u32' },
  bindings: { gy: 'read', gx: 'read_write' },
  source: ({ mode }: { mode: PadMode }) => /* wgsl */ `
${WGSL_FLAT_WORKGROUP}
fn outputRuns(i: i32, before: i32, after: i32, n: i32) -> array<vec2<i32>, 3> {
  ${OUTPUT_RUNS[mode]}
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // As in pad: each thread walks PAD_ROWS input rows down one column.
  let t = flatWorkgroup(wid, nwg) * 256u + li;
  let ix = t % p.w;
  let r0 = (t / p.w) * ${PAD_ROWS}u;
  if (r0 >= p.rows) { return; }
  var iy = r0 % p.h;
  var plane = r0 / p.h;
  let cols = outputRuns(i32(ix), i32(p.left), i32(p.right), i32(p.w));
  let colExtras = cols[1].y + cols[2].y;
  for (var r = r0; r < min(r0 + ${PAD_ROWS}u, p.rows); r++) {
    let base = p.gyOff + plane * p.oh * p.ow;
    let rows = outputRuns(i32(iy), i32(p.top), i32(p.bottom), i32(p.h));
    var acc = 0.0;
    if (rows[1].y + rows[2].y + colExtras == 0) {
      acc = gy[base + u32(rows[0].x) * p.ow + u32(cols[0].x)];
    } else {
      // A border element: the output positions that read it form up to 3 x 3 runs.
      for (var a = 0; a < 3; a++) {
        for (var oy = rows[a].x; oy < rows[a].x + rows[a].y; oy++) {
          let row = base + u32(oy) * p.ow;
          for (var b = 0; b < 3; b++) {
            for (var ox = cols[b].x; ox < cols[b].x + cols[b].y; ox++) { acc += gy[row + u32(ox)]; }
          }
        }
      }
    }
    gx[p.gxOff + r * p.w + ix] = acc;
    iy++;
    if (iy == p.h) { iy = 0u; plane++; }
  }
}`,
});

/** gx [planes, h, w] from gy of the padded shape; tensors larger than one binding a range of planes at a time. */
export function padBackward(rt: Runtime, mode: PadMode, gy: DeviceBuffer, gx: DeviceBuffer, args: PadArgs): void {
  const [oh, ow] = padOutputSize(args);
  const [left, right, top, bottom] = args.pad;
  forPlaneRanges(rt, 'padBackward', gx, gy, args, (gxv, gyv, planes, gxOff, gyOff) => {
    const rows = planes * args.h;
    const params = { rows, h: args.h, w: args.w, oh, ow, left, right, top, bottom, gyOff, gxOff };
    rt.dispatch(padBackwardKernel, { mode }, { gy: gyv, gx: gxv }, params, gridFor(Math.ceil(rows / PAD_ROWS) * args.w, 256));
  });
}
