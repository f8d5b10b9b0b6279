import { isSoftwareAdapter, type DeviceInfo } from '../device.ts';
import { defineKernel, grid1d, WGSL_FLAT_WORKGROUP, type ParamValues } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/** The workgroup sizes of the instance-norm kernels. */
export type NormThreads = 8 | 32 | 64 | 128 | 256;

/** Threads per plane workgroup, the largest of the sizes `normThreads` picks. */
export const NORM_WORKGROUP = 256;

/**
 * Threads per plane. On a GPU about 16 elements per thread, between 32 and
 * 256: small planes (CycleGAN's deep 8x8 features) would otherwise leave
 * most of a 256-thread group idle and pay 8 levels of barriers. On a CPU
 * adapter (lavapipe) 8, one SIMD vector: a workgroup of several vectors
 * pays a switch between them at every barrier, and the planes, one per
 * workgroup, are what fills the cores.
 */
export function normThreads(info: Pick<DeviceInfo, 'architecture' | 'description' | 'name'>, size: number): NormThreads {
  if (isSoftwareAdapter(info)) return 8;
  if (size <= 512) return 32;
  if (size <= 1024) return 64;
  if (size <= 2048) return 128;
  return 256;
}

/**
 * Sums a vec2 over a workgroup of `threads` (tree in workgroup memory) and
 * hands the total to every thread. Call from uniform control flow.
 */
export const wgslWorkgroupSum2 = (threads: number): string => /* wgsl */ `
var<workgroup> partial: array<vec2<f32>, ${threads}>;
fn workgroupSum2(v: vec2<f32>, li: u32) -> vec2<f32> {
  partial[li] = v;
  workgroupBarrier();
  for (var width = ${threads / 2}u; width > 0u; width >>= 1u) {
    if (li < width) { partial[li] += partial[li + width]; }
    workgroupBarrier();
  }
  let total = partial[0];
  // A later call overwrites partial; everyone must have read the total first.
  workgroupBarrier();
  return total;
}`;

/**
 * The parameters of the forward and backward kernels. Every activation is a
 * leaky ReLU with slope `slope` (1 = none, 0 = relu), so one pipeline serves
 * them all.
 */
export const NORM_PARAMS = {
  planes: 'u32', channels: 'u32', size: 'u32', eps: 'f32', slope: 'f32', hasWeight: 'u32', hasBias: 'u32', planeOff: 'u32', xOff: 'u32', yOff: 'u32',
} as const;

/** Per-plane affine parameters and the activation, shared with the backward kernel (which binds `weight` and `bias` too). */
export const WGSL_NORM_HELPERS = /* wgsl */ `
fn planeWeight(plane: u32) -> f32 { return select(1.0, weight[plane % p.channels], p.hasWeight != 0u); }
fn planeBias(plane: u32) -> f32 { return select(0.0, bias[plane % p.channels], p.hasBias != 0u); }
fn activationSlope(z: f32) -> f32 { return select(p.slope, 1.0, z > 0.0); }`;

/** Both instance-norm kernels' helpers and the opening of their `main`: one workgroup of `threads` per plane. */
export function wgslNormMain(threads: number): string {
  return /* wgsl */ `${WGSL_NORM_HELPERS}
${WGSL_FLAT_WORKGROUP}
${wgslWorkgroupSum2(threads)}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {`;
}

/**
 * Instance norm over contiguous planes (N*C of them, `size` = H*W each), one
 * workgroup per plane: the mean, then the biased variance around it (two
 * passes, stable for inputs far from zero), then y = act(x̂ * w + b)
 * (plus `residual`, with the spec's `residual`).
 * Writes (mean, 1/sqrt(var + eps)) per plane to `stats` for the backward.
 * A dispatch covers `planes` planes from plane `planeOff`, read from x and
 * written to y at element offsets `xOff`/`yOff` of their bindings: tensors
 * larger than one binding are normalized a range of whole planes at a time,
 * so every plane's statistics are its own, as in one dispatch.
 */
