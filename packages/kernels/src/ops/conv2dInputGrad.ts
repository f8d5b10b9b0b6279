import { defineKernel, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import {
  bandRows, CONV_GEOMETRY_PARAMS, copyBandRows, defaultConvTiles, forwardWeightLayout, inputGradWeightLayout, pixelTiles, reflectPadArgs, reflectPaddedGeometry,
  TAP_CHUNK, weightChannelBlocks, wgslOuterProduct, wgslStoreBlock, WGSL_GUARDED_LOAD, type ConvGeometry, type ConvPaddingMode, type ConvTiles,
} from './convTiles.ts';
import { accumulate } from './accumulate.ts';
import { packChannelsLastCached, type PackLayout } from './packChannelsLast.ts';
import { padBackward } from './padBackward.ts';

/**
 * A pipeline's specialization: the tiles, and for reflect padding
 * `reflectPW`, the column padding pW, which the mirror terms are unrolled
 * over (absent for zero padding, whose pipeline and cache key stay as they were).
 */
type InputGradSpec = ConvTiles & { reflectPW?: number; accumulate?: boolean };

/** Window slots ahead of a chunk's first pixel: tap m0 + dm of pixel i reads window slot i + WINDOW_LEAD - dm. */
const WINDOW_LEAD = TAP_CHUNK - 1;

/**
 * `mirrorTaps(r, exists)`: the taps kh through which padded row r (an x row
 * index, -pH <= r < H + pH) reaches gy, whose row is then oh = r + pH - kh:
 * (oh of tap 0, first tap, tap count); no taps unless `exists`.
 */
const WGSL_MIRROR_TAPS = /* wgsl */ `
fn mirrorTaps(r: i32, exists: bool) -> vec3<i32> {
  let oh0 = r + i32(p.pH);
  let first = max(0, oh0 - i32(p.Ho) + 1);
  let count = min(i32(p.kH), oh0 + 1) - first;
  return vec3(oh0, first, select(0, count, exists && count > 0));
}`;

/**
 * The reflect variant's mirror columns for one chunk of taps: the window
 * slots that pixels within pW of a row's ends read for their mirror images
 * (loading those beyond `xw`), and the terms pixel i adds at tap slot dm.
 * The first tile starts at column 0: its pixel d (1 <= d <= pW) also gathers
 * image -d, whose tap m0 + dm reads gy column pW - d - m0 - dm, window slot
 * WINDOW_LEAD - d - dm (`ml`; slots below WINDOW_LEAD - pW read columns < 0).
 * The last tile ends at column W - 1: its pixel 4 pv - 1 - d (column W - 1 - d)
 * also gathers image W - 1 + d, at window slot 4 pv - 1 + WINDOW_LEAD + d - dm
 * (`mr`). Only the first and last tiles load them (the others add zeros);
 * past the gy row's ends the guarded loads give zeros.
 */
function reflectColumns(pv: number, pW: number): { load: string; terms: (i: number, dm: number) => string } {
  const width = 4 * pv + WINDOW_LEAD;
  const slot = (t: number) => (t >= 0 && t < width ? `xw[${t}]` : `load_gy(base, col ${t < 0 ? '-' : '+'} ${Math.abs(t)}, len)`);
  const slots = (ts: number[]) => ts.map(slot).join(', ');
  const left = [...Array(pW)].map((_, j) => WINDOW_LEAD - 1 - j);
  const right = [...Array(pW + WINDOW_LEAD)].map((_, j) => 4 * pv + j);
  return {
    load: /* wgsl */ `var ml = array<f32, ${left.length}>();
        if (firstTile) { ml = array<f32, ${left.length}>(${slots(left)}); }
        var mr = array<f32, ${right.length}>();
        if (lastTile) { mr = array<f32, ${right.length}>(${slots(right)}); }`,
    terms: (i, dm) => {
      const d = 4 * pv - 1 - i;
      const l = i >= 1 && i + dm <= pW ? ` + ml[${i + dm - 1}]` : '';
      const r = d >= 1 && d <= pW ? ` + mr[${WINDOW_LEAD - 1 + d - dm}]` : '';
      return l + r;
    },
  };
}

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
 *
 * With `reflectPW` (stride 1 only) it is the gradient of reflection padding
 * followed by the unpadded convolution: pixel i also gathers what reaches
 * its mirror images -i and 2 (n - 1) - i along each axis (those inside the
 * padding). Rows: a row within pH of an edge walks its mirror row's taps as
 * extra tap rows after its own (only those reaching gy: one for pad 1), so
 * only SIMD groups holding such rows run them. Columns: the tiles of a row
 * are aligned to both ends (the last one overlaps its neighbour, which then
 * stores only its own pixels), so the pixels with mirror images sit at fixed
 * places in the first and last tiles, and their mirror terms are added to
 * the pixel values before the outer product: no more FMAs, a few more window
 * slots (`reflectColumns`).
 */
export const conv2dInputGradKernel = defineKernel({
  name: 'conv2dInputGrad',
  params: { ...CONV_GEOMETRY_PARAMS, hasBias: 'u32', Hq: 'u32', Wq: 'u32', tiles: 'u32', items: 'u32', channelGroups: 'u32', Cq: 'u32' },
  bindings: { gy: 'read', wp: { access: 'read', type: 'vec4<f32>' }, bias: 'read', gx: 'read_write' },
  source: ({ wg, cb, pv, reflectPW, accumulate = false }: InputGradSpec) => {
    const reflect = reflectPW !== undefined;
    const mirrors = reflect && reflectPW > 0 ? reflectColumns(pv, reflectPW) : null;
    return /* wgsl */ `
${WGSL_FLAT_WORKGROUP}
${WGSL_GUARDED_LOAD('gy')}${reflect ? WGSL_MIRROR_TAPS : ''}

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
  ${reflect ? `// The last tile ends at the row's end (W >= ${4 * pv}).
  let iwFirst = min(q * ${4 * pv}u, p.W - ${4 * pv}u);` : `let iwFirst = rw + q * ${4 * pv}u * sW;`}
  let kwFirst = (rw + p.pW) % sW;
  // gy column of pixel 0 at tap kwFirst: exact, since iw + pW - kw is a multiple of sW.
  let colFirst = (i32(rw + p.pW) - i32(kwFirst)) / i32(sW) + i32(${reflect ? 'iwFirst' : `q * ${4 * pv}u`});
  let khFirst = (rh + p.pH) % sH;
  // gy row of tap khFirst (exact, like the columns); each later tap is one row up.
  let ohFirst = (i32(ih + p.pH) - i32(khFirst)) / i32(sH);${reflect ? `
  // Rows within pH of an edge: the taps of the mirror rows -ih and 2 (H - 1) - ih, walked after the kH own ones.
  let top = mirrorTaps(-i32(ih), ih >= 1u);
  let bottom = mirrorTaps(2 * i32(p.H - 1u) - i32(ih), ih + 2u <= p.H);
  let rowTaps = kH + u32(top.z + bottom.z);
  let firstTile = q == 0u;
  let lastTile = q + 1u == p.Wq;` : ''}
  var acc: array<vec4<f32>, ${cb * pv}>;
  for (var k = 0u; k < K; k++) {
    let plane = (n * K + k) * Ho * Wo;
    // Counters instead of divisions in the loops: lavapipe does vector ones lane by lane.
    ${reflect ? `for (var u = 0u; u < rowTaps; u++) {
      // Slot u < kH is own tap u; then come the top mirror's taps, then the bottom's.
      let m = i32(u) - i32(kH);
      let mirror = select(top, bottom, m >= top.z);
      let kh = u32(select(i32(u), mirror.y + m - select(0, top.z, m >= top.z), m >= 0));
      let oh = select(ohFirst, mirror.x, m >= 0) - i32(kh);` : `for (var u = 0u; khFirst + u * sH < kH; u++) {
      let kh = khFirst + u * sH;
      let oh = ohFirst - i32(u);`}
      let inside = oh >= 0 && oh < i32(Ho);
      let base = plane + select(0u, u32(oh) * Wo, inside);
      let len = select(0u, Wo, inside);
      let wTap = (k * taps + kh * kW) * Cq + cq0;
      // Tap kw = kwFirst + sW m reads gy column colFirst - m + j for pixel j:
      // a chunk of TAP_CHUNK taps shares one window of columns.
      for (var m0 = 0u; kwFirst + m0 * sW < kW; m0 += ${TAP_CHUNK}u) {
        let col = colFirst - i32(m0) - ${WINDOW_LEAD};
        let xw = array<f32, ${4 * pv + WINDOW_LEAD}>(${[...Array(4 * pv + WINDOW_LEAD)].map((_, i) => `load_gy(base, col + ${i}, len)`).join(', ')});${mirrors ? `
        ${mirrors.load}` : ''}
        ${[...Array(TAP_CHUNK)].map((_, dm) => `if (kwFirst + (m0 + ${dm}u) * sW < kW) {
          let kw = kwFirst + (m0 + ${dm}u) * sW;
          ${wgslOuterProduct(cb, pv, (qq) => `wp[wTap + kw * Cq + ${qq}u]`, (i) => `xw[${i + WINDOW_LEAD - dm}]${mirrors ? mirrors.terms(i, dm) : ''}`)}
        }`).join('\n        ')}
      }
    }
  }
  if (item >= p.items || ih >= p.H || iwFirst >= p.W) { return; }
  let ch0 = cq0 * 4u;
  let chN = min(${cb}u, p.C - min(ch0, p.C));
  let chStride = p.H * p.W;
  let chBase = (n * p.C + ch0) * chStride + ih * p.W + iwFirst;
  ${reflect ? `// Up to where the next tile starts: the last tile's overlap is its own.
  let pixN = select(min((q + 1u) * ${4 * pv}u, p.W - ${4 * pv}u), p.W, lastTile) - iwFirst;` : 'let pixN = (p.W - iwFirst + sW - 1u) / sW;'}
  let pixStep = sW;
  let hasBias = p.hasBias != 0u;
  ${wgslStoreBlock(cb, pv, 'gx', true, accumulate)}
}`;
  },
});

/**
 * The pixel block of the fused reflect gradient over rows of W pixels with
 * column padding pW, or null where it does not apply: the adapter's block
 * (`pixelTiles`), narrowed until the row's first and last tiles hold all the
 * pixels with mirror images: 4 pv > pW, 4 pv <= W, and where the last tile
 * overlaps the first, not over those pixels (W = 4 pv or W - 4 pv > pW).
 */
function reflectTiles(adapterTiles: ConvTiles, g: ConvGeometry): ConvTiles | null {
  const fits = (t: ConvTiles) => g.pW < 4 * t.pv && 4 * t.pv <= g.W && (g.W === 4 * t.pv || g.W - 4 * t.pv > g.pW);
  let tiles = pixelTiles(adapterTiles, g.C, g.W);
  while (tiles.pv > 1 && !fits(tiles)) tiles = { ...tiles, pv: tiles.pv / 2 };
  return fits(tiles) ? tiles : null;
}

/**
 * Encodes gx [N, C, H, W] from gy [N, K, Ho, Wo] and w [K, C, kH, kW] for the
 * convolution `g` (plus bias [C], for conv_transpose2d's forward; null adds
 * nothing). `tiles` defaults to the adapter's configuration. When gy or gx is
 * larger than one storage binding, gx is computed a band of rows at a time
 * from a copy of the gy rows it needs, each value the same sum in the same
 * order as in one dispatch.
 *
 * With `paddingMode` 'reflect' (no bias) gx is the gradient of x through
 * reflection padding then the unpadded convolution (`reflectPaddedGeometry`),
 * in one dispatch with stride 1. It falls back to the two steps that
 * reflectionPad2d then conv2d take (the padded geometry's input gradient
 * into a padded temporary, then reflection padding's gradient) for stride >
 * 1, when gy or gx is larger than one binding (the padded gradient then runs
 * in bands), and for rows the fused tiles cannot cover (`reflectTiles`: W < 4,
 * 4 < W <= 4 + pW, or pW at least the widest block). The two paths agree
 * within float rounding: they sum in different orders.
 *
 * With `options.accumulate` gx is added to what gx holds (a gradient
 * accumulated in place): in the store where one dispatch computes it, else
 * by an `accumulate` pass over a temporary.
 */
export function conv2dInputGrad(
  rt: Runtime,
  gy: DeviceBuffer,
  w: DeviceBuffer,
  bias: DeviceBuffer | null,
  gx: DeviceBuffer,
  g: ConvGeometry,
  adapterTiles: ConvTiles = defaultConvTiles(rt),
  paddingMode: ConvPaddingMode = 'zeros',
  options: { accumulate?: boolean; packForwardWeights?: boolean } = {},
): void {
  const adding = options.accumulate === true;
  // conv_transpose2d's forward packs the weight for its backward (conv2dForward) in the same dispatch.
  const alsoPack = options.packForwardWeights ? forwardWeightLayout(g, weightChannelBlocks(g, adapterTiles).forward) : null;
  const whole = rt.fitsWhole(gy) && rt.fitsWhole(gx);
  const reflect = paddingMode === 'reflect';
  if (reflect && bias) throw new Error('conv2dInputGrad: reflect padding takes no bias (only conv_transpose2d adds one, and it pads with zeros)');
  const tiles = !whole ? null : reflect ? (g.sH === 1 && g.sW === 1 ? reflectTiles(adapterTiles, g) : null) : pixelTiles(adapterTiles, g.C, Math.ceil(g.W / g.sW));
  if (tiles) {
    // Accumulating is its own pipeline (a load per stored value); the others keep their cache keys.
    encode(rt, gy, w, bias, gx, g, { ...tiles, ...(reflect ? { reflectPW: g.pW } : {}), ...(adding ? { accumulate: true } : {}) }, alsoPack);
    return;
  }
  // The fallbacks write whole results: into a temporary first when accumulating.
  const out = adding ? rt.alloc(g.N * g.C * g.H * g.W * 4, 'conv input gradient to accumulate') : gx;
  if (reflect) reflectInputGradViaPadding(rt, gy, w, out, g, adapterTiles);
  else inputGradInBands(rt, gy, w, bias, out, g, adapterTiles);
  if (adding) {
    accumulate(rt, gx, out, g.N * g.C * g.H * g.W);
    rt.release(out);
  }
}

/** The dispatch: the packed weights (and `alsoPack`'s layout of them), the items (phases x channel blocks x tiles) and their parameters for the block `spec`. */
function encode(
  rt: Runtime, gy: DeviceBuffer, w: DeviceBuffer, bias: DeviceBuffer | null, gx: DeviceBuffer, g: ConvGeometry, spec: InputGradSpec, alsoPack: PackLayout | null = null,
): void {
  const layout = inputGradWeightLayout(g, spec.cb);
  const cPad = layout.bPad;
  const [wp] = packChannelsLastCached(rt, w, alsoPack ? [layout, alsoPack] : [layout]);
  const Hq = Math.ceil(g.H / g.sH);
  const Wq = Math.ceil(Math.ceil(g.W / g.sW) / (4 * spec.pv));
  const count = g.N * Hq * Wq;
  const channelGroups = cPad / spec.cb;
  const items = count * channelGroups * g.sH * g.sW;
  const params = { ...g, hasBias: bias ? 1 : 0, Hq, Wq, tiles: count, items, channelGroups, Cq: cPad / 4 };
  // Without a bias any bound buffer will do: the kernel never reads it.
  rt.dispatch(conv2dInputGradKernel, spec, { gy, wp, bias: bias ?? wp, gx }, params, gridFor(items, spec.wg));
}

/** The reflect gradient in two steps: the padded geometry's input gradient (itself in bands where large), then padding's gradient. */
function reflectInputGradViaPadding(rt: Runtime, gy: DeviceBuffer, w: DeviceBuffer, gx: DeviceBuffer, g: ConvGeometry, tiles: ConvTiles): void {
  const padded = reflectPaddedGeometry(g);
  const gxPadded = rt.alloc(g.N * g.C * padded.H * padded.W * 4, 'conv reflect-padded input gradient');
  conv2dInputGrad(rt, gy, w, null, gxPadded, padded, tiles);
  padBackward(rt, 'reflect', gxPadded, gx, reflectPadArgs(g));
  rt.release(gxPadded);
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
