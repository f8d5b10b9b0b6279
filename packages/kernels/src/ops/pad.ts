import { defineKernel, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/** Rows each thread walks down one column; amortizes the index divisions (slow on CPU drivers). */
export const PAD_ROWS = 4;

export type PadMode = 'constant' | 'reflect' | 'replicate';

/**
 * Where output index `o` along one dimension (`n` input elements, `before`
 * padded ahead of them) reads from; -1 means the constant. Reflection
 * mirrors about the edge element without repeating it (PyTorch's 'reflect'),
 * which needs before, after < n.
 */
const SOURCE_INDEX: Record<PadMode, string> = {
  constant: 'let i = o - before; return select(-1, i, i >= 0 && i < n);',
  reflect: 'let i = abs(o - before); return select(i, 2 * (n - 1) - i, i >= n);',
  replicate: 'return clamp(o - before, 0, n - 1);',
};

/**
 * Pads the last two dims of contiguous [planes, h, w] to [planes, oh, ow],
 * reading x and writing y from element offsets `xOff`/`yOff` of their
 * bindings (a tensor larger than one binding is padded a range of planes at
 * a time).
 */
export const padKernel = defineKernel({
  name: 'pad',
  params: { rows: 'u32', h: 'u32', w: 'u32', oh: 'u32', ow: 'u32', left: 'u32', top: 'u32', value: 'f32', xOff: 'u32', yOff: 'u32' },
  bindings: { x: 'read', y: 'read_write' },
  source: ({ mode }: { mode: PadMode }) => /* wgsl */ `
${WGSL_FLAT_WORKGROUP}
fn sourceIndex(o: i32, before: i32, n: i32) -> i32 { ${SOURCE_INDEX[mode]} }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Rows across planes are one sequence: plane and oy are stepped, not divided, per row.
  let t = flatWorkgroup(wid, nwg) * 256u + li;
  let ox = t % p.ow;
  let r0 = (t / p.ow) * ${PAD_ROWS}u;
  if (r0 >= p.rows) { return; }
  var oy = r0 % p.oh;
  var plane = r0 / p.oh;
  let sx = sourceIndex(i32(ox), i32(p.left), i32(p.w));
  for (var r = r0; r < min(r0 + ${PAD_ROWS}u, p.rows); r++) {
    let sy = sourceIndex(i32(oy), i32(p.top), i32(p.h));
    let o = p.yOff + r * p.ow + ox;
    if (sx < 0 || sy < 0) {
      y[o] = p.value;
    } else {
      y[o] = x[p.xOff + (plane * p.h + u32(sy)) * p.w + u32(sx)];
    }
    oy++;
    if (oy == p.oh) { oy = 0u; plane++; }
  }
}`,
});

/** [left, right, top, bottom], as PyTorch's F.pad orders the last two dims. */
export type Pad2d = readonly [number, number, number, number];

export interface PadArgs {
  /** Product of the leading dims. */
  planes: number;
  h: number;
  w: number;
  pad: Pad2d;
}

export function padOutputSize({ h, w, pad }: PadArgs): [number, number] {
  return [h + pad[2] + pad[3], w + pad[0] + pad[1]];
}

/**
 * Calls `encode` on the unpadded buffer and the padded one whole, or, when
 * either is larger than one binding, on views of as many whole planes as fit
 * one (with each view's element offset): pad and its gradient work a range
 * of planes at a time.
 */
export function forPlaneRanges(
  rt: Runtime,
  op: string,
  unpadded: DeviceBuffer,
  padded: DeviceBuffer,
  args: PadArgs,
  encode: (unpadded: DeviceBuffer, padded: DeviceBuffer, planes: number, unpaddedOff: number, paddedOff: number) => void,
): void {
  if (rt.fitsWhole(unpadded) && rt.fitsWhole(padded)) {
    encode(unpadded, padded, args.planes, 0, 0);
    return;
  }
  const [oh, ow] = padOutputSize(args);
  const inPlane = args.h * args.w;
  const outPlane = oh * ow;
  const per = Math.floor(rt.rangeCapacity(1) / Math.max(inPlane, outPlane));
  if (per < 1) throw new Error(`${op}: one plane of ${Math.max(inPlane, outPlane)} elements is larger than one storage binding (${rt.maxBindingBytes} bytes)`);
  for (let p0 = 0; p0 < args.planes; p0 += per) {
    const count = Math.min(per, args.planes - p0);
    const ur = rt.bindRange(unpadded, p0 * inPlane, count * inPlane);
    const pr = rt.bindRange(padded, p0 * outPlane, count * outPlane);
    encode(ur.view, pr.view, count, ur.delta, pr.delta);
  }
}

export function pad(rt: Runtime, mode: PadMode, x: DeviceBuffer, y: DeviceBuffer, args: PadArgs, value = 0): void {
  const [oh, ow] = padOutputSize(args);
  forPlaneRanges(rt, 'pad', x, y, args, (xv, yv, planes, xOff, yOff) => {
    const rows = planes * oh;
    const params = { rows, h: args.h, w: args.w, oh, ow, left: args.pad[0], top: args.pad[2], value, xOff, yOff };
    rt.dispatch(padKernel, { mode }, { x: xv, y: yv }, params, gridFor(Math.ceil(rows / PAD_ROWS) * ow, 256));
  });
}