export const instanceNorm2dKernel = defineKernel({
  name: 'instanceNorm2d',
  params: { ...NORM_PARAMS, rOff: 'u32' },
  bindings: { x: 'read', weight: 'read', bias: 'read', residual: 'read', y: 'read_write', stats: { access: 'read_write', type: 'vec2<f32>' } },
  source: ({ threads, residual }: { threads: number; residual: boolean }) => /* wgsl */ `
${wgslNormMain(threads)}
  let local = flatWorkgroup(wid, nwg);
  // Uniform across the workgroup, so the barriers below stay uniform.
  if (local >= p.planes) { return; }
  let plane = p.planeOff + local;
  let base = p.xOff + local * p.size;
  let outBase = p.yOff + local * p.size;
  let inv = 1.0 / f32(p.size);
  var s = 0.0;
  for (var i = li; i < p.size; i += ${threads}u) { s += x[base + i]; }
  let mean = workgroupSum2(vec2(s, 0.0), li).x * inv;
  var q = 0.0;
  for (var i = li; i < p.size; i += ${threads}u) {
    let d = x[base + i] - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(workgroupSum2(vec2(q, 0.0), li).x * inv + p.eps);
  if (li == 0u) { stats[plane] = vec2(mean, rstd); }
  // y = (x - mean) * rstd * w + b, folded into one multiply-add per element.
  let scale = rstd * planeWeight(plane);
  let shift = planeBias(plane) - mean * scale;
  ${residual ? 'let residualBase = p.rOff + local * p.size;' : ''}
  for (var i = li; i < p.size; i += ${threads}u) {
    let z = x[base + i] * scale + shift;
    y[outBase + i] = z * activationSlope(z)${residual ? ' + residual[residualBase + i]' : ''};
  }
}`,
});

export interface InstanceNorm2dArgs {
  /** N*C. */
  planes: number;
  channels: number;
  /** H*W. */
  size: number;
  eps: number;
  /** Negative slope of the fused activation: 1 for none, 0 for ReLU. */
  slope: number;
  /** Threads per plane; defaults to the adapter's (`normThreads`). Any size gives the same results up to f32 rounding. */
  threads?: NormThreads;
}

/**
 * `weight`/`bias` (length C) may be null: then `x` fills the binding and its
 * values are ignored. With `residual` (x's shape) the output is
 * act(x̂ w + b) + residual: a ResNet block's sum without a pass of its own.
 */
export function instanceNorm2d(
  rt: Runtime,
  x: DeviceBuffer,
  weight: DeviceBuffer | null,
  bias: DeviceBuffer | null,
  y: DeviceBuffer,
  stats: DeviceBuffer,
  args: InstanceNorm2dArgs,
  residual: DeviceBuffer | null = null,
): void {
  const spec = { threads: args.threads ?? normThreads(rt.info, args.size), residual: residual !== null };
  if (rt.fitsWhole(x) && rt.fitsWhole(y) && (!residual || rt.fitsWhole(residual))) {
    const params = { ...normParams(args, weight, bias), rOff: 0 };
    rt.dispatch(instanceNorm2dKernel, spec, { x, weight: weight ?? x, bias: bias ?? x, residual: residual ?? x, y, stats }, params, grid1d(args.planes));
    return;
  }
  const per = Math.floor(rt.rangeCapacity(1) / args.size);
  if (per < 1) throw new Error(`instanceNorm2d: one plane of ${args.size} elements is larger than one storage binding (${rt.maxBindingBytes} bytes)`);
  for (let p0 = 0; p0 < args.planes; p0 += per) {
    const count = Math.min(per, args.planes - p0);
    const xr = rt.bindRange(x, p0 * args.size, count * args.size);
    const yr = rt.bindRange(y, p0 * args.size, count * args.size);
    const rr = residual ? rt.bindRange(residual, p0 * args.size, count * args.size) : xr;
    const params = { ...normParams({ ...args, planes: count }, weight, bias, { planeOff: p0, xOff: xr.delta, yOff: yr.delta }), rOff: rr.delta };
    const buffers = { x: xr.view, weight: weight ?? xr.view, bias: bias ?? xr.view, residual: rr.view, y: yr.view, stats };
    rt.dispatch(instanceNorm2dKernel, spec, buffers, params, grid1d(count));
  }
}

/** The values of NORM_PARAMS; `offsets` are all 0 for a whole tensor. */
export function normParams(
  args: InstanceNorm2dArgs,
  weight: DeviceBuffer | null,
  bias: DeviceBuffer | null,
  offsets: { planeOff: number; xOff: number; yOff: number } = { planeOff: 0, xOff: 0, yOff: 0 },
): ParamValues<typeof NORM_PARAMS> {
  const { planes, channels, size, eps, slope } = args;
  return { planes, channels, size, eps, slope, hasWeight: weight ? 1 : 0, hasBias: bias ? 1 : 0, ...offsets };
}
