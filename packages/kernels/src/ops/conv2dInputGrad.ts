import { defineKernel, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import {
  bandRows, CONV_GEOMETRY_PARAMS, copyBandRows, defaultConvTiles, pixelTiles, TAP_CHUNK, wgslOuterProduct, wgslStoreBlock,
  WGSL_GUARDED_LOAD, type ConvGeometry, type ConvTiles,
} from './convTiles.ts';
import { packChannelsLast } from './packChannelsLast.ts';

/**
 * gx = conv2d's input gradient, an implicit GEMM [C, K*kH*kW] x [K*kH*kW, pixels]
 * gathering from gy. With stride s only taps kh = (ih + pH) mod s (+ s t)
 * reach input row ih, so outputs are grouped by phase (ih mod sH, iw mod sW)
 * and an invocation loops over its phase's taps only (a workgroup holds one
 * phase unless a phase has fewer tiles than it has invocations).
 * An invocation owns `cb` input channels x `4 pv` pixels of one row and
 * phase (iw0 + j sW), which read adjacent gy columns, so TAP_CHUNK taps
 * share one window of reads. The weights come as [K, kH*kW, Cpad] so a
 * channel block is cb/4 vec4s. Also serves as conv_transpose2d's forward,
 * with a bias.
 */
export const conv2dInputGradKernel = defineKernel({
  name: 'conv2dInputGrad',
  params: { ...CONV_GEOMETRY_PARAMS, hasBias: 'u32', Hq: 'u32', Wq: 'u32', tiles: 'u32', items: 'u32', channelGroups: 'u32', Cq: 'u32' },
  bindings: { gy: 'read', wp: { access: 'read', type: 'vec4<f32>' }, bias: 'read', gx: 'read_write' },
  source: ({ wg, cb, pv }: ConvTiles) => /* wgsl */ `
${WGSL_FLAT_WORKGROUP}
${WGSL_GUARDED_LOAD('gy')}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Parameters once into registers: on lavapipe every buffer read is a per-lane loop.
  let K = p.K; let Ho = p.Ho; let Wo = p.Wo; let kH = p.kH; let kW = p.kW; let sH = p.sH; let sW = p.sW; let Cq = p.Cq;
  let taps = kH * kW;
  // An item is a (phase, channel block, tile) triple, tiles fastest: a
  // workgroup spans channel blocks (and phases) when there are fewer tiles
  // than invocations. Invocations past the last item redo it and store
  // nothing: no divergent exit before the loops.
  let item = flatWorkgroup(wid, nwg) * ${wg}u + li;
  let last = min(item, p.items - 1u);
  let tile = last % p.tiles;
  let rest = last / p.tiles;
  let cq0 = (rest % p.channelGroups) * ${cb / 4}u;
  let phase = rest / p.channelGroups;
  let rh = phase / sW;
  let rw = phase % sW;
  let ih = rh + ((tile / p.Wq) % p.Hq) * sH;
  let n = tile / (p.Wq * p.Hq);
  let q = tile % p.Wq;
  let iwFirst = rw + q * ${4 * pv}u * sW;
  let kwFirst = (rw + p.pW) % sW;
  // gy column of pixel 0 at tap kwFirst: exact, since iw + pW - kw is a multiple of sW.
  let colFirst = (i32(rw + p.pW) - i32(kwFirst)) / i32(sW) + i32(q * ${4 * pv}u);
  let khFirst = (rh + p.pH) % sH;
  // gy row of tap khFirst (exact, like the columns); each later tap is one row up.
  let ohFirst = (i32(ih + p.pH) - i32(khFirst)) / i32(sH);
  var acc: array<vec4<f32>, ${cb * pv}>;
  for (var k = 0u; k < K; k++) {
    let plane = (n * K + k) * Ho * Wo;
    // Counters instead of divisions in the loops: lavapipe does vector ones lane by lane.
    for (var u = 0u; khFirst + u * sH < kH; u++) {
      let kh = khFirst + u * sH;
      let oh = ohFirst - i32(u);
      let inside = oh >= 0 && oh < i32(Ho);
      let base = plane + select(0u, u32(oh) * Wo, inside);
      let len = select(0u, Wo, inside);
      let wTap = (k * taps + kh * kW) * Cq + cq0;
      // Tap kw = kwFirst + sW m reads gy column colFirst - m + j for pixel j:
      // a chunk of TAP_CHUNK taps shares one window of columns.
      for (var m0 = 0u; kwFirst + m0 * sW < kW; m0 += ${TAP_CHUNK}u) {
        let col = colFirst - i32(m0) - ${TAP_CHUNK - 1};
        let xw = array<f32, ${4 * pv + TAP_CHUNK - 1}>(${[...Array(4 * pv + TAP_CHUNK - 1)].map((_, i) => `load_gy(base, col + ${i}, len)`).join(', ')});
        ${[...Array(TAP_CHUNK)].map((_, dm) => `if (kwFirst + (m0 + ${dm}u) * sW < kW) {
          let kw = kwFirst + (m0 + ${dm}u) * sW;
          ${wgslOuterProduct(cb, pv, (qq) => `wp[wTap + kw * Cq + ${qq}u]`, (i) => `xw[${i + TAP_CHUNK - 1 - dm}]`)}
        }`).join('\n        ')}
      }
    }
  }
  if (item >= p.items || ih >= p.H || iwFirst >= p.W) { return; }
  let ch0 = cq0 * 4u;
  let chN = min(${cb}u, p.C - min(ch0, p.C));
  let chStride = p.H * p.W;
  let chBase = (n * p.C + ch0) * chStride + ih * p.W + iwFirst;
  let pixN = (p.W - iwFirst + sW - 1u) / sW;
  let pixStep = sW;
  let hasBias = p.hasBias != 0u;
  ${wgslStoreBlock(cb, pv, 'gx', true)}
}`,
});

/**
 * Encodes gx [N, C, H, W] from gy [N, K, Ho, Wo] and w [K, C, kH, kW] for the
 * convolution `g` (plus bias [C], for conv_transpose2d's forward; null adds
 * nothing). `tiles` defaults to the adapter's configuration. When gy or gx is
 * larger than one storage binding, gx is computed a band of rows at a time
 * from a copy of the gy rows it needs, each value the same sum in the same
 * order as in one dispatch.
 */
export function conv2dInputGrad(
  rt: Runtime,
  gy: DeviceBuffer,
  w: DeviceBuffer,
  bias: DeviceBuffer | null,
  gx: DeviceBuffer,
  g: ConvGeometry,
  adapterTiles: ConvTiles = defaultConvTiles(rt),
): void {
  if (!rt.fitsWhole(gy) || !rt.fitsWhole(gx)) {
    inputGradInBands(rt, gy, w, bias, gx, g, adapterTiles);
    return;
  }
  const tiles = pixelTiles(adapterTiles, g.C, Math.ceil(g.W / g.sW));
  const cPad = Math.ceil(g.C / tiles.cb) * tiles.cb;
  const wp = packChannelsLast(rt, w, g.K, g.C, g.kH * g.kW, cPad, true);
  const Hq = Math.ceil(g.H / g.sH);
  const Wq = Math.ceil(Math.ceil(g.W / g.sW) / (4 * tiles.pv));
  const count = g.N * Hq * Wq;
  const channelGroups = cPad / tiles.cb;
  const items = count * channelGroups * g.sH * g.sW;
  const params = { ...g, hasBias: bias ? 1 : 0, Hq, Wq, tiles: count, items, channelGroups, Cq: cPad / 4 };
  // Without a bias any bound buffer will do: the kernel never reads it.
  rt.dispatch(conv2dInputGradKernel, tiles, { gy, wp, bias: bias ?? wp, gx }, params, gridFor(items, tiles.wg));
}

/**
 * gx rows [r0, r1) (r0 a multiple of sH, so each row keeps its phase) gather
 * gy rows [g0, g1); with the band's padding pH' = r0 + pH - g0 sH, band row
 * i and gy band row o meet at the same taps as rows r0 + i and g0 + o do.
 */
function inputGradInBands(rt: Runtime, gy: DeviceBuffer, w: DeviceBuffer, bias: DeviceBuffer | null, gx: DeviceBuffer, g: ConvGeometry, tiles: ConvTiles): void {
  const { sH, kH, pH } = g;
  const span = (r0: number, r1: number): [number, number] => {
    const g0 = Math.min(g.Ho - 1, Math.max(0, Math.ceil((r0 + pH - kH + 1) / sH)));
    const g1 = Math.max(g0 + 1, Math.min(g.Ho, Math.floor((r1 - 1 + pH) / sH) + 1));
    return [g0, g1];
  };
  const rows = bandRows(rt, 'conv2dInputGrad', g.H, { channels: g.C, width: g.W }, { channels: g.K, width: g.Wo, rows: (r) => Math.ceil(r / sH) + Math.ceil(kH / sH) }, sH);
  for (let n = 0; n < g.N; n++) {
    for (let r0 = 0; r0 < g.H; r0 += rows) {
      const r1 = Math.min(g.H, r0 + rows);
      const [g0, g1] = span(r0, r1);
      const gyb = rt.alloc(g.K * (g1 - g0) * g.Wo * 4, 'conv gradient band');
      const gxb = rt.alloc(g.C * (r1 - r0) * g.W * 4, 'conv input band');
      copyBandRows(rt, gy, gyb, { n, channels: g.K, H: g.Ho, W: g.Wo }, g0, g1 - g0, true);
      conv2dInputGrad(rt, gyb, w, bias, gxb, { ...g, N: 1, H: r1 - r0, Ho: g1 - g0, pH: r0 + pH - g0 * sH }, tiles);
      copyBandRows(rt, gx, gxb, { n, channels: g.C, H: g.H, W: g.W }, r0, r1 - r0, false);
      rt.release(gyb);
      rt.release(gxb);
    }
  }
}
