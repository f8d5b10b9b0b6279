import { defineKernel, grid1d, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { convTiles, geometryParams, WGSL_CONV_PARAMS, WGSL_GUARDED_LOAD, type ConvGeometry, type ConvTiles } from './convTiles.ts';
import { reduce } from './reduce.ts';

/**
 * gw = conv2d's weight gradient, the GEMM [K, N*Ho*Wo] x [N*Ho*Wo, C*kH*kW]
 * with im2col implicit. An invocation owns `cb` output channels x 4 adjacent
 * weight entries (c, kh, kw); the reduction over N*Ho rows is split across
 * workgroups (split-K) into partial sums that a second pass adds up. Also
 * serves as conv_transpose2d's weight gradient with x and gy swapped.
 */
export const conv2dWeightGradKernel = defineKernel<ConvTiles>({
  name: 'conv2dWeightGrad',
  bindings: ['read', 'read', 'read_write'],
  source: ({ wg, cb }) => /* wgsl */ `
struct Params { ${WGSL_CONV_PARAMS}, E: u32, rowsPerSplit: u32, entryGroups: u32, channelGroups: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
${WGSL_FLAT_WORKGROUP}
${WGSL_GUARDED_LOAD('x')}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let flat = flatWorkgroup(wid, nwg);
  let rest = flat / p.entryGroups;
  let k0 = (rest % p.channelGroups) * ${cb}u;
  let split = rest / p.channelGroups;
  let e0 = ((flat % p.entryGroups) * ${wg}u + li) * 4u;
  if (e0 >= p.E) { return; }
  // Per entry: its channel plane and tap offset; entries past E repeat the last.
  var plane: vec4<u32>;
  var dh: vec4<i32>;
  var dw: vec4<i32>;
  for (var j = 0u; j < 4u; j++) {
    let e = min(e0 + j, p.E - 1u);
    dw[j] = i32(e % p.kW) - i32(p.pW);
    dh[j] = i32((e / p.kW) % p.kH) - i32(p.pH);
    plane[j] = (e / (p.kW * p.kH)) * p.H * p.W;
  }
  let hw = p.Ho * p.Wo;
  let rows = p.N * p.Ho;
  let r0 = split * p.rowsPerSplit;
  let r1 = min(r0 + p.rowsPerSplit, rows);
  var acc: array<vec4<f32>, ${cb}>;
  for (var r = r0; r < r1; r++) {
    let n = r / p.Ho;
    let oh = r % p.Ho;
    let xImage = n * p.C * p.H * p.W;
    // Channels past K read the last one's gradient; their sums are dropped.
    let gyRow = n * p.K * hw + oh * p.Wo;
    var base: vec4<u32>;
    var len: vec4<u32>;
    for (var j = 0u; j < 4u; j++) {
      let ih = i32(oh * p.sH) + dh[j];
      let inside = ih >= 0 && ih < i32(p.H);
      base[j] = xImage + plane[j] + select(0u, u32(ih) * p.W, inside);
      // A row outside the image reads as zeros: no column is in range.
      len[j] = select(0u, p.W, inside);
    }
    for (var ow = 0u; ow < p.Wo; ow++) {
      let iw = i32(ow * p.sW);
      let xv = vec4<f32>(load_x(base[0], iw + dw[0], len[0]), load_x(base[1], iw + dw[1], len[1]), load_x(base[2], iw + dw[2], len[2]), load_x(base[3], iw + dw[3], len[3]));
      for (var i = 0u; i < ${cb}u; i++) {
        acc[i] += gy[gyRow + min(k0 + i, p.K - 1u) * hw + ow] * xv;
      }
    }
  }
  for (var i = 0u; i < ${cb}u; i++) {
    let k = k0 + i;
    if (k >= p.K) { break; }
    let base = (split * p.K + k) * p.E + e0;
    for (var j = 0u; j < 4u; j++) {
      if (e0 + j < p.E) { partial[base + j] = acc[i][j]; }
    }
  }
}`,
});

/**
 * Encodes gw [K, C, kH, kW] = sum over n, oh, ow of gy [N, K, Ho, Wo] times the
 * matching x [N, C, H, W] taps, for the convolution `g`. `tiles` defaults to
 * the adapter's configuration.
 */
export function conv2dWeightGrad(
  rt: Runtime,
  x: DeviceBuffer,
  gy: DeviceBuffer,
  gw: DeviceBuffer,
  g: ConvGeometry,
  tiles: ConvTiles = convTiles(rt.info),
): void {
  const E = g.C * g.kH * g.kW;
  const entryGroups = Math.ceil(E / (4 * tiles.wg));
  const channelGroups = Math.ceil(g.K / tiles.cb);
  const rows = g.N * g.Ho;
  // Split the N*Ho rows until about minGroups workgroups exist, keeping at
  // least a few rows' work per split so the partials stay small.
  const wanted = Math.ceil(tiles.minGroups / (entryGroups * channelGroups));
  const rowsPerSplit = Math.max(Math.ceil(rows / wanted), Math.ceil(256 / g.Wo), 1);
  const splits = Math.ceil(rows / rowsPerSplit);
  const params = [...geometryParams(g), E, rowsPerSplit, entryGroups, channelGroups];
  const grid = grid1d(entryGroups * channelGroups * splits);
  if (splits === 1) {
    rt.dispatch(conv2dWeightGradKernel, tiles, [x, gy, gw], params, grid);
    return;
  }
  const partial = rt.alloc(splits * g.K * E * 4, 'conv2dWeightGrad partials');
  rt.dispatch(conv2dWeightGradKernel, tiles, [x, gy, partial], params, grid);
  reduce(rt, 'sum', partial, [splits, g.K * E], [0], gw);
  rt.release(partial);
}
