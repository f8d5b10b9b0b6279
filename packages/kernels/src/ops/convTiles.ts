/**
 * What the three convolution kernels share: the geometry they take, the tile
 * configuration chosen per adapter, and the guarded-load WGSL helper.
 *
 * All three are implicit GEMMs over an NCHW activation and an OIHW weight:
 * each invocation accumulates a register block of CB channels x 4 pixels,
 * the channel block is the same for the whole workgroup (so weight or
 * output-gradient reads are uniform: one scalar load broadcast to all lanes
 * on a SIMD-per-lane CPU driver), and the pixels differ per invocation.
 */
import type { DeviceInfo } from '../device.ts';

/** The forward convolution x [N, C, H, W] * w [K, C, kH, kW] -> y [N, K, Ho, Wo]. */
export interface ConvGeometry {
  N: number;
  /** Input channels. */
  C: number;
  H: number;
  W: number;
  /** Output channels. */
  K: number;
  Ho: number;
  Wo: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
}

/**
 * A tile configuration: `wg` invocations per workgroup, each owning `cb`
 * channels x 4 pixels; the weight gradient splits its reduction until about
 * `minGroups` workgroups exist. Part of every conv pipeline's cache key.
 */
export interface ConvTiles {
  wg: number;
  cb: number;
  minGroups: number;
}

/**
 * On a CPU (software) adapter a workgroup runs as SIMD lanes of one core:
 * small workgroups and wide channel blocks keep the uniform weight loads few
 * per FMA. On a GPU, bigger workgroups hide latency and a smaller channel
 * block keeps register pressure down.
 */
export function convTiles(info: Pick<DeviceInfo, 'architecture' | 'description' | 'name'>): ConvTiles {
  const software = info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.name} ${info.description}`);
  return software ? { wg: 32, cb: 8, minGroups: 64 } : { wg: 128, cb: 8, minGroups: 1024 };
}

/** The geometry as the leading words of a kernel's parameter block, in `WGSL_CONV_PARAMS` order. */
export function geometryParams(g: ConvGeometry): number[] {
  return [g.N, g.C, g.H, g.W, g.K, g.Ho, g.Wo, g.kH, g.kW, g.sH, g.sW, g.pH, g.pW];
}
export const WGSL_CONV_PARAMS = 'N: u32, C: u32, H: u32, W: u32, K: u32, Ho: u32, Wo: u32, kH: u32, kW: u32, sH: u32, sW: u32, pH: u32, pW: u32';

/** Output size of a convolution along one axis (floor division, as PyTorch). */
export function convOutSize(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/**
 * Reads A[base + i] when 0 <= i < len, else 0: zero padding at the edges.
 * The address is clamped so the load is always in bounds and branch-free.
 */
export const WGSL_GUARDED_LOAD = (array: string): string => /* wgsl */ `
fn load_${array}(base: u32, i: i32, len: u32) -> f32 {
  let ok = i >= 0 && u32(i) < len;
  return select(0.0, ${array}[base + select(0u, u32(i), ok)], ok);
}`;
