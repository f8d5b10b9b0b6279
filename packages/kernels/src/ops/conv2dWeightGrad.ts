import { defineKernel, grid1d, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import {
  convTiles, geometryParams, packChannelsLast, tilesFor, wgslOuterProduct, wgslStoreBlock,
  WGSL_CONV_PARAMS, WGSL_GUARDED_LOAD, type ConvGeometry, type ConvTiles,
} from './convTiles.ts';
import { reduce } from './reduce.ts';

/**
 * gw = conv2d's weight gradient, the GEMM [K, N*Ho*Wo] x [N*Ho*Wo, C*kH*kW]
 * with im2col implicit. An invocation owns `cb` output channels x `4 pv`
 * adjacent weight entries (c, kh, kw). gy comes channels-last ([N*Ho*Wo, Kpad])
 * so a pixel's channel block is cb/4 vec4s. The reduction over N*Ho rows is
 * split across workgroups (split-K) into partial sums that a second pass
 * adds up, so small layers still fill every core. Also serves as
 * conv_transpose2d's weight gradient with x and gy swapped.
 */
export const conv2dWeightGradKernel = defineKernel<ConvTiles>({
  name: 'conv2dWeightGrad',
  bindings: ['read', 'read', 'read_write'],
  source: ({ wg, cb, pv }) => /* wgsl */ `
struct Params { ${WGSL_CONV_PARAMS}, E: u32, rowsPerSplit: u32, entryGroups: u32, channelGroups: u32, Kq: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gyp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
${WGSL_FLAT_WORKGROUP}
${WGSL_GUARDED_LOAD('x')}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Parameters once into registers: on lavapipe every buffer read is a per-lane loop.
  let C = p.C; let H = p.H; let W = p.W; let Ho = p.Ho; let Wo = p.Wo; let sH = p.sH; let sW = p.sW; let E = p.E; let Kq = p.Kq;
  let flat = flatWorkgroup(wid, nwg);
  let rest = flat / p.entryGroups;
  let kq0 = (rest % p.channelGroups) * ${cb / 4}u;
  let split = rest / p.channelGroups;
  let e0 = ((flat % p.entryGroups) * ${wg}u + li) * ${4 * pv}u;
  // Per entry: its channel plane and tap offset. Entries past E repeat the
  // last one and store nothing: no divergent exit before the loops.
  var plane: array<vec4<u32>, ${pv}>;
  var dh: array<vec4<i32>, ${pv}>;
  var dw: array<vec4<i32>, ${pv}>;
  ${[...Array(4 * pv)].map((_, j) => `{ let e = min(e0 + ${j}u, E - 1u); dw[${j >> 2}][${j & 3}] = i32(e % p.kW) - i32(p.pW); dh[${j >> 2}][${j & 3}] = i32((e / p.kW) % p.kH) - i32(p.pH); plane[${j >> 2}][${j & 3}] = (e / (p.kW * p.kH)) * H * W; }`).join('\n  ')}
  let r0 = split * p.rowsPerSplit;
  let r1 = min(r0 + p.rowsPerSplit, p.N * Ho);
  var acc: array<vec4<f32>, ${cb * pv}>;
  var base: array<vec4<u32>, ${pv}>;
  var len: array<vec4<u32>, ${pv}>;
  for (var r = r0; r < r1; r++) {
    let n = r / Ho;
    let oh = r % Ho;
    let image = n * C * H * W;
    // A row outside the image reads as zeros: its length is 0.
    ${[...Array(pv)].map((_, v) => `{ let ih = vec4<i32>(i32(oh * sH)) + dh[${v}]; let inside = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(H))); base[${v}] = vec4<u32>(image) + plane[${v}] + select(vec4<u32>(0u), vec4<u32>(ih) * W, inside); len[${v}] = select(vec4<u32>(0u), vec4<u32>(W), inside); }`).join('\n    ')}
    let gyRow = r * Wo * Kq + kq0;
    for (var ow = 0u; ow < Wo; ow++) {
      let iw = i32(ow * sW);
      ${wgslOuterProduct(cb, pv, (q) => `gyp[gyRow + ow * Kq + ${q}u]`, (i) => `load_x(base[${i >> 2}][${i & 3}], iw + dw[${i >> 2}][${i & 3}], len[${i >> 2}][${i & 3}])`)}
    }
  }
  if (e0 >= E) { return; }
  let ch0 = kq0 * 4u;
  let chN = min(${cb}u, p.K - min(ch0, p.K));
  let chStride = E;
  let chBase = (split * p.K + ch0) * E + e0;
  let pixN = E - e0;
  let pixStep = 1u;
  ${wgslStoreBlock(cb, pv, 'partial', false)}
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
  adapterTiles: ConvTiles = convTiles(rt.info),
): void {
  const tiles = tilesFor(adapterTiles, g.K);
  const kPad = Math.ceil(g.K / tiles.cb) * tiles.cb;
  const E = g.C * g.kH * g.kW;
  const entryGroups = Math.ceil(E / (4 * tiles.pv * tiles.wg));
  const channelGroups = kPad / tiles.cb;
  const rows = g.N * g.Ho;
  // Split the N*Ho rows until about minGroups workgroups exist, keeping a few
  // hundred pixels per split so the partial sums stay small.
  const wanted = Math.ceil(tiles.minGroups / (entryGroups * channelGroups));
  const rowsPerSplit = Math.max(Math.ceil(rows / wanted), Math.ceil(256 / g.Wo));
  const splits = Math.ceil(rows / rowsPerSplit);
  const params = [...geometryParams(g), E, rowsPerSplit, entryGroups, channelGroups, kPad / 4];
  const grid = grid1d(entryGroups * channelGroups * splits);
  const gyp = packChannelsLast(rt, gy, g.N, g.K, g.Ho * g.Wo, kPad);
  if (splits === 1) {
    rt.dispatch(conv2dWeightGradKernel, tiles, [x, gyp, gw], params, grid);
  } else {
    const partial = rt.alloc(splits * g.K * E * 4, 'conv2dWeightGrad partials');
    rt.dispatch(conv2dWeightGradKernel, tiles, [x, gyp, partial], params, grid);
    reduce(rt, 'sum', partial, [splits, g.K * E], [0], gw);
    rt.release(partial);
  }
  rt.release(gyp);
}
