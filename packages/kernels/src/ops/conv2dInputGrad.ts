import { defineKernel, grid1d, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { convTiles, geometryParams, WGSL_CONV_PARAMS, WGSL_GUARDED_LOAD, type ConvGeometry, type ConvTiles } from './convTiles.ts';

/**
 * gx = conv2d's input gradient, an implicit GEMM [C, K*kH*kW] x [K*kH*kW, pixels]
 * gathering from gy. With stride s only taps kh = (ih + pH) mod s (+ s*t)
 * reach input row ih, so outputs are grouped by phase (ih mod sH, iw mod sW):
 * a workgroup holds one phase, its taps are uniform and none is wasted. An
 * invocation owns `cb` input channels x 4 pixels of one row and phase
 * (iw0 + j*sW), which read 4 adjacent gy values per tap. Also serves as
 * conv_transpose2d's forward, with a bias.
 */
export const conv2dInputGradKernel = defineKernel<ConvTiles>({
  name: 'conv2dInputGrad',
  bindings: ['read', 'read', 'read', 'read_write'],
  source: ({ wg, cb }) => /* wgsl */ `
struct Params { ${WGSL_CONV_PARAMS}, hasBias: u32, Hq: u32, Wq: u32, tiles: u32, spatialGroups: u32, channelGroups: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> gx: array<f32>;
${WGSL_FLAT_WORKGROUP}
${WGSL_GUARDED_LOAD('gy')}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let flat = flatWorkgroup(wid, nwg);
  let rest = flat / p.spatialGroups;
  let c0 = (rest % p.channelGroups) * ${cb}u;
  let phase = rest / p.channelGroups;
  let rh = phase / p.sW;
  let rw = phase % p.sW;
  let tile = (flat % p.spatialGroups) * ${wg}u + li;
  if (tile >= p.tiles) { return; }
  let ih = rh + ((tile / p.Wq) % p.Hq) * p.sH;
  let n = tile / (p.Wq * p.Hq);
  let iw0 = rw + (tile % p.Wq) * 4u * p.sW;
  if (ih >= p.H || iw0 >= p.W) { return; }
  let taps = p.kH * p.kW;
  var acc: array<vec4<f32>, ${cb}>;
  for (var k = 0u; k < p.K; k++) {
    let plane = (n * p.K + k) * p.Ho * p.Wo;
    // Channels past C read the last one's weights; their sums are dropped.
    let wBase = k * p.C * taps;
    for (var kh = (rh + p.pH) % p.sH; kh < p.kH; kh += p.sH) {
      // Exact: ih + pH - kh is a multiple of sH by the choice of kh.
      let oh = (i32(ih + p.pH) - i32(kh)) / i32(p.sH);
      if (oh < 0 || oh >= i32(p.Ho)) { continue; }
      let rowBase = plane + u32(oh) * p.Wo;
      for (var kw = (rw + p.pW) % p.sW; kw < p.kW; kw += p.sW) {
        let ow = (i32(iw0 + p.pW) - i32(kw)) / i32(p.sW);
        let gv = vec4<f32>(load_gy(rowBase, ow, p.Wo), load_gy(rowBase, ow + 1, p.Wo), load_gy(rowBase, ow + 2, p.Wo), load_gy(rowBase, ow + 3, p.Wo));
        let wTap = wBase + kh * p.kW + kw;
        for (var j = 0u; j < ${cb}u; j++) {
          acc[j] += w[wTap + min(c0 + j, p.C - 1u) * taps] * gv;
        }
      }
    }
  }
  for (var j = 0u; j < ${cb}u; j++) {
    let c = c0 + j;
    if (c >= p.C) { break; }
    let b = select(0.0, bias[c], p.hasBias != 0u);
    let base = (n * p.C + c) * p.H * p.W + ih * p.W + iw0;
    for (var i = 0u; i < 4u; i++) {
      if (iw0 + i * p.sW < p.W) { gx[base + i * p.sW] = acc[j][i] + b; }
    }
  }
}`,
});

/**
 * Encodes gx [N, C, H, W] from gy [N, K, Ho, Wo] and w [K, C, kH, kW] for the
 * convolution `g` (plus bias [C], for conv_transpose2d's forward; null adds
 * nothing). `tiles` defaults to the adapter's configuration.
 */
export function conv2dInputGrad(
  rt: Runtime,
  gy: DeviceBuffer,
  w: DeviceBuffer,
  bias: DeviceBuffer | null,
  gx: DeviceBuffer,
  g: ConvGeometry,
  tiles: ConvTiles = convTiles(rt.info),
): void {
  const Hq = Math.ceil(g.H / g.sH);
  const Wq = Math.ceil(Math.ceil(g.W / g.sW) / 4);
  const count = g.N * Hq * Wq;
  const spatialGroups = Math.ceil(count / tiles.wg);
  const channelGroups = Math.ceil(g.C / tiles.cb);
  const params = [...geometryParams(g), bias ? 1 : 0, Hq, Wq, count, spatialGroups, channelGroups];
  // Without a bias any bound buffer will do: the kernel never reads it.
  rt.dispatch(conv2dInputGradKernel, tiles, [gy, w, bias ?? w, gx], params, grid1d(spatialGroups * channelGroups * g.sH * g.sW));
}
