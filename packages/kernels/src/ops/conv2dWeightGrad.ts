import { defineKernel, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import {
  CONV_GEOMETRY_PARAMS, defaultConvTiles, reflectPaddedGeometry, weightGradTiles, wgslOuterProduct, wgslStoreBlock, type ConvGeometry,
  type ConvPaddingMode, type ConvTiles,
} from './convTiles.ts';
import { packChannelsLast } from './packChannelsLast.ts';
import { reduce } from './reduce.ts';

/**
 * gw = conv2d's weight gradient: for each tap (kh, kw), the GEMM
 * [K, N*Ho*Wo] x [N*Ho*Wo, C] of gy against x shifted by the tap, im2col
 * implicit. An invocation holds one tap and owns `4 kv` output
 * channels x `cb` input channels of one slice of the reduction's rows
 * (split-K: narrow layers have few channel blocks, so row slices are what
 * fills the lanes and cores), and each pixel of the reduction reads kv
 * vec4s of gy and cb/4 vec4s of x: both come channels-last
 * ([N, Ho*Wo, Kpad] and [N, H*W, Cpad]). The tap fixes which output pixels
 * read inside the image, so the loops run over exactly those and read no
 * padding. A second pass adds up the slices' partial sums. Also serves as
 * conv_transpose2d's weight gradient with x and gy swapped.
 */
export const conv2dWeightGradKernel = defineKernel({
  name: 'conv2dWeightGrad',
  params: { ...CONV_GEOMETRY_PARAMS, rowsPerSplit: 'u32', splits: 'u32', kBlocks: 'u32', blocks: 'u32', items: 'u32', Cq: 'u32', Kq: 'u32' },
  bindings: { xp: { access: 'read', type: 'vec4<f32>' }, gyp: { access: 'read', type: 'vec4<f32>' }, partial: 'read_write' },
  source: ({ wg, cb, kv }: ConvTiles) => /* wgsl */ `
${WGSL_FLAT_WORKGROUP}

fn firstInside(pad: u32, k: u32, s: u32) -> u32 {
  // Smallest o with o s + k - pad >= 0.
  return select(0u, (pad - k + s - 1u) / s, pad > k);
}

fn endInside(size: u32, pad: u32, k: u32, s: u32, outSize: u32) -> u32 {
  // One past the largest o < outSize with o s + k - pad < size.
  return min(outSize, select(0u, (size + pad - k + s - 1u) / s, size + pad > k));
}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Parameters once into registers: on lavapipe every buffer read is a per-lane loop.
  let H = p.H; let W = p.W; let Ho = p.Ho; let Wo = p.Wo; let sW = p.sW; let Cq = p.Cq; let Kq = p.Kq;
  let taps = p.kH * p.kW;
  // An item is a (tap, row split, channel block) triple, channel blocks
  // fastest: a workgroup spans taps when a tap has fewer items than
  // invocations. Invocations past the last item redo it and store nothing:
  // no divergent exit before the loops.
  let item = flatWorkgroup(wid, nwg) * ${wg}u + li;
  let last = min(item, p.items - 1u);
  let block = last % p.blocks;
  let split = (last / p.blocks) % p.splits;
  let tap = last / (p.blocks * p.splits);
  let kh = tap / p.kW;
  let kw = tap % p.kW;
  let kq0 = (block % p.kBlocks) * ${kv}u;
  let cq0 = (block / p.kBlocks) * ${cb / 4}u;
  // Output pixels whose tap input lies inside the image.
  let ohLo = firstInside(p.pH, kh, p.sH);
  let ohHi = endInside(H, p.pH, kh, p.sH, Ho);
  let owLo = firstInside(p.pW, kw, sW);
  let owHi = endInside(W, p.pW, kw, sW, Wo);
  let r0 = split * p.rowsPerSplit;
  let r1 = min(r0 + p.rowsPerSplit, p.N * Ho);
  var acc: array<vec4<f32>, ${cb * kv}>;
  var n = r0 / Ho;
  var oh = r0 % Ho;
  for (var r = r0; r < r1; r++) {
    if (oh >= ohLo && oh < ohHi) {
      let ih = oh * p.sH + kh - p.pH;
      let gyRow = (n * Ho + oh) * Wo * Kq + kq0;
      let xRow = (n * H + ih) * W * Cq + cq0;
      for (var ow = owLo; ow < owHi; ow++) {
        let iw = ow * sW + kw - p.pW;
        let g = gyRow + ow * Kq;
        let gv = array<vec4<f32>, ${kv}>(${[...Array(kv)].map((_, v) => `gyp[g + ${v}u]`).join(', ')});
        let xi = xRow + iw * Cq;
        ${wgslOuterProduct(cb, kv, (q) => `xp[xi + ${q}u]`, (i) => `gv[${i >> 2}][${i & 3}]`)}
      }
    }
    // Row counters instead of divisions: lavapipe does vector ones lane by lane.
    oh += 1u;
    if (oh == Ho) { oh = 0u; n += 1u; }
  }
  if (item >= p.items) { return; }
  // acc[c * kv + v][e] is gw[k0 + 4 v + e, c0 + c, kh, kw].
  let ch0 = cq0 * 4u;
  let chN = min(${cb}u, p.C - min(ch0, p.C));
  let k0 = kq0 * 4u;
  let pixN = p.K - min(k0, p.K);
  let pixStep = p.C * taps;
  let chStride = taps;
  let chBase = (split * p.K + k0) * pixStep + ch0 * taps + tap;
  ${wgslStoreBlock(cb, kv, 'partial', false)}
}`,
});

/**
 * Encodes gw [K, C, kH, kW] = sum over n, oh, ow of gy [N, K, Ho, Wo] times the
 * matching x [N, C, H, W] taps, for the convolution `g`. `tiles` defaults to
 * the adapter's configuration. With reflect padding, x is packed
 * reflection-padded and the kernel runs unpadded on the padded geometry:
 * the dispatch of reflection padding followed by an unpadded convolution.
 */
export function conv2dWeightGrad(
  rt: Runtime,
  x: DeviceBuffer,
  gy: DeviceBuffer,
  gw: DeviceBuffer,
  geometry: ConvGeometry,
  adapterTiles: ConvTiles = defaultConvTiles(rt),
  paddingMode: ConvPaddingMode = 'zeros',
): void {
  // Reflect padding: x packed reflection-padded, and the padded geometry's unpadded convolution.
  const { H, W, pH, pW } = geometry;
  const reflectPadding = paddingMode === 'reflect' ? { h: H, w: W, pH, pW } : undefined;
  const g = reflectPadding ? reflectPaddedGeometry(geometry) : geometry;
  const tiles = weightGradTiles(adapterTiles, g.C, g.K);
  const kPad = Math.ceil(g.K / (4 * tiles.kv)) * 4 * tiles.kv;
  const cPad = Math.ceil(g.C / tiles.cb) * tiles.cb;
  const kBlocks = kPad / (4 * tiles.kv);
  const blocks = kBlocks * (cPad / tiles.cb);
  const taps = g.kH * g.kW;
  const rows = g.N * g.Ho;
  // Slice the N*Ho rows until about minGroups workgroups' worth of
  // invocations exist, keeping a few hundred pixels per slice so the partial
  // sums stay small.
  const wantedItems = Math.ceil((tiles.minGroups * tiles.wg) / taps);
  const rowsPerSplit = Math.max(Math.ceil(rows / Math.ceil(wantedItems / blocks)), Math.ceil(256 / g.Wo));
  const splits = Math.ceil(rows / rowsPerSplit);
  const items = taps * splits * blocks;
  const params = { ...g, rowsPerSplit, splits, kBlocks, blocks, items, Cq: cPad / 4, Kq: kPad / 4 };
  const grid = gridFor(items, tiles.wg);
  const xp = packChannelsLast(rt, x, g.N, g.C, H * W, cPad, false, reflectPadding);
  const gyp = packChannelsLast(rt, gy, g.N, g.K, g.Ho * g.Wo, kPad, false);
  if (splits === 1) {
    rt.dispatch(conv2dWeightGradKernel, tiles, { xp, gyp, partial: gw }, params, grid);
  } else {
    const partial = rt.alloc(splits * g.K * g.C * taps * 4, 'conv2dWeightGrad partials');
    rt.dispatch(conv2dWeightGradKernel, tiles, { xp, gyp, partial }, params, grid);
    reduce(rt, 'sum', partial, [splits, g.K * g.C * taps], [0], gw);
    rt.release(partial);
  }
  rt.release(xp);
  rt.release(gyp);
}
