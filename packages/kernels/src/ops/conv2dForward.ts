import { defineKernel, grid1d, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { convTiles, geometryParams, WGSL_CONV_PARAMS, WGSL_GUARDED_LOAD, type ConvGeometry, type ConvTiles } from './convTiles.ts';

/**
 * y = conv2d(x, w) + bias as an implicit GEMM [K, C*kH*kW] x [C*kH*kW, pixels].
 * An invocation owns `cb` output channels x 4 adjacent output pixels of one
 * row; the K-loop walks input channels and taps, reading each tap's 4 inputs
 * once for all `cb` channels. Also serves as conv_transpose2d's input gradient.
 */
export const conv2dForwardKernel = defineKernel<ConvTiles>({
  name: 'conv2dForward',
  bindings: ['read', 'read', 'read', 'read_write'],
  source: ({ wg, cb }) => /* wgsl */ `
struct Params { ${WGSL_CONV_PARAMS}, hasBias: u32, tilesW: u32, tiles: u32, spatialGroups: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${WGSL_FLAT_WORKGROUP}
${WGSL_GUARDED_LOAD('x')}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let flat = flatWorkgroup(wid, nwg);
  let k0 = (flat / p.spatialGroups) * ${cb}u;
  let tile = (flat % p.spatialGroups) * ${wg}u + li;
  if (tile >= p.tiles) { return; }
  let ow0 = (tile % p.tilesW) * 4u;
  let row = tile / p.tilesW;
  let oh = row % p.Ho;
  let n = row / p.Ho;
  let taps = p.kH * p.kW;
  let s = i32(p.sW);
  var acc: array<vec4<f32>, ${cb}>;
  for (var c = 0u; c < p.C; c++) {
    let plane = (n * p.C + c) * p.H * p.W;
    for (var kh = 0u; kh < p.kH; kh++) {
      let ih = i32(oh * p.sH + kh) - i32(p.pH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let rowBase = plane + u32(ih) * p.W;
      // Channels past K read the last one's weights; their sums are dropped.
      let wTap = c * taps + kh * p.kW;
      for (var kw = 0u; kw < p.kW; kw++) {
        let iw = i32(ow0 * p.sW + kw) - i32(p.pW);
        let xv = vec4<f32>(load_x(rowBase, iw, p.W), load_x(rowBase, iw + s, p.W), load_x(rowBase, iw + 2 * s, p.W), load_x(rowBase, iw + 3 * s, p.W));
        for (var j = 0u; j < ${cb}u; j++) {
          acc[j] += w[min(k0 + j, p.K - 1u) * p.C * taps + wTap + kw] * xv;
        }
      }
    }
  }
  for (var j = 0u; j < ${cb}u; j++) {
    let k = k0 + j;
    if (k >= p.K) { break; }
    let b = select(0.0, bias[k], p.hasBias != 0u);
    let base = (n * p.K + k) * p.Ho * p.Wo + oh * p.Wo + ow0;
    for (var i = 0u; i < 4u; i++) {
      if (ow0 + i < p.Wo) { y[base + i] = acc[j][i] + b; }
    }
  }
}`,
});

/**
 * Encodes y [N, K, Ho, Wo] = conv2d(x [N, C, H, W], w [K, C, kH, kW]) + bias [K].
 * `bias` null adds nothing. `tiles` defaults to the adapter's configuration.
 */
export function conv2dForward(
  rt: Runtime,
  x: DeviceBuffer,
  w: DeviceBuffer,
  bias: DeviceBuffer | null,
  y: DeviceBuffer,
  g: ConvGeometry,
  tiles: ConvTiles = convTiles(rt.info),
): void {
  const tilesW = Math.ceil(g.Wo / 4);
  const count = g.N * g.Ho * tilesW;
  const spatialGroups = Math.ceil(count / tiles.wg);
  const params = [...geometryParams(g), bias ? 1 : 0, tilesW, count, spatialGroups];
  // Without a bias any bound buffer will do: the kernel never reads it.
  rt.dispatch(conv2dForwardKernel, tiles, [x, w, bias ?? w, y], params, grid1d(spatialGroups * Math.ceil(g.K / tiles.cb)));
}
