import { defineKernel, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import {
  bandRows, CONV_GEOMETRY_PARAMS, copyBandRows, defaultConvTiles, forwardWeightLayout, inputGradWeightLayout, pixelTiles, weightChannelBlocks, reflectPadArgs, reflectPaddedGeometry, TAP_CHUNK, wgslOuterProduct,
  wgslStoreBlock, WGSL_GUARDED_LOAD, WGSL_REFLECTED_LOAD, type ConvGeometry, type ConvPaddingMode, type ConvTiles,
} from './convTiles.ts';
import { packChannelsLastCached } from './packChannelsLast.ts';
import { pad } from './pad.ts';

/**
 * y = conv2d(x, w) + bias as an implicit GEMM [K, C*kH*kW] x [C*kH*kW, pixels].
 * An invocation owns `cb` output channels x `4 pv` adjacent output pixels of
 * one row; the K-loop walks input channels and taps, each input read serves
 * all cb channels and, through the tap window, up to TAP_CHUNK taps. The
 * weights come channels-last ([C*kH*kW, Kpad]) so a tap's channel block is
 * cb/4 vec4s. (Carrying inputs across loop iterations instead measured 2x
 * slower on lavapipe: loop-carried values are blended under the loop mask.)
 * With `reflect` the input is read through reflected row and column indices
 * instead of zero-padded ones (a row's index once per row and tap row, a
 * column's once per window load), so reflection padding needs no padded copy.
 * Also serves as conv_transpose2d's input gradient.
 */
export const conv2dForwardKernel = defineKernel({
  name: 'conv2dForward',
  params: { ...CONV_GEOMETRY_PARAMS, hasBias: 'u32', tilesW: 'u32', tiles: 'u32', items: 'u32', Kq: 'u32' },
  bindings: { x: 'read', wp: { access: 'read', type: 'vec4<f32>' }, bias: 'read', y: 'read_write' },
  source: ({ wg, cb, pv, reflect = false }: ConvTiles & { reflect?: boolean }) => /* wgsl */ `
${WGSL_FLAT_WORKGROUP}
${reflect ? WGSL_REFLECTED_LOAD('x') : WGSL_GUARDED_LOAD('x')}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Parameters once into registers: on lavapipe every buffer read is a per-lane loop.
  let C = p.C; let H = p.H; let W = p.W; let kH = p.kH; let kW = p.kW; let sW = p.sW; let Kq = p.Kq;
  let s = i32(sW);
  // An item is a (channel block, tile) pair, tiles fastest: a workgroup spans
  // channel blocks when there are fewer tiles than invocations. Invocations
  // past the last item redo it and store nothing: no divergent exit before the loops.
  let item = flatWorkgroup(wid, nwg) * ${wg}u + li;
  let last = min(item, p.items - 1u);
  let kq0 = (last / p.tiles) * ${cb / 4}u;
  let tile = last % p.tiles;
  let ow0 = (tile % p.tilesW) * ${4 * pv}u;
  let row = tile / p.tilesW;
  let oh = row % p.Ho;
  let n = row / p.Ho;
  let ih0 = i32(oh * p.sH) - i32(p.pH);
  let iw0 = i32(ow0 * sW) - i32(p.pW);
  var acc: array<vec4<f32>, ${cb * pv}>;
  for (var c = 0u; c < C; c++) {
    let plane = (n * C + c) * H * W;
    for (var kh = 0u; kh < kH; kh++) {
      let ih = ih0 + i32(kh);
      ${reflect ? `let base = plane + reflectIndex(ih, i32(H)) * W;
      let len = W;` : `let inside = ih >= 0 && ih < i32(H);
      let base = plane + select(0u, u32(ih) * W, inside);
      let len = select(0u, W, inside);`}
      let wTap = (c * kH + kh) * kW * Kq + kq0;
      // Taps kw = r + sW m of phase r read columns iw0 + r + sW (m + j) for
      // pixel j: a chunk of TAP_CHUNK taps shares one window of columns.
      // (No divisions in the loops: lavapipe does vector ones lane by lane.)
      for (var r = 0u; r < min(sW, kW); r++) {
        for (var kw0 = r; kw0 < kW; kw0 += ${TAP_CHUNK}u * sW) {
          let col = iw0 + i32(kw0);
          let xw = array<f32, ${4 * pv + TAP_CHUNK - 1}>(${[...Array(4 * pv + TAP_CHUNK - 1)].map((_, i) => `load_x(base, col + ${i} * s, len)`).join(', ')});
          ${[...Array(TAP_CHUNK)].map((_, dm) => `if (kw0 + ${dm}u * sW < kW) {
            let kw = kw0 + ${dm}u * sW;
            ${wgslOuterProduct(cb, pv, (q) => `wp[wTap + kw * Kq + ${q}u]`, (i) => `xw[${i + dm}]`)}
          }`).join('\n          ')}
        }
      }
    }
  }
  if (item >= p.items) { return; }
  let ch0 = kq0 * 4u;
  let chN = min(${cb}u, p.K - min(ch0, p.K));
  let chBase = (n * p.K + ch0) * p.Ho * p.Wo + oh * p.Wo + ow0;
  let chStride = p.Ho * p.Wo;
  let pixN = p.Wo - ow0;
  let pixStep = 1u;
  let hasBias = p.hasBias != 0u;
  ${wgslStoreBlock(cb, pv, 'y', true)}
}`,
});

/**
 * Encodes y [N, K, Ho, Wo] = conv2d(x [N, C, H, W], w [K, C, kH, kW]) + bias [K].
 * `bias` null adds nothing. `tiles` defaults to the adapter's configuration.
 * When x or y is larger than one storage binding, the output is computed a
 * band of rows at a time from a copy of the input rows it needs: every output
 * value is the same sum in the same order as in one dispatch. (With reflect
 * padding, the bands' rows would mirror about the image's edges, not the
 * band's: such a convolution pads a copy first, then runs unpadded bands.)
 */
export function conv2dForward(
  rt: Runtime,
  x: DeviceBuffer,
  w: DeviceBuffer,
  bias: DeviceBuffer | null,
  y: DeviceBuffer,
  g: ConvGeometry,
  adapterTiles: ConvTiles = defaultConvTiles(rt),
  paddingMode: ConvPaddingMode = 'zeros',
  options: { packInputGradWeights?: boolean } = {},
): void {
  if (paddingMode === 'reflect' && (!rt.fitsWhole(x) || !rt.fitsWhole(y))) {
    const padded = reflectPaddedGeometry(g);
    const xPadded = rt.alloc(g.N * g.C * padded.H * padded.W * 4, 'conv reflect-padded input');
    pad(rt, 'reflect', x, xPadded, reflectPadArgs(g));
    conv2dForward(rt, xPadded, w, bias, y, padded, adapterTiles, 'zeros', options);
    rt.release(xPadded);
    return;
  }
  if (!rt.fitsWhole(x) || !rt.fitsWhole(y)) {
    forwardInBands(rt, x, w, bias, y, g, adapterTiles);
    return;
  }
  const tiles = pixelTiles(adapterTiles, g.K, g.Wo);
  const layout = forwardWeightLayout(g, tiles.cb);
  const kPad = layout.bPad;
  // The input gradient's layout too, when a backward will need it: both packed in one dispatch.
  const both = options.packInputGradWeights ? [layout, inputGradWeightLayout(g, weightChannelBlocks(g, adapterTiles).inputGrad)] : [layout];
  const [wp] = packChannelsLastCached(rt, w, both);
  const tilesW = Math.ceil(g.Wo / (4 * tiles.pv));
  const count = g.N * g.Ho * tilesW;
  const items = count * (kPad / tiles.cb);
  const params = { ...g, hasBias: bias ? 1 : 0, tilesW, tiles: count, items, Kq: kPad / 4 };
  // Without a bias any bound buffer will do: the kernel never reads it.
  // Only reflect padding adds to the spec: the zero-padding pipeline and its cache key stay as they were.
  const spec = paddingMode === 'reflect' ? { ...tiles, reflect: true } : tiles;
  rt.dispatch(conv2dForwardKernel, spec, { x, wp, bias: bias ?? wp, y }, params, gridFor(items, tiles.wg));
}

/** Output rows [r0, r1) read input rows from r0 sH - pH; the band starts at the first of them inside the image, and its padding covers the rest. */
function forwardInBands(rt: Runtime, x: DeviceBuffer, w: DeviceBuffer, bias: DeviceBuffer | null, y: DeviceBuffer, g: ConvGeometry, tiles: ConvTiles): void {
  if (g.pH >= g.kH) throw new Error(`conv2d: row padding ${g.pH} >= kernel height ${g.kH} is not supported on tensors larger than one storage binding`);
  const rows = bandRows(rt, 'conv2d', g.Ho, { channels: g.K, width: g.Wo }, { channels: g.C, width: g.W, rows: (r) => Math.min(g.H, (r - 1) * g.sH + g.kH) });
  for (let n = 0; n < g.N; n++) {
    for (let r0 = 0; r0 < g.Ho; r0 += rows) {
      const r1 = Math.min(g.Ho, r0 + rows);
      const first = r0 * g.sH - g.pH;
      const i0 = Math.min(Math.max(0, first), g.H - 1);
      const i1 = Math.max(i0 + 1, Math.min(g.H, (r1 - 1) * g.sH - g.pH + g.kH));
      const xb = rt.alloc(g.C * (i1 - i0) * g.W * 4, 'conv input band');
      const yb = rt.alloc(g.K * (r1 - r0) * g.Wo * 4, 'conv output band');
      copyBandRows(rt, x, xb, { n, channels: g.C, H: g.H, W: g.W }, i0, i1 - i0, true);
      conv2dForward(rt, xb, w, bias, yb, { ...g, N: 1, H: i1 - i0, Ho: r1 - r0, pH: i0 - first }, tiles);
      copyBandRows(rt, y, yb, { n, channels: g.K, H: g.Ho, W: g.Wo }, r0, r1 - r0, false);
      rt.release(xb);
      rt.release(yb);
    }
  }
}
